"""Fixtures of the training tests: a small model trained cold, the parent of their updates."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lifelong.config import Pipeline, Training
from lifelong.core import Example
from lifelong.models import ModelBundle
from lifelong.training import train

MakeExamples = Callable[..., list[Example]]


@pytest.fixture
def parent(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: MakeExamples,
    old_labels: list[str],
) -> ModelBundle:
    data = make_examples(old_labels, 30, 0)
    return train(data, [], pipeline=small_pipeline, training=small_training, progress=False).bundle
