"""Streamed training of a tabular project: as good as in memory on the same rows, the same
column statistics, cold and warm, and nothing trained past a bad row."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lifelong.config import Columns, Finetune, Pipeline, Splits, TabularSettings, Training
from lifelong.core.errors import IncompatibleModel, ValidationFailed
from lifelong.core.types import Example
from lifelong.data.read import read_paths
from lifelong.data.split import SplitData, split_examples
from lifelong.data.stream import StreamSource
from lifelong.models import ModelBundle
from lifelong.training import TrainOutcome, train
from lifelong.training.stream import train_stream

SPLITS = Splits(valid=0.15, test=0.15, salt="table-stream")
TRAINING = Training(epochs=8, batch_size=32, lr=0.01, seed=0, patience=8)
COLUMNS = {
    "classification": Columns(target="label"),
    "regression": Columns(target="y", kind="regression"),
}


def _pipeline(kind: str) -> Pipeline:
    return Pipeline(name="tabular", hidden=32, dropout=0.0, tabular=TabularSettings(kind=kind))


def _csv(path: Path, n: int, seed: int, shift: float = 0.0) -> Path:
    """y = 3 x1 - 2 x2 + 5 [city = b] + noise; label: y above 30; x2 sometimes missing."""
    rng = np.random.default_rng(seed)
    lines = ["x1,x2,city,y,label"]
    for _ in range(n):
        x1, x2 = rng.normal(10, 2), rng.normal(0, 1)
        city = str(rng.choice(["a", "b", "c"]))
        y = 3 * x1 - 2 * x2 + 5 * (city == "b") + shift + rng.normal(0, 0.5)
        shown = "" if rng.random() < 0.05 else f"{x2:.4f}"
        lines.append(f"{x1:.4f},{shown},{city},{y:.4f},{'high' if y > 30 + shift else 'low'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _in_memory(paths: list[Path], kind: str) -> SplitData:
    return split_examples(read_paths(paths, COLUMNS[kind]).examples, SPLITS)


def _stream(paths: list[Path], kind: str, **kwargs: object) -> TrainOutcome:
    source = StreamSource(paths, COLUMNS[kind], SPLITS, chunk_rows=50)
    return train_stream(
        source,
        pipeline=_pipeline(kind),
        training=TRAINING,
        buffer_size=128,
        progress=False,
        **kwargs,  # type: ignore[arg-type]
    )


def _score(bundle: ModelBundle, examples: list[Example], kind: str) -> float:
    """Accuracy of a classifier, mean absolute error of a regressor."""
    texts = [e.text for e in examples]
    if kind == "classification":
        predicted, _ = bundle.predict(texts)
        return float(np.mean([p == e.label for p, e in zip(predicted, examples, strict=True)]))
    truth = np.array([float(e.label) for e in examples])
    return float(np.mean(np.abs(bundle.predict_values(texts) - truth)))


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_streamed_training_matches_in_memory_training(tmp_path: Path, kind: str) -> None:
    paths = [_csv(tmp_path / "a.csv", 400, 0), _csv(tmp_path / "b.csv", 300, 1)]
    splits = _in_memory(paths, kind)
    streamed = _stream(paths, kind)
    held = train(
        list(splits.train),
        list(splits.valid),
        pipeline=_pipeline(kind),
        training=TRAINING,
        progress=False,
    )
    test = list(splits.test)
    mine, theirs = (_score(run.bundle, test, kind) for run in (streamed, held))
    if kind == "classification":  # ~100 test rows: within 5 points, and well learnt
        assert abs(mine - theirs) <= 0.05
        assert mine >= 0.85
    else:  # mean absolute error within 20% of the in-memory one, far below the spread
        assert abs(mine - theirs) <= 0.2 * theirs
        assert mine < 0.3 * float(np.std([float(e.label) for e in test]))
    report = streamed.report
    assert report["n_train"] == len(splits.train)
    assert report["n_valid"] == len(splits.valid)
    assert report["examples_trained"] == report["epochs_run"] * len(splits.train)
    # the same columns and statistics as fitted in memory, to float rounding
    mine_table, their_table = streamed.bundle.featurizer, held.bundle.featurizer
    assert mine_table.spec() == their_table.spec()
    mine_state, their_state = mine_table.state(), their_table.state()  # type: ignore[attr-defined]
    for key, stats in their_state.items():
        for name, value in stats.items():
            if isinstance(value, float):
                assert math.isclose(mine_state[key][name], value, rel_tol=1e-9, abs_tol=1e-12)
            else:
                assert mine_state[key][name] == value
    if kind == "regression":
        for name, value in held.bundle.spec.meta["target_stats"].items():
            assert math.isclose(streamed.bundle.spec.meta["target_stats"][name], value)


def test_the_same_seed_trains_the_same_weights(tmp_path: Path) -> None:
    paths = [_csv(tmp_path / "a.csv", 200, 0)]
    first, second = (_stream(paths, "classification").bundle.module.state_dict() for _ in "ab")
    assert all(bool((first[k] == second[k]).all()) for k in first)


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_a_streamed_update_warm_starts_from_a_tabular_parent(tmp_path: Path, kind: str) -> None:
    parent = _stream([_csv(tmp_path / "a.csv", 300, 0)], kind).bundle
    shifted = [_csv(tmp_path / "b.csv", 300, 2, shift=4.0)]
    child = _stream(shifted, kind, parent=parent, finetune=Finetune(init="warm"))
    assert child.report["kind"] == "finetune"
    assert child.report["init"]["strategy"] == "warm"
    assert child.report["epochs"] < TRAINING.epochs  # an update's epoch fraction
    if kind == "regression":  # the warm output keeps the parent's target scaling
        assert child.bundle.spec.meta["target_stats"] == parent.spec.meta["target_stats"]
        test = list(_in_memory(shifted, kind).test)
        assert _score(child.bundle, test, kind) < _score(parent, test, kind)
    else:
        assert child.bundle.labels == parent.labels
    # a parent with other columns is refused, naming the column, before any step
    other = tmp_path / "other"
    other.mkdir()
    text = _csv(other / "c.csv", 50, 3).read_text().replace("x1,", "z1,", 1)
    (other / "c.csv").write_text(text)
    with pytest.raises(IncompatibleModel, match="'z1' is new"):
        _stream([other / "c.csv"], kind, parent=parent)


def test_a_text_parent_is_refused(tmp_path: Path, parent: ModelBundle) -> None:
    with pytest.raises(IncompatibleModel, match="text model"):
        _stream([_csv(tmp_path / "a.csv", 60, 0)], "classification", parent=parent)


def test_a_bad_row_in_a_later_chunk_stops_before_any_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _csv(tmp_path / "a.csv", 300, 0)
    lines = path.read_text().splitlines()
    lines[280] = lines[280].replace(",high", ",").replace(",low", ",")  # no target
    path.write_text("\n".join(lines) + "\n")

    def no_step(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained past a bad row")

    monkeypatch.setattr("lifelong.training.stream.Trainer.fit_batches", no_step)
    with pytest.raises(ValidationFailed) as raised:
        _stream([path], "classification")
    assert f"{path}:281" in str(raised.value)
