"""Shared fixtures: a tiny, easy synthetic intent data set and a small fast pipeline."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from lifelong.config import NGrams, Pipeline, Training
from lifelong.core.types import Example

KEYWORDS = {
    "weather": ["weather", "rain", "sunny", "forecast", "temperature"],
    "music": ["play", "song", "music", "album", "playlist"],
    "booking": ["book", "table", "reservation", "restaurant", "dinner"],
    "alarm": ["alarm", "wake", "clock", "morning", "snooze"],
    "balance": ["balance", "account", "money", "bank", "savings"],
}
FILLER = ["please", "can", "you", "the", "my", "a", "for", "me", "now", "today", "i", "want"]


def _make_examples(labels: list[str], per_label: int, seed: int) -> list[Example]:
    """``per_label`` texts per label: two of its keywords among three filler words."""
    rng = random.Random(seed)
    examples = []
    for label in labels:
        for _ in range(per_label):
            words = rng.sample(KEYWORDS[label], 2) + rng.sample(FILLER, 3)
            rng.shuffle(words)
            examples.append(Example.make(" ".join(words), label))
    return examples


MakeExamples = Callable[[list[str], int, int], list[Example]]


@pytest.fixture
def make_examples() -> MakeExamples:
    """Builder of synthetic examples: ``make_examples(labels, per_label, seed)``."""
    return _make_examples


@pytest.fixture
def old_labels() -> list[str]:
    return ["alarm", "booking", "music", "weather"]


@pytest.fixture
def small_pipeline() -> Pipeline:
    return Pipeline(ngrams=NGrams(buckets=1024, dim=16), hidden=32, dropout=0.1)


@pytest.fixture
def small_training() -> Training:
    return Training(epochs=8, batch_size=16, lr=0.01, sparse_lr=0.1, seed=0, patience=3)
