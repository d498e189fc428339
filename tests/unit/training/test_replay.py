from __future__ import annotations

import random
from collections import Counter

from lifelong.core import Example
from lifelong.training import replay_sample


def _data() -> list[Example]:
    sizes = {"big": 50, "mid": 8, "tiny": 2}
    return [Example.make(f"{label} {i}", label) for label, n in sizes.items() for i in range(n)]


def test_balanced_within_the_budget() -> None:
    counts = Counter(e.label for e in replay_sample(_data(), 21))
    assert counts == {"big": 11, "mid": 8, "tiny": 2}
    assert Counter(e.label for e in replay_sample(_data(), 9)) == {"big": 4, "mid": 3, "tiny": 2}


def test_deterministic_and_independent_of_order() -> None:
    data = _data()
    shuffled = data[:]
    random.Random(0).shuffle(shuffled)
    assert set(replay_sample(data, 12, seed=3)) == set(replay_sample(shuffled, 12, seed=3))
    assert set(replay_sample(data, 12, seed=3)) != set(replay_sample(data, 12, seed=4))


def test_never_more_than_the_distinct_examples() -> None:
    data = _data()
    sample = replay_sample(data + data, 1000)
    assert len(sample) == len(set(sample)) == 60
    assert replay_sample(data, 0) == []
