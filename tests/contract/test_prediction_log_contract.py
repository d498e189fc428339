"""The prediction log on every registry back end (SQLite and PostgreSQL, via ``store_url``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from lifelong.core.errors import RegistryError
from lifelong.registry import PredictionRecord, Registry

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def row(n: int, *, version: str = "1.0", shadow_of: str | None = None) -> PredictionRecord:
    return PredictionRecord(
        prediction_id=str(uuid.UUID(int=n + (1 << 64 if shadow_of else 0))),
        at=T0 + timedelta(minutes=n),
        text_hash=f"{n:064x}",
        version=version,
        intent=f"intent{n % 3}",
        confidence=0.5 + n / 1000,
        latency_ms=1.25,
        text=f"text {n}" if n % 2 else None,
        shadow_of=shadow_of,
    )


def test_logged_rows_read_back_oldest_first(registry: Registry) -> None:
    rows = [row(n) for n in range(10)]
    registry.store.log_predictions(rows[:4])
    registry.store.log_predictions(rows[4:])
    registry.store.log_predictions([])
    assert registry.store.recent_predictions() == rows
    assert registry.store.recent_predictions(limit=3) == rows[-3:]
    assert registry.store.recent_predictions(since=T0 + timedelta(minutes=8)) == rows[8:]


def test_filter_by_version_and_shadow_rows_keep_their_primary(registry: Registry) -> None:
    primary = row(1)
    shadow = row(1, version="1.1", shadow_of=primary.prediction_id)
    registry.store.log_predictions([primary, shadow, row(2)])
    assert registry.store.recent_predictions(version="1.1") == [shadow]
    assert registry.store.recent_predictions(limit=2)[0].shadow_of == primary.prediction_id


def test_a_regression_rows_value_reads_back_and_a_classifiers_is_none(
    registry: Registry,
) -> None:
    valued = row(1)._replace(intent="value", confidence=1.0, value=-12.375)
    registry.store.log_predictions([valued, row(2)])
    assert [r.value for r in registry.store.recent_predictions()] == [-12.375, None]
    assert registry.store.prediction(valued.prediction_id) == valued


def test_a_prediction_is_found_by_its_id(registry: Registry) -> None:
    rows = [row(n) for n in range(5)]
    registry.store.log_predictions(rows)
    assert registry.store.prediction(rows[3].prediction_id) == rows[3]
    assert registry.store.prediction(str(uuid.UUID(int=99))) is None


def test_prediction_ids_are_unique(registry: Registry) -> None:
    registry.store.log_predictions([row(1)])
    with pytest.raises(IntegrityError):
        registry.store.log_predictions([row(1)])
    assert len(registry.store.recent_predictions()) == 1


def test_prune_keeps_the_newest_rows(registry: Registry) -> None:
    rows = [row(n) for n in range(10)]
    registry.store.log_predictions(rows)
    assert registry.store.prune_predictions(keep_rows=4) == 6
    assert registry.store.recent_predictions() == rows[6:]
    assert registry.store.prune_predictions(keep_rows=4) == 0


def test_prune_by_age(registry: Registry) -> None:
    rows = [row(n) for n in range(10)]
    registry.store.log_predictions(rows)
    assert registry.store.prune_predictions(older_than=T0 + timedelta(minutes=7)) == 7
    assert registry.store.recent_predictions() == rows[7:]
    assert registry.store.prune_predictions(keep_rows=0) == 3
    assert registry.store.recent_predictions() == []


def test_prune_needs_a_bound(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="needs keep_rows or older_than"):
        registry.store.prune_predictions()
    with pytest.raises(RegistryError, match="keep_rows must be 0 or more"):
        registry.store.prune_predictions(keep_rows=-1)
