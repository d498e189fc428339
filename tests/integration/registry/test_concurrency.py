"""Several processes registering versions and moving aliases at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import multiprocessing
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from lifelong.core.types import Example
from lifelong.registry import open_registry, parse_version

pytestmark = pytest.mark.integration

FORK = multiprocessing.get_context("fork")
WORKERS = 4
ROUNDS = 8


def _worker(url: str, root: Path, worker: int, snap: str, start: Event) -> None:
    with open_registry(url, root / "artifacts") as registry:
        start.wait(30)
        for i in range(ROUNDS):
            bundle = root / f"bundle-{worker}-{i}"
            bundle.mkdir()
            shared = i % 4 == 0  # equal content from several processes at once
            content = b"shared" if shared else f"w{worker}-{i}".encode()
            (bundle / "weights.safetensors").write_bytes(content * 1000)
            parent = "1.0" if i % 2 else None
            version = registry.register(
                bundle,
                snapshot_id=snap,
                config={"worker": worker, "round": i},
                parent=parent,
                edge="finetune" if parent else None,
            )
            registry.set_alias(
                "champion", version.label, reason=f"{worker}-{i}", command="concurrency test"
            )


def test_concurrent_writers_lose_nothing(store_url: str, tmp_path: Path) -> None:
    with open_registry(store_url, tmp_path / "artifacts") as registry:
        snap = registry.put_snapshot([Example.make("hi", "greet")]).id
        bundle = tmp_path / "first"
        bundle.mkdir()
        (bundle / "weights.safetensors").write_bytes(b"first")
        registry.register(bundle, snapshot_id=snap, config={})
    start = FORK.Event()
    processes = [
        FORK.Process(target=_worker, args=(store_url, tmp_path, w, snap, start))
        for w in range(WORKERS)
    ]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(90)
    assert [p.exitcode for p in processes] == [0] * WORKERS

    with open_registry(store_url, tmp_path / "artifacts") as registry:
        versions = registry.versions()
        labels = [v.label for v in versions]
        assert len(labels) == len(set(labels)) == 1 + WORKERS * ROUNDS
        minors: dict[int, list[int]] = {}
        for major, minor in map(parse_version, labels):
            minors.setdefault(major, []).append(minor)
        for found in minors.values():
            assert sorted(found) == list(range(len(found)))  # dense: no gaps, no duplicates
        assert len(minors[1]) == 1 + WORKERS * ROUNDS // 2
        history = registry.store.alias_history("champion")
        assert len(history) == WORKERS * ROUNDS
        assert sorted(m.reason for m in history) == sorted(
            f"{w}-{i}" for w in range(WORKERS) for i in range(ROUNDS)
        )
        for before, after in itertools.pairwise(history):
            assert after.from_version == before.to_version  # no move was lost
        assert registry.store.aliases()["champion"] == history[-1].to_version
        assert registry.check() == []
        for version in versions:
            assert registry.artifact_path(version.label).is_dir()


def _open_fresh(url: str, root: Path, start: Event) -> None:
    start.wait(30)
    with open_registry(url, root / "artifacts") as registry:
        assert registry.versions() == []


def test_processes_opening_a_fresh_store_at_once_migrate_it_once(
    store_url: str, tmp_path: Path
) -> None:
    start = FORK.Event()
    processes = [
        FORK.Process(target=_open_fresh, args=(store_url, tmp_path, start)) for _ in range(WORKERS)
    ]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0] * WORKERS
    with open_registry(store_url, tmp_path / "artifacts") as registry:
        assert registry.check() == []
