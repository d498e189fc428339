"""What the next cycle finds of a killed run, and what it does about it (without training)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lifelong.config import CONFIG_FILE
from lifelong.core.types import Example
from lifelong.pipelines.resume import find_unfinished, remove_orphaned_temp, resume
from lifelong.project import Project
from lifelong.registry import CHALLENGER, CHAMPION, Registry

BundleFactory = Callable[..., Path]


def promote_verdict(against: str) -> dict[str, object]:
    return {"decision": "promote", "champion_version": against, "reasons": ["better"]}


@pytest.fixture
def line(registry: Registry, make_bundle: BundleFactory) -> Registry:
    """1.0 (champion) ── 1.1 (registered by an update, then killed) ── 1.2 (plain train)."""
    snapshot = registry.put_snapshot([Example.make("hi", "greet")]).id
    for i, promote_after in enumerate((True, True, False)):
        registry.register(
            make_bundle(i),
            snapshot_id=snapshot,
            config={},
            parent=None if i == 0 else f"1.{i - 1}",
            edge=None if i == 0 else "finetune",
            training={"promote_after": promote_after},
        )
    registry.set_verdict("1.0", {"decision": "promote", "champion_version": None})
    registry.set_alias(CHAMPION, "1.0", reason="first", command="update")
    return registry


def labels(versions: list[object]) -> list[str]:
    return [v.label for v in versions]  # type: ignore[attr-defined]


def test_only_versions_registered_to_be_promoted_and_never_moved_are_unfinished(
    line: Registry,
) -> None:
    found = find_unfinished(line)
    # 1.2 was a plain `lifelong train`: nobody asked for the gate, so it is not the loop's
    assert (labels(found.to_judge), labels(found.to_promote)) == (["1.1"], [])
    line.set_verdict("1.1", promote_verdict("1.0"))  # killed between verdict and alias move
    found = find_unfinished(line)
    assert (labels(found.to_judge), labels(found.to_promote)) == ([], ["1.1"])
    line.set_alias(CHALLENGER, "1.1", reason="judged", command="update")  # the run had finished
    assert find_unfinished(line) == type(found)([], [])


def test_a_rejected_verdict_is_finished_work(line: Registry) -> None:
    line.set_verdict("1.1", {"decision": "reject", "champion_version": "1.0", "reasons": []})
    found = find_unfinished(line)
    assert (found.to_judge, found.to_promote) == ([], [])


def test_a_current_promote_verdict_is_completed(tmp_path: Path, line: Registry) -> None:
    line.set_verdict("1.1", promote_verdict("1.0"))
    project = _project(tmp_path)
    dry = resume(project, line, dry_run=True)
    assert [(r.version, r.action, r.done) for r in dry] == [("1.1", "promote", False)]
    assert line.store.aliases()[CHAMPION] == "1.0"
    done = resume(project, line)
    assert [(r.version, r.action, r.done, r.promoted) for r in done] == [
        ("1.1", "promote", True, True)
    ]
    assert line.store.aliases()[CHAMPION] == "1.1"
    last = line.store.alias_history(CHAMPION)[-1]
    assert (last.kind, last.command) == ("set", "update (resumed)")
    assert resume(project, line) == []  # done once, not again


def test_a_stale_promote_verdict_is_not_promoted(tmp_path: Path, line: Registry) -> None:
    line.set_verdict("1.1", promote_verdict("1.0"))
    line.set_verdict("1.2", promote_verdict("1.0"))
    line.set_alias(CHAMPION, "1.2", reason="a person promoted 1.2", command="test")
    done = resume(_project(tmp_path), line)
    assert [(r.version, r.action, r.promoted) for r in done] == [("1.1", "stale", False)]
    assert "judged against champion 1.0, but the champion is 1.2 now" in done[0].detail
    assert line.store.aliases() == {CHAMPION: "1.2", CHALLENGER: "1.1"}
    assert resume(_project(tmp_path), line) == []


def test_a_broken_leftover_is_reported_and_does_not_stop_the_cycle(
    tmp_path: Path, line: Registry
) -> None:
    line.set_verdict("1.1", promote_verdict("1.0"))
    version = line.resolve("1.1")
    (line.artifacts.path(version.artifact_id) / "weights.safetensors").write_bytes(b"flipped")
    done = resume(_project(tmp_path), line)
    assert [(r.version, r.done) for r in done] == [("1.1", False)]
    assert "artifact of version 1.1 is corrupt" in done[0].detail
    assert line.store.aliases()[CHAMPION] == "1.0"


def _project(root: Path) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    if not (root / CONFIG_FILE).exists():
        (root / CONFIG_FILE).write_text("{}\n")
    return Project.load(root)


def test_orphaned_temp_folders_older_than_the_cycle_are_removed(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj")
    state = project.state_dir
    state.mkdir(parents=True)
    killed = state / ".tmp-bundle-k1ll3d"
    (killed / "bundle").mkdir(parents=True)
    (killed / "bundle" / "weights.safetensors").write_bytes(b"half")
    stray = state / ".tmp-abc123"
    stray.write_text("half a write")
    keep = state / "registry.db"
    keep.write_text("db")
    started = datetime.now(UTC)
    old = (started - timedelta(minutes=5)).timestamp()
    for path in (killed, stray):
        os.utime(path, (old, old))
    newer = state / ".tmp-bundle-live"  # made after the cycle started: not touched
    newer.mkdir()
    os.utime(newer, ((started + timedelta(seconds=5)).timestamp(),) * 2)
    removed = remove_orphaned_temp(project, started)
    assert sorted(p.name for p in removed) == [".tmp-abc123", ".tmp-bundle-k1ll3d"]
    assert sorted(p.name for p in state.iterdir()) == [".tmp-bundle-live", "registry.db"]
