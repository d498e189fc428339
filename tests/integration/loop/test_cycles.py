"""The continual loop end to end on the sample project: inbox and Redis in, triggers, update,
gate, promotion; a poisoned batch is rejected; a cycle killed mid-way loses and duplicates
nothing."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import uuid
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.data import load_dataset
from lifelong.pipelines import loop
from lifelong.pipelines.loop import run_cycle
from lifelong.project import Project
from lifelong.registry import Registry, open_registry

pytestmark = pytest.mark.integration
FORK = multiprocessing.get_context("fork")


def _configure(root: Path, redis: dict[str, str] | None = None) -> Project:
    """A sample project with a small, fast pipeline."""
    path = root / "config.yml"
    config = yaml.safe_load(path.read_text())
    config["pipeline"]["ngrams"].update({"buckets": 16384, "dim": 32})
    config["pipeline"]["hidden"] = 64
    config["training"]["epochs"] = 6
    if redis is not None:
        config["sources"] = [{"inbox": True}, {"feedback": True}, {"redis": redis}]
    path.write_text(yaml.safe_dump(config))
    return Project.load(root)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    assert CliRunner().invoke(app, ["init", str(tmp_path / "demo")]).exit_code == 0
    project = _configure(tmp_path / "demo")
    with _registry(project) as registry:
        result = run_cycle(project, registry)  # no champion: trains cold, first model ships
        assert result.outcome == "promoted", result.error
    return project


def _registry(project: Project) -> Registry:
    project.state_dir.mkdir(parents=True, exist_ok=True)
    return open_registry(project.store_url, project.artifacts_dir)


def _texts_in_data(project: Project) -> list[str]:
    return [e.text for e in load_dataset(project).pool.examples.values()]


def test_batches_from_inbox_and_redis_update_and_promote(
    project: Project, client: Any, redis_url: str
) -> None:
    stream = f"lifelong-test:{uuid.uuid4().hex}"
    project = _configure(project.root, {"url": redis_url, "stream": stream, "group": "loop"})
    for name in ("day1.jsonl", "day2.csv"):
        (project.root / "batches" / name).rename(project.inbox / name)
    messages = [
        ("could you check my gift card balance for me", "gift_card"),
        ("is there a gift card for hiking gear", "gift_card"),
    ]
    for text, intent in messages:
        client.xadd(stream, {"text": text, "intent": intent})
    try:
        with _registry(project) as registry:
            result = run_cycle(project, registry)
            assert result.outcome == "promoted", (result.error, result.judgements)
            assert result.exit_code == 0
            assert result.data["per_source"][f"redis:{stream}"] == 2
            assert "volume" in result.trigger.fired_names()  # type: ignore[union-attr]
            assert registry.store.aliases()["champion"] == "1.1"
            assert registry.resolve("1.1").training["labels_added"] == ["gift_card"]
            # nothing new: the next cycle does nothing, with its own exit code
            again = run_cycle(project, registry)
            assert (again.outcome, again.exit_code) == ("nothing", loop.EXIT_NOTHING)
            assert [c.outcome for c in registry.store.list_cycles()] == [
                "promoted",
                "promoted",
                "nothing",
            ]
        assert sorted(p.name for p in (project.inbox / "processed").iterdir()) == [
            "day1.jsonl",
            "day2.csv",
        ]
        assert client.xpending(stream, "loop")["pending"] == 0
        texts = _texts_in_data(project)
        assert len(texts) == len(set(texts))
        assert "is there a gift card for hiking gear" in texts
    finally:
        client.delete(stream, f"{stream}:rejected")


def test_poisoned_batch_is_rejected_and_the_champion_stays(project: Project) -> None:
    # A batch whose annotator swapped two intents: new wordings of every example of both,
    # each under the other intent. (Relabeling the existing texts would not even get in:
    # ingestion skips a text that is in the data under another label.)
    swap = {"return_item": "refund_status", "refund_status": "return_item"}
    rows = [
        json.dumps({"text": f"{prefix} {e.original}", "intent": swap[e.label]})
        for e in load_dataset(project).pool.examples.values()
        if e.label in swap
        for prefix in ("hi,", "quick question:")
    ]
    (project.inbox / "poisoned.jsonl").write_text("\n".join(rows) + "\n")
    with _registry(project) as registry:
        result = run_cycle(project, registry)
        assert result.outcome == "rejected", result.judgements[0].verdict.reasons
        assert result.exit_code == loop.EXIT_REJECTED
        assert registry.store.aliases()["champion"] == "1.0"
        reasons = " ".join(result.judgements[0].verdict.reasons)
        assert "return_item" in reasons or "refund_status" in reasons


def _hang_before_commit(root: str, reached: Event) -> None:
    def hang(*_args: Any) -> None:
        reached.set()
        signal.pause()

    loop.commit_sources = hang  # type: ignore[assignment]
    project = Project.load(Path(root))
    with _registry(project) as registry:
        run_cycle(project, registry)


def _hang_in_training(root: str, reached: Event) -> None:
    def hang(*_args: Any, **_kwargs: Any) -> None:
        reached.set()
        signal.pause()

    loop.train_version = hang  # type: ignore[assignment]
    project = Project.load(Path(root))
    with _registry(project) as registry:
        run_cycle(project, registry)


@pytest.mark.parametrize("victim", [_hang_before_commit, _hang_in_training])
def test_a_cycle_killed_midway_is_followed_by_one_that_completes(
    project: Project, victim: Any
) -> None:
    (project.root / "batches" / "day2.csv").rename(project.inbox / "day2.csv")
    reached = FORK.Event()
    child = FORK.Process(target=victim, args=(str(project.root), reached))
    child.start()
    assert reached.wait(120), "the cycle never reached the kill point"
    os.kill(child.pid or 0, signal.SIGKILL)
    child.join()
    with _registry(project) as registry:
        assert registry.check() == []
        result = run_cycle(project, registry)  # the lock died with the killed process
        assert result.outcome == "promoted", result.error
        assert registry.store.aliases()["champion"] == "1.1"
    texts = _texts_in_data(project)
    assert len(texts) == len(set(texts))
    assert sum(e.label == "gift_card" for e in load_dataset(project).pool.examples.values()) == 45
    assert (project.inbox / "processed" / "day2.csv").exists()
