"""Hidden-unit pruning: importance order, the narrower shape through save/load, recovery, the
fine-tune that keeps the width, and refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from lifelong.compression import METHODS, importance, kept_units
from lifelong.compression.neurons import head_data
from lifelong.config import Columns, NGrams, Pipeline, PruneNeurons, Splits, Training
from lifelong.core.errors import ConfigError, IncompatibleModel
from lifelong.core.types import Example
from lifelong.data.stream import StreamSource
from lifelong.models import PRUNED_HIDDEN, IntentClassifier, ModelBundle, read_spec
from lifelong.training import train
from lifelong.training.stream import train_stream

MakeExamples = Callable[[list[str], int, int], list[Example]]
LABELS = ["alarm", "booking", "music", "weather"]
PIPELINE = Pipeline(ngrams=NGrams(buckets=4096, dim=16), hidden=32)
TRAINING = Training(epochs=3, batch_size=16, lr=0.01, sparse_lr=0.1, seed=0)
PRUNE = METHODS["prune-neurons"]


@pytest.fixture
def trained(make_examples: MakeExamples) -> tuple[ModelBundle, list[Example]]:
    """A tiny trained fast model (32 hidden units) and its training examples."""
    examples = make_examples(LABELS, 30, 0)
    outcome = train(
        examples,
        make_examples(LABELS, 5, 100),
        pipeline=PIPELINE,
        training=TRAINING,
        progress=False,
    )
    return outcome.bundle, examples


def _width(bundle: ModelBundle) -> int:
    module = bundle.module
    assert isinstance(module, IntentClassifier)
    return module.hidden.out_features


@pytest.mark.parametrize("criterion", ["activation", "taylor"])
def test_a_unit_the_logits_ignore_scores_lowest_and_is_dropped(
    trained: tuple[ModelBundle, list[Example]], criterion: str
) -> None:
    bundle, examples = trained
    module = bundle.module
    assert isinstance(module, IntentClassifier)
    data = head_data(bundle, examples)
    scores = importance(module, data, criterion)  # type: ignore[arg-type]
    alive = int(torch.argmax(scores))
    with torch.no_grad():
        module.out.weight[:, alive] = 0.0  # unit `alive` no longer reaches the logits
    after = importance(module, data, criterion)  # type: ignore[arg-type]
    assert float(after[alive]) == 0.0 < float(after.max())
    assert alive not in kept_units(after, 0.9).tolist()


def test_pruned_network_has_the_narrower_shape_and_survives_save_and_load(
    trained: tuple[ModelBundle, list[Example]], tmp_path: Path
) -> None:
    bundle, examples = trained
    pruned = PRUNE.apply(bundle, {"neurons": 0.5, "recover_epochs": 0}, examples)
    assert _width(pruned) == 16
    assert _width(bundle) == 32
    assert pruned.spec.pipeline["hidden"] == 16
    assert pruned.spec.meta[PRUNED_HIDDEN] == {"from": 32, "to": 16}
    shapes = {k: tuple(v.shape) for k, v in pruned.module.state_dict().items()}
    assert shapes["hidden.weight"] == (16, 16)
    assert shapes["out.weight"] == (4, 16)
    pruned.save(tmp_path / "b")
    spec, _ = read_spec(tmp_path / "b")
    assert spec.pipeline["hidden"] == 16
    loaded = ModelBundle.load(tmp_path / "b")
    texts = [e.text for e in examples[:20]]
    assert np.array_equal(loaded.predict_proba(texts), pruned.predict_proba(texts))
    bundle.save(tmp_path / "parent")
    size = (tmp_path / "b" / "weights.safetensors").stat().st_size
    assert size < (tmp_path / "parent" / "weights.safetensors").stat().st_size


def test_without_recovery_the_kept_units_compute_what_they_did(
    trained: tuple[ModelBundle, list[Example]],
) -> None:
    bundle, examples = trained
    pruned = PRUNE.apply(bundle, {"neurons": 1.0, "recover_epochs": 0}, examples)
    full, kept = bundle.module, pruned.module
    assert isinstance(full, IntentClassifier)
    assert isinstance(kept, IntentClassifier)
    assert torch.equal(kept.hidden.weight, full.hidden.weight)  # every unit, in order
    assert torch.equal(kept.out.weight, full.out.weight)


def test_recovery_lowers_the_training_loss_and_is_repeatable(
    trained: tuple[ModelBundle, list[Example]],
) -> None:
    bundle, examples = trained
    options = {"neurons": 0.25, "recover_epochs": 4}
    pruned = PRUNE.apply(bundle, options, examples)
    losses = pruned.spec.meta["compression"][-1]["options"]["recover_loss"]
    assert len(losses) == 4
    assert losses[-1] < losses[0]
    torch.rand(7)  # whatever the global generator's state, the same network
    again = PRUNE.apply(bundle, options, examples)
    assert torch.equal(again.module.out.weight, pruned.module.out.weight)  # type: ignore[union-attr]


def test_a_finetune_of_a_pruned_version_keeps_its_width(
    trained: tuple[ModelBundle, list[Example]], make_examples: MakeExamples
) -> None:
    bundle, examples = trained
    pruned = PRUNE.apply(bundle, {"neurons": 0.5}, examples)
    new = make_examples(LABELS, 10, 50)
    child = train(
        [*examples, *new], [], pipeline=PIPELINE, training=TRAINING, parent=pruned, progress=False
    ).bundle
    assert _width(child) == 16
    assert child.spec.pipeline["hidden"] == 16
    assert child.spec.meta[PRUNED_HIDDEN] == {"from": 32, "to": 16}
    grandchild = train(
        new, [], pipeline=PIPELINE, training=TRAINING, parent=child, progress=False
    ).bundle
    assert _width(grandchild) == 16
    # it can be pruned again (it is a trained version, not a compressed one), from 16 units
    again = PRUNE.apply(grandchild, {"neurons": 0.5, "recover_epochs": 0}, examples)
    assert _width(again) == 8
    assert again.spec.meta[PRUNED_HIDDEN] == {"from": 32, "to": 8}
    # a config whose hidden width changed since is a changed architecture
    with pytest.raises(IncompatibleModel, match=r"pipeline\.hidden"):
        train(
            new,
            [],
            pipeline=PIPELINE.model_copy(update={"hidden": 64}),
            training=TRAINING,
            parent=pruned,
            progress=False,
        )


def test_bad_input_is_refused(trained: tuple[ModelBundle, list[Example]]) -> None:
    bundle, examples = trained
    for neurons in (0.0, -0.5, 1.5):
        with pytest.raises(ValidationError):
            PruneNeurons(neurons=neurons)
    with pytest.raises(ConfigError, match="fewer than 8"):
        PRUNE.apply(bundle, {"neurons": 0.1}, examples)
    pruned = PRUNE.apply(bundle, {"neurons": 0.5, "recover_epochs": 0}, examples)
    assert "pruned already" in str(PRUNE.refusal(pruned))
    assert PRUNE.refusal(METHODS["int8"].apply(bundle, {}, [])) is None  # any table format
    with pytest.raises(ConfigError, match="none of the version's training texts"):
        PRUNE.apply(bundle, {"neurons": 0.5}, [Example.make("some text", "not-a-label")])


def test_a_streamed_finetune_of_a_pruned_version_keeps_its_width(
    trained: tuple[ModelBundle, list[Example]], make_examples: MakeExamples, tmp_path: Path
) -> None:
    bundle, examples = trained
    pruned = PRUNE.apply(bundle, {"neurons": 0.25, "recover_epochs": 1}, examples)
    path = tmp_path / "d.jsonl"
    rows = [*examples, *make_examples(LABELS, 10, 60)]
    path.write_text("".join(json.dumps({"text": e.text, "intent": e.label}) + "\n" for e in rows))
    source = StreamSource([path], Columns(), Splits(valid=0.2, test=0.2), chunk_rows=16)
    child = train_stream(
        source, pipeline=PIPELINE, training=TRAINING, parent=pruned, progress=False
    ).bundle
    assert _width(child) == 8
    assert child.spec.meta[PRUNED_HIDDEN] == {"from": 32, "to": 8}
