from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from lifelong.config import Finetune, Pipeline, Training
from lifelong.core import Example
from lifelong.core.errors import IncompatibleModel
from lifelong.models import ModelBundle
from lifelong.training import TrainOutcome, train, update_epochs

MakeExamples = Callable[..., list[Example]]
Update = Callable[..., TrainOutcome]


def _accuracy(bundle: ModelBundle, examples: list[Example]) -> float:
    predicted, _ = bundle.predict([e.text for e in examples])
    return float(np.mean([p == e.label for p, e in zip(predicted, examples, strict=True)]))


@pytest.mark.parametrize("init", ["warm", "shrink_perturb"])
def test_update_learns_a_new_intent_and_keeps_the_old_ones(
    parent: ModelBundle,
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: MakeExamples,
    old_labels: list[str],
    init: str,
) -> None:
    labels = [*old_labels, "balance"]
    outcome = train(
        make_examples(labels, 30, 3),
        make_examples(labels, 5, 4),
        pipeline=small_pipeline,
        training=small_training,
        finetune=Finetune(init=init, epoch_fraction=0.25),  # type: ignore[arg-type]
        parent=parent,
        progress=False,
    )
    test = make_examples(labels, 10, 5)
    assert _accuracy(outcome.bundle, [e for e in test if e.label == "balance"]) >= 0.9
    assert _accuracy(outcome.bundle, [e for e in test if e.label != "balance"]) >= 0.95
    report = outcome.report
    assert report["kind"] == "finetune"
    assert report["init"]["strategy"] == init
    assert report["labels_added"] == ["balance"]
    assert report["labels_removed"] == []
    assert report["epochs"] == 2  # ceil(8 * 0.25)
    assert outcome.bundle.labels == sorted(labels)
    json.dumps(report)  # JSON-safe


def test_vanished_intent_drops_out_and_strict_labels_refuses(
    parent: ModelBundle,
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: MakeExamples,
) -> None:
    data = make_examples(["alarm", "booking", "music"], 10, 3)
    kwargs = {"pipeline": small_pipeline, "training": small_training, "progress": False}
    outcome = train(data, [], parent=parent, **kwargs)  # type: ignore[arg-type]
    assert outcome.report["labels_removed"] == ["weather"]
    assert outcome.bundle.labels == ["alarm", "booking", "music"]
    with pytest.raises(IncompatibleModel, match=r"removed \['weather'\].*strict_labels"):
        train(data, [], parent=parent, strict_labels=True, **kwargs)  # type: ignore[arg-type]


def test_changed_architecture_is_refused_before_training(
    parent: ModelBundle, small_pipeline: Pipeline, small_training: Training
) -> None:
    wider = small_pipeline.model_copy(update={"hidden": 64})
    with pytest.raises(IncompatibleModel, match=r"pipeline\.hidden: 32 -> 64") as error:
        train([], [], pipeline=wider, training=small_training, parent=parent, progress=False)
    assert error.value.hint is not None
    assert "lifelong train" in error.value.hint


def test_new_plus_replay_trains_on_new_examples_and_a_replay_sample(
    update: Update, make_examples: MakeExamples, old_labels: list[str]
) -> None:
    old = make_examples(old_labels, 30, 0)
    new = make_examples(["balance"], 12, 7)
    outcome = update(
        [*old, *new], finetune=Finetune(data="new+replay", replay_size=20), previous=old
    )
    assert outcome.report["n_replay"] == 20
    assert outcome.report["n_train"] == 12 + 20
    assert outcome.report["labels_added"] == ["balance"]
    assert _accuracy(outcome.bundle, make_examples(["balance"], 10, 8)) >= 0.9
    assert len(outcome.bundle.replay) == 20
    assert {e.label for e in outcome.bundle.replay} == {*old_labels, "balance"}


def test_update_epochs() -> None:
    training = Training(epochs=8)
    assert update_epochs(training, Finetune(epoch_fraction=0.2)) == 2
    assert update_epochs(training, Finetune(epoch_fraction=0.01)) == 1
    assert update_epochs(training, Finetune(epochs=3)) == 3
    assert update_epochs(training, Finetune(init="cold")) == 8


def test_lr_scale_slows_an_update_but_not_a_cold_start(
    parent: ModelBundle, update: Update, make_examples: MakeExamples, old_labels: list[str]
) -> None:
    data = make_examples(old_labels, 20, 11)

    def moved(finetune: Finetune) -> tuple[float, float]:
        outcome = update(data, finetune=finetune)
        after = dict(outcome.bundle.module.named_parameters())
        distance = max(
            float((after[n] - p).detach().abs().max()) for n, p in parent.module.named_parameters()
        )
        return distance, outcome.report["lr_scale"]

    tiny, scale = moved(Finetune(lr_scale=1e-6))
    assert scale == 1e-6
    assert tiny < 1e-4
    full, scale = moved(Finetune())
    assert scale == 1.0
    assert full > 100 * tiny
    _, scale = moved(Finetune(init="cold", lr_scale=1e-6))
    assert scale == 1.0
