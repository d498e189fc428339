from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.config import Finetune, NewIntents, Pipeline, Training
from lifelong.core import Example
from lifelong.core.errors import IncompatibleModel
from lifelong.models import ModelBundle
from lifelong.training import TrainOutcome, train, update_epochs
from lifelong.training.api import oversampled_rows

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


@given(
    labels=st.lists(st.integers(0, 4), min_size=1, max_size=40),
    rows=st.sets(st.integers(0, 4), max_size=3),
    factor=st.integers(1, 6),
)
@settings(deadline=None, max_examples=50)
def test_oversampling_repeats_only_the_given_intents(
    labels: list[int], rows: set[int], factor: int
) -> None:
    y = np.array(labels, dtype=np.int64)
    index = oversampled_rows(y, sorted(rows), factor)
    counts = np.bincount(index, minlength=len(y))
    assert counts.tolist() == [factor if label in rows else 1 for label in labels]


def test_a_new_intent_with_few_examples_is_oversampled_and_imprinted(
    parent: ModelBundle,
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: MakeExamples,
    old_labels: list[str],
) -> None:
    old = make_examples(old_labels, 30, 3)
    few = make_examples(["balance"], 4, 3)
    runs = {}
    for name, new_intents in {
        "default": NewIntents(),
        "off": NewIntents(oversample=False, imprint=False),
    }.items():
        runs[name] = train(
            old + few,
            [],
            pipeline=small_pipeline,
            training=small_training,
            finetune=Finetune(epoch_fraction=0.125, new_intents=new_intents),
            parent=parent,
            progress=False,
        )
    default = runs["default"].report
    assert default["epochs"] == 1
    assert default["new_intents"] == {"oversampled": 8, "imprinted": ["balance"]}
    assert default["n_train"] == len(old) + len(few)  # examples, not repeated rows
    assert runs["off"].report["new_intents"] == {"oversampled": 1, "imprinted": []}
    test = make_examples(["balance"], 20, 9)
    recall = {name: _accuracy(run.bundle, test) for name, run in runs.items()}
    assert recall["default"] >= 0.9
    assert recall["default"] > recall["off"]


def test_an_update_that_adds_intents_may_train_longer() -> None:
    training = Training(epochs=10)
    finetune = Finetune(new_intents=NewIntents(epoch_fraction=1.0))
    assert update_epochs(training, finetune) == 2
    assert update_epochs(training, finetune, adds_intents=True) == 10
