"""The update policy chooses cold when it is due; the cycle lock admits one cycle at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lifelong.config import CONFIG_FILE
from lifelong.core.errors import LockHeld
from lifelong.core.types import Example
from lifelong.pipelines.lock import cycle_lock
from lifelong.pipelines.policy import plan_updates
from lifelong.project import Project
from lifelong.registry import CycleRecord, Registry, open_registry

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def _project(root: Path, policy: str = "") -> Project:
    root.mkdir(parents=True, exist_ok=True)
    (root / CONFIG_FILE).write_text(f"policy: {{{policy}}}\n")
    return Project.load(root)


def _line(registry: Registry, make_bundle, updates: int) -> str:  # type: ignore[no-untyped-def]
    snapshot = registry.put_snapshot([Example.make("hi", "greet")]).id
    label = registry.register(make_bundle(0), snapshot_id=snapshot, config={}).label
    for i in range(updates):
        label = registry.register(
            make_bundle(i + 1), snapshot_id=snapshot, config={}, parent=label, edge="finetune"
        ).label
    return label


def _cycle(registry: Registry, outcome: str, kind: str) -> None:
    registry.store.record_cycle(
        CycleRecord(0, NOW, NOW, outcome, {}, {}, {"kind": kind}, [], None, {}, "")
    )


def test_no_champion_trains_cold(registry: Registry, tmp_path: Path) -> None:
    (plan,) = plan_updates(_project(tmp_path / "p"), registry, None, NOW)
    assert (plan.kind, plan.parent) == ("cold", None)


def test_finetune_by_default_then_cold_every_kth_update(
    registry: Registry,
    make_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    project = _project(tmp_path / "p", "calibrate_every: 3")
    label = _line(registry, make_bundle, updates=1)  # 1.0 -> 1.1
    (plan,) = plan_updates(project, registry, registry.resolve(label), NOW)
    assert (plan.kind, plan.parent) == ("finetune", "1.1")
    label = _line(registry, make_bundle, updates=2)  # 2.0 -> 2.1 -> 2.2: the next is the 3rd
    (plan,) = plan_updates(project, registry, registry.resolve(label), NOW)
    assert plan.kind == "cold"
    assert "policy.calibrate_every = 3" in plan.reason


def test_cold_after_rejected_finetunes_in_a_row(
    registry: Registry,
    make_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    project = _project(tmp_path / "p", "calibrate_every: 0")
    champion = registry.resolve(_line(registry, make_bundle, updates=0))
    _cycle(registry, "rejected", "finetune")
    _cycle(registry, "nothing", "")
    assert plan_updates(project, registry, champion, NOW)[0].kind == "finetune"
    _cycle(registry, "rejected", "finetune")
    (plan,) = plan_updates(project, registry, champion, NOW)
    assert plan.kind == "cold"
    assert "2 rejected fine-tunes in a row" in plan.reason
    _cycle(registry, "promoted", "cold")
    assert plan_updates(project, registry, champion, NOW)[0].kind == "finetune"


def test_calibrate_days_and_compete(
    registry: Registry,
    make_bundle,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    champion = registry.resolve(_line(registry, make_bundle, updates=0))
    old = _project(tmp_path / "a", "calibrate_every: 0, calibrate_days: 7")
    later = champion.created_at + timedelta(days=8)
    assert plan_updates(old, registry, champion, later)[0].kind == "cold"
    assert plan_updates(old, registry, champion, champion.created_at)[0].kind == "finetune"
    both = _project(tmp_path / "b", "calibrate_every: 0, compete: true")
    assert [p.kind for p in plan_updates(both, registry, champion, NOW)] == ["finetune", "cold"]


def test_second_cycle_is_refused_while_one_runs(registry: Registry, tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    with (
        cycle_lock(project, registry),
        pytest.raises(LockHeld, match="another lifelong cycle is training"),
        cycle_lock(project, registry),
    ):
        pass
    with cycle_lock(project, registry):  # released: taken again
        pass


def test_projects_sharing_one_store_share_the_lock(tmp_path: Path) -> None:
    """Two project folders whose store.url names one SQLite file: one cycle at a time."""
    url = f"sqlite:///{tmp_path / 'shared' / 'registry.db'}"
    first, second = (_project(tmp_path / name, "") for name in ("a", "b"))
    with (
        open_registry(url, tmp_path / "shared" / "artifacts") as one,
        open_registry(url, tmp_path / "shared" / "artifacts") as other,
    ):
        with (
            cycle_lock(first, one),
            pytest.raises(LockHeld, match=r"training on the registry beside .*registry\.db\.lock"),
            cycle_lock(second, other),
        ):
            pass
        with cycle_lock(second, other):  # released: the other project takes it
            pass
