"""Fixtures of the training tests: a small model trained cold, the parent of their updates."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lifelong.config import Pipeline, Training
from lifelong.core import Example
from lifelong.models import ModelBundle
from lifelong.training import TrainOutcome, train

MakeExamples = Callable[..., list[Example]]
Update = Callable[..., TrainOutcome]


@pytest.fixture
def parent(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: MakeExamples,
    old_labels: list[str],
) -> ModelBundle:
    data = make_examples(old_labels, 30, 0)
    return train(data, [], pipeline=small_pipeline, training=small_training, progress=False).bundle


@pytest.fixture
def update(parent: ModelBundle, small_pipeline: Pipeline, small_training: Training) -> Update:
    """``update(data, **train_kwargs)``: ``parent`` updated on ``data`` (no valid split)."""

    def run(data: list[Example], **kwargs: object) -> TrainOutcome:
        return train(
            data,
            [],
            pipeline=small_pipeline,
            training=small_training,
            parent=parent,
            progress=False,
            **kwargs,  # type: ignore[arg-type]
        )

    return run
