"""``pipeline.heads``: hidden units trained as several heads, one plain network everywhere else
(training, bundle, fine-tune with a grown head, calibration, compression)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from torch.nn import functional as F

from lifelong.compression import METHODS
from lifelong.config import Distill, Finetune, NGrams, Pipeline, Training
from lifelong.core.types import Example
from lifelong.models import IntentClassifier, ModelBundle
from lifelong.models.objective import Classification
from lifelong.training import train

MakeExamples = Callable[[list[str], int, int], list[Example]]
LABELS = ["alarm", "booking", "music", "weather"]
PIPELINE = Pipeline(ngrams=NGrams(buckets=1024, dim=16), hidden=30, dropout=0.1, heads=3)
TRAINING = Training(epochs=6, batch_size=16, lr=0.01, sparse_lr=0.1, seed=0, patience=3)


@pytest.fixture
def trained(make_examples: MakeExamples) -> tuple[ModelBundle, dict[str, object]]:
    outcome = train(
        make_examples(LABELS, 30, 0),
        make_examples(LABELS, 10, 1),
        pipeline=PIPELINE,
        training=TRAINING,
        progress=False,
    )
    return outcome.bundle, outcome.report


def _network(bundle: ModelBundle) -> IntentClassifier:
    module = bundle.module
    assert isinstance(module, IntentClassifier)
    return module


def test_training_outputs_one_logit_set_per_head_and_inference_their_mean() -> None:
    torch.manual_seed(0)
    net = IntentClassifier(64, 4, 3, 7, 0.0, 5, heads=3)  # 7 units: groups of 2, 3, 2
    indices, weights = torch.randint(0, 64, (6, 4)), torch.rand(6, 4)
    dense = torch.rand(6, 3)
    per_head = net.forward_bags(indices, weights, dense=dense)
    assert per_head.shape == (3, 6, 5)
    net.eval()
    mean = net.forward_bags(indices, weights, dense=dense)
    assert mean.shape == (6, 5)
    torch.testing.assert_close(per_head.mean(dim=0), mean)


def test_a_head_learns_only_from_its_own_loss() -> None:
    """Each head's units and ``out`` columns get the gradient of that head's loss alone."""
    torch.manual_seed(0)
    net = IntentClassifier(64, 4, 0, 6, 0.0, 3, heads=2)
    logits = net.forward_bags(torch.randint(0, 64, (8, 4)), torch.rand(8, 4))
    F.cross_entropy(logits[0], torch.randint(0, 3, (8,))).backward()  # type: ignore[no-untyped-call]
    grad = net.out.weight.grad
    assert grad is not None
    assert float(grad[:, :3].abs().sum()) > 0.0
    assert float(grad[:, 3:].abs().sum()) == 0.0


def test_the_loss_is_the_mean_of_the_heads_losses() -> None:
    objective = Classification(label_smoothing=0.1)
    logits, targets = torch.randn(3, 5, 4), torch.randint(0, 4, (5,))
    want = torch.stack([objective.loss(head, targets) for head in logits]).mean()
    torch.testing.assert_close(objective.loss(logits, targets), want)
    assert not torch.allclose(objective.loss(logits.mean(dim=0), targets), want)


def test_heads_change_the_training_not_the_shape(
    trained: tuple[ModelBundle, dict[str, object]], make_examples: MakeExamples
) -> None:
    bundle, report = trained
    one = train(
        make_examples(LABELS, 30, 0),
        make_examples(LABELS, 10, 1),
        pipeline=PIPELINE.model_copy(update={"heads": 1}),
        training=TRAINING,
        progress=False,
    ).bundle
    several, plain = _network(bundle).state_dict(), _network(one).state_dict()
    assert {k: v.shape for k, v in several.items()} == {k: v.shape for k, v in plain.items()}
    assert not torch.equal(several["out.weight"], plain["out.weight"])
    assert bundle.spec.pipeline["heads"] == 3
    assert "calibration" in report  # a temperature fitted on the heads' mean
    texts = [e.text for e in make_examples(LABELS, 10, 2)]
    labels = [e.label for e in make_examples(LABELS, 10, 2)]
    assert np.mean([p == y for p, y in zip(bundle.predict(texts)[0], labels, strict=True)]) >= 0.9


def test_a_bundle_round_trips_with_its_heads(
    trained: tuple[ModelBundle, dict[str, object]], make_examples: MakeExamples, tmp_path: Path
) -> None:
    bundle, _ = trained
    bundle.save(tmp_path / "b")
    loaded = ModelBundle.load(tmp_path / "b")
    assert _network(loaded).heads == 3
    texts = [e.text for e in make_examples(LABELS, 5, 3)]
    assert np.array_equal(loaded.predict_proba(texts), bundle.predict_proba(texts))


@pytest.mark.parametrize("heads", [3, 1])
def test_an_update_grows_the_head_and_may_change_the_heads(
    trained: tuple[ModelBundle, dict[str, object]], make_examples: MakeExamples, heads: int
) -> None:
    bundle, _ = trained
    labels = [*LABELS, "balance"]
    outcome = train(
        make_examples(labels, 30, 4),
        make_examples(labels, 10, 5),
        pipeline=PIPELINE.model_copy(update={"heads": heads}),
        training=TRAINING,
        # a penalty reads the heads' mean
        finetune=Finetune(epochs=6, distill=Distill(weight=1.0)),
        parent=bundle,
        progress=False,
    )
    assert outcome.report["labels_added"] == ["balance"]
    assert outcome.report["regularizers"]
    assert _network(outcome.bundle).heads == heads
    assert _network(outcome.bundle).out.out_features == 5
    assert outcome.report["valid_accuracy"] >= 0.9


@pytest.mark.parametrize("method", ["int8", "prune-neurons"])
def test_compression_keeps_working(
    trained: tuple[ModelBundle, dict[str, object]],
    make_examples: MakeExamples,
    method: str,
    tmp_path: Path,
) -> None:
    bundle, _ = trained
    examples = make_examples(LABELS, 30, 0)
    compressed = METHODS[method].apply(bundle, {}, examples)
    compressed.save(tmp_path / "c")
    loaded = ModelBundle.load(tmp_path / "c")
    texts = [e.text for e in make_examples(LABELS, 10, 2)]
    agree = bundle.predict(texts)[0] == loaded.predict(texts)[0]
    assert np.mean(agree) >= 0.9


def test_heads_are_refused_where_they_cannot_apply() -> None:
    with pytest.raises(ValidationError, match=r"pipeline\.heads"):
        Pipeline(hidden=8, heads=9)
    with pytest.raises(ValidationError, match=r"pipeline\.heads"):
        Pipeline(name="tabular", heads=2)
    with pytest.raises(ValueError, match="heads"):
        IntentClassifier(64, 4, 0, 4, 0.0, 3, heads=5)
