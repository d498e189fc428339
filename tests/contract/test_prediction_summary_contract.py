"""The prediction log's SQL summaries (traffic, confidence histogram, shadow agreement) on
every back end, against the same figures computed in Python from the rows themselves."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.registry import PredictionRecord, Registry, open_registry

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _rows(n: int, seed: int) -> list[PredictionRecord]:
    rng = random.Random(seed)
    rows: list[PredictionRecord] = []
    for i in range(n):
        shadow_of = rows[-1].prediction_id if i % 4 == 3 and rows[-1].shadow_of is None else None
        rows.append(
            PredictionRecord(
                prediction_id=f"{seed}-{i}",
                at=T0 + timedelta(seconds=rng.randrange(0, 7200)),
                text_hash=f"{i:064x}",
                version=rng.choice(["1.0", "1.1"]),
                intent=rng.choice(["a", "b"]),
                confidence=rng.choice([0.0, 0.05, 0.5, 0.999, 1.0, rng.random()]),
                latency_ms=1.0,
                shadow_of=shadow_of,
            )
        )
    return rows


def test_summaries_match_the_rows(registry: Registry) -> None:
    rows = _rows(400, 0)
    registry.store.log_predictions(rows)
    since, width = T0 + timedelta(minutes=10), timedelta(minutes=7)
    kept = [r for r in rows if r.at >= since]
    primary = [r for r in kept if r.shadow_of is None]

    traffic = registry.store.prediction_traffic(since=since, width=width)
    expected = Counter((int((r.at - since) / width), r.version) for r in primary)
    assert {(int((b.start - since) / width), b.version): b.predictions for b in traffic} == (
        expected
    )
    for bucket in traffic:
        mine = [
            r.confidence
            for r in primary
            if r.version == bucket.version
            and since + width * int((r.at - since) / width) == bucket.start
        ]
        assert abs(bucket.mean_confidence - sum(mine) / len(mine)) < 1e-9

    histogram = registry.store.confidence_histogram(since=since, bins=20)
    assert histogram == [
        sum(min(int(r.confidence * 20), 19) == i for r in primary) for i in range(20)
    ]
    only_11 = registry.store.confidence_histogram(since=since, bins=4, version="1.1")
    assert sum(only_11) == sum(r.version == "1.1" for r in primary)

    by_id = {r.prediction_id: r for r in rows}
    shadows = [r for r in kept if r.shadow_of is not None]
    agreement = registry.store.shadow_agreement(since=since, width=width)
    assert sum(b.pairs for b in agreement) == len(shadows)
    assert sum(b.agreed for b in agreement) == sum(
        by_id[r.shadow_of].intent == r.intent for r in shadows if r.shadow_of
    )


def test_span_of_the_log_and_of_its_newest_rows(registry: Registry) -> None:
    assert registry.store.prediction_span() is None
    rows = sorted(_rows(50, 1), key=lambda r: r.at)
    registry.store.log_predictions(rows)
    assert registry.store.prediction_span() == (rows[0].at, rows[-1].at, 50)
    assert registry.store.prediction_span(newest=10) == (rows[-10].at, rows[-1].at, 50)
    assert registry.store.prediction_span(newest=500) == (rows[0].at, rows[-1].at, 50)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40))
def test_histogram_counts_every_confidence_once(confidences: list[float]) -> None:
    """Bins partition [0, 1]: 1.0 falls in the last one, nothing is lost (SQLite, in memory)."""
    with TemporaryDirectory() as folder, open_registry("sqlite://", Path(folder)) as registry:
        registry.store.log_predictions(
            [
                PredictionRecord(f"p{i}", T0, "h", "1.0", "a", c, 1.0)
                for i, c in enumerate(confidences)
            ]
        )
        histogram = registry.store.confidence_histogram(since=T0, bins=10)
        assert sum(histogram) == len(confidences)
        assert histogram[-1] == sum(min(int(c * 10), 9) == 9 for c in confidences)
