"""Shared, seeded inputs of the monitoring tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture
def now() -> datetime:
    return datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


Outcomes = Callable[[float, int], list[bool]]


@pytest.fixture
def outcomes(rng: np.random.Generator) -> Outcomes:
    """``outcomes(accuracy, n)``: n seeded right/wrong outcomes of a model that accurate."""

    def draw(accuracy: float, n: int) -> list[bool]:
        return [bool(x) for x in rng.random(n) < accuracy]

    return draw
