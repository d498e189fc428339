"""Prediction ids: unique, valid version 7 UUIDs, increasing even when the clock is not."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.serving.ids import TimeOrderedIds

MS = 1_000_000  # nanoseconds

# Calls as (batch size, clock in ms): the clock may stand still, jump or step back.
calls = st.lists(
    st.tuples(st.integers(0, 5000), st.integers(1_700_000_000_000, 1_700_000_000_050)),
    min_size=1,
    max_size=12,
)


@settings(deadline=None)  # up to 60k ids a case: slow on a loaded machine, not wrong
@given(calls)
def test_ids_are_unique_increasing_version_7_uuids(calls: list[tuple[int, int]]) -> None:
    now = [0]
    ids = TimeOrderedIds(clock=lambda: now[0] * MS)
    handed: list[str] = []
    for size, clock_ms in calls:
        now[0] = clock_ms
        batch = ids.take(size)
        assert len(batch) == size
        for value in batch:
            parsed = uuid.UUID(value)
            assert str(parsed) == value
            assert parsed.version == 7
            assert parsed.variant == uuid.RFC_4122
            assert parsed.int >> 80 >= clock_ms  # never stamped before the clock
        handed += batch
    assert handed == sorted(handed)  # string order is time order
    assert len(set(handed)) == len(handed)


def test_ids_carry_the_clock_when_it_moves_forward() -> None:
    now = [1_700_000_000_000 * MS]
    ids = TimeOrderedIds(clock=lambda: now[0])
    first = uuid.UUID(ids.take(1)[0])
    now[0] += 1000 * MS
    second = uuid.UUID(ids.take(1)[0])
    assert (first.int >> 80, second.int >> 80) == (1_700_000_000_000, 1_700_000_001_000)
