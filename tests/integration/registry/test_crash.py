"""A writer killed with SIGKILL mid-write leaves a store that opens, is consistent and keeps
everything committed before the kill."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from lifelong.core.types import Example
from lifelong.registry import artifacts, open_registry

pytestmark = pytest.mark.integration

FORK = multiprocessing.get_context("fork")


def _bundle(root: Path, name: str, files: int = 3) -> Path:
    folder = root / name
    folder.mkdir()
    for i in range(files):
        (folder / f"part{i}.safetensors").write_bytes(f"{name}-{i}".encode() * 10_000)
    return folder


def _hang(reached: Event) -> None:
    reached.set()
    time.sleep(120)


def _register_hanging_mid_artifact(url: str, root: Path, snap: str, reached: Event) -> None:
    copy = artifacts._copy_file
    copied = []

    def copy_then_hang(src: Path, dst: Path) -> None:
        copy(src, dst)
        copied.append(dst)
        if len(copied) == 2:  # some files written, the manifest not yet
            _hang(reached)

    artifacts._copy_file = copy_then_hang
    with open_registry(url, root / "artifacts") as registry:
        registry.register(root / "victim", snapshot_id=snap, config={})


def _write_hanging_before_commit(
    url: str, root: Path, snap: str, reached: Event, what: str
) -> None:
    def before_commit(_session: Any) -> None:
        _hang(reached)

    with open_registry(url, root / "artifacts") as registry:
        event.listen(Session, "before_commit", before_commit)
        if what == "register":
            registry.register(
                root / "victim", snapshot_id=snap, config={}, parent="1.0", edge="finetune"
            )
        elif what == "alias":
            registry.set_alias("champion", "1.0", reason="never committed", command="test")
        else:
            registry.put_snapshot([Example.make(f"text {i}", "x") for i in range(5000)])


def _kill_when_reached(process: Any, reached: Event) -> None:
    process.start()
    assert reached.wait(60), "the child never reached the crash point"
    os.kill(process.pid, signal.SIGKILL)
    process.join(30)
    assert process.exitcode == -signal.SIGKILL


@pytest.fixture
def committed(store_url: str, tmp_path: Path) -> str:
    """A store with one committed version 1.0 (champion); returns the snapshot id."""
    with open_registry(store_url, tmp_path / "artifacts") as registry:
        snap = registry.put_snapshot([Example.make("hi", "greet")]).id
        registry.register(_bundle(tmp_path, "good"), snapshot_id=snap, config={"ok": True})
        registry.set_alias("champion", "1.0", reason="first", command="test")
    _bundle(tmp_path, "victim")
    return snap


def _assert_intact(url: str, root: Path) -> None:
    with open_registry(url, root / "artifacts") as registry:
        assert registry.check() == []
        assert [v.label for v in registry.versions()] == ["1.0"]
        assert registry.store.aliases() == {"champion": "1.0"}
        assert len(registry.store.alias_history()) == 1
        assert len(registry.store.list_snapshots()) == 1
        assert registry.artifact_path("1.0").is_dir()
        assert list((root / "artifacts").glob(".tmp-*")) == []
        snap = registry.store.list_snapshots()[0].id
        retried = registry.register(
            root / "victim", snapshot_id=snap, config={}, parent="1.0", edge="finetune"
        )
        assert retried.label == "1.1"  # the interrupted attempt burned no number
        assert registry.artifact_path("1.1").is_dir()


def test_kill_during_artifact_write(store_url: str, tmp_path: Path, committed: str) -> None:
    reached = FORK.Event()
    child = FORK.Process(
        target=_register_hanging_mid_artifact, args=(store_url, tmp_path, committed, reached)
    )
    _kill_when_reached(child, reached)
    assert list((tmp_path / "artifacts").glob(".tmp-*"))  # the crash left a half-written copy
    _assert_intact(store_url, tmp_path)


@pytest.mark.parametrize("what", ["register", "alias", "snapshot"])
def test_kill_before_commit(store_url: str, tmp_path: Path, committed: str, what: str) -> None:
    reached = FORK.Event()
    child = FORK.Process(
        target=_write_hanging_before_commit, args=(store_url, tmp_path, committed, reached, what)
    )
    _kill_when_reached(child, reached)
    _assert_intact(store_url, tmp_path)
