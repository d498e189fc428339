"""The continual loop end to end on the sample project: inbox and Redis in, triggers, update,
gate, promotion; a poisoned batch is rejected; a cycle killed mid-way loses and duplicates
nothing."""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.core.types import normalize_text
from lifelong.data import load_dataset
from lifelong.data.sources import FeedbackRecord, append_feedback, feedback_log
from lifelong.pipelines import loop, review
from lifelong.pipelines.loop import run_cycle
from lifelong.pipelines.retrain import TrainOptions, train_version
from lifelong.project import Project
from lifelong.registry import Registry, open_registry
from lifelong.serving.process import ServerProcess

pytestmark = pytest.mark.integration
# the module, not the function ``lifelong.pipelines`` exports under the same name
judge_module = importlib.import_module("lifelong.pipelines.judge")
FORK = multiprocessing.get_context("fork")
FEEDBACK_TOKEN = "loop-feedback-token"


def _configure(root: Path, redis: dict[str, str] | None = None) -> Project:
    """A sample project with a small, fast pipeline; a server polls the champion quickly."""
    path = root / "config.yml"
    config = yaml.safe_load(path.read_text())
    config["pipeline"]["ngrams"].update({"buckets": 16384, "dim": 32})
    config["pipeline"]["hidden"] = 64
    config["training"]["epochs"] = 6
    config["server"] = {"poll_interval": 0.3}
    config["splits"]["salt"] = "loop-tests"  # init draws a random salt; tests must not vary
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


def test_inbox_feedback_and_redis_feed_two_cycles_and_the_server_follows(
    project: Project, client: Any, redis_url: str
) -> None:
    stream = f"lifelong-test:{uuid.uuid4().hex}"
    project = _configure(project.root, {"url": redis_url, "stream": stream, "group": "loop"})
    server = ServerProcess(project.root, env={"LIFELONG_FEEDBACK_TOKEN": FEEDBACK_TOKEN}).start()
    try:
        assert server.post("/predict", {"text": "hello"})["version"] == "1.0"
        # feedback through the server: a correction of what it predicted
        text = "could you check my gift card balance for me"
        answer = server.post("/predict", {"text": text})
        feedback = {"text": text, "intent": "gift_card", "prediction_id": answer["prediction_id"]}
        # gift_card is new to the data, but the trusted inbox brings it in the same cycle
        assert server.post("/feedback", feedback, token=FEEDBACK_TOKEN)["status"] == "stored"
        client.xadd(stream, {"text": "is there a gift card for hiking gear", "intent": "gift_card"})
        (project.root / "batches" / "day2.csv").rename(project.inbox / "day2.csv")
        with _registry(project) as registry:
            first = run_cycle(project, registry)
            assert first.outcome == "promoted", (first.error, first.judgements)
            assert first.data["per_source"][f"redis:{stream}"] == 1
            assert sum(first.data["per_source"].values()) == 45 + 8 * 14 + 1 + 1
            assert "volume" in first.trigger.fired_names()  # type: ignore[union-attr]
            assert registry.resolve("1.1").training["labels_added"] == ["gift_card"]
        server.wait_for_version("1.1")
        (project.root / "batches" / "day3.jsonl").rename(project.inbox / "day3.jsonl")
        with _registry(project) as registry:
            second = run_cycle(project, registry)
            assert second.outcome in ("promoted", "rejected"), second.error
            assert second.plans[0].parent == "1.1"
            again = run_cycle(project, registry)
            assert (again.outcome, again.exit_code) == ("nothing", loop.EXIT_NOTHING)
            champion = registry.store.aliases()["champion"]
            assert len(registry.store.list_snapshots()) >= 3
            assert all(registry.resolve(v).verdict for v in ("1.1", "1.2"))
        server.wait_for_version(champion)
        assert client.xpending(stream, "loop")["pending"] == 0
    finally:
        assert server.stop()
        client.delete(stream, f"{stream}:rejected")
    assert sorted(p.name for p in (project.inbox / "processed").iterdir()) == [
        "day2.csv",
        "day3.jsonl",
    ]
    texts = _texts_in_data(project)
    assert len(texts) == len(set(texts))
    assert "could you check my gift card balance for me" in texts
    assert "is there a gift card for hiking gear" in texts


def _swapped_intents(project: Project, name: str, prefixes: tuple[str, ...]) -> list[str]:
    """An inbox batch whose annotator swapped two intents: new wordings (each text behind each
    prefix) of every example of both, each under the other intent; its JSON lines."""
    swap = {"return_item": "refund_status", "refund_status": "return_item"}
    rows = [
        json.dumps({"text": f"{prefix} {e.original}", "intent": swap[e.label]})
        for e in load_dataset(project).pool.examples.values()
        if e.label in swap
        for prefix in prefixes
    ]
    (project.inbox / name).write_text("\n".join(rows) + "\n")
    return rows


def test_poisoned_batch_is_rejected_and_the_champion_stays(project: Project) -> None:
    # A batch whose annotator swapped two intents: new wordings of every example of both,
    # each under the other intent. (Relabeling the existing texts would not even get in:
    # ingestion holds a text that is in the data under another label for review.)
    _swapped_intents(project, "poisoned.jsonl", ("hi,", "quick question:"))
    # the intake screen would hold the whole batch for review; this test is about the gate
    project = Project.load(project.root, ["policy.screen=null"])
    with _registry(project) as registry:
        result = run_cycle(project, registry)
        assert result.outcome == "rejected", result.judgements[0].verdict.reasons
        assert result.exit_code == loop.EXIT_REJECTED
        assert registry.store.aliases()["champion"] == "1.0"
        reasons = " ".join(result.judgements[0].verdict.reasons)
        assert "return_item" in reasons or "refund_status" in reasons


def test_the_screen_holds_a_batch_of_swapped_intents_for_review(project: Project) -> None:
    rows = _swapped_intents(project, "swapped.jsonl", ("hi,",))
    with _registry(project) as registry:
        result = run_cycle(project, registry)
        held = [item for item in review.items(registry) if item.reason == "suspicious"]
        assert result.outcome == "nothing", result.data  # nothing left to train on
        assert registry.store.aliases()["champion"] == "1.0"
    assert len(held) >= 0.9 * len(rows)
    assert {item.intent for item in held} == {"return_item", "refund_status"}
    assert any("mean probability" in str(item.detail["message"]) for item in held)


def _feedback(project: Project, text: str, intent: str) -> None:
    path = feedback_log(project)
    assert path is not None
    append_feedback(path, FeedbackRecord(text=text, intent=intent))


def test_feedback_with_an_unknown_intent_is_held_and_never_wedges_training(
    project: Project,
) -> None:
    _feedback(project, "hello", "no_such_intent")
    with _registry(project) as registry:
        result = run_cycle(project, registry, force=True)
        assert result.outcome in ("promoted", "rejected"), result.error
        assert result.data["held_reasons"] == {"unknown-intent": 1}
        (item,) = review.items(registry)
        assert (item.text, item.intent, item.reason) == (
            "hello",
            "no_such_intent",
            "unknown-intent",
        )
        # training from the CLI's path works too (it failed "too few examples for the splits")
        version = train_version(project, registry, TrainOptions(finetune="latest", progress=False))
        assert version.version.training["labels_added"] == []
    assert "no_such_intent" not in load_dataset(project).pool.label_counts


def test_a_relabel_through_inbox_and_feedback_is_held_then_trains_once_accepted(
    project: Project,
) -> None:
    pool = load_dataset(project).pool
    by_label: dict[str, list[str]] = {}
    for e in pool.sorted_examples():
        by_label.setdefault(e.label, []).append(e.original)
    inbox_text, feedback_text = by_label["refund_status"][0], by_label["refund_status"][1]
    (project.inbox / "fix.jsonl").write_text(
        json.dumps({"text": inbox_text, "intent": "order_status"}) + "\n"
    )
    _feedback(project, feedback_text, "order_status")
    with _registry(project) as registry:
        held = run_cycle(project, registry)
        assert held.data["held_reasons"] == {"relabel": 2}, held.data
        assert load_dataset(project).pool.id == pool.id  # nothing trains until decided
        decision = review.accept(project, registry, None, note="the annotators agree")
        assert len(decision.decided) == 2
        result = run_cycle(project, registry, force=True)
        assert result.outcome in ("promoted", "rejected"), result.error
        version = registry.resolve(result.judgements[0].challenger)
        assert version.data_diff["relabeled"] == 2
        assert version.data_diff["added"] == 0
        trained = {e.text: e.label for e in registry.get_snapshot_examples(version.snapshot_id)}
    labels = {e.text: e.label for e in load_dataset(project).pool.examples.values()}
    for text in (inbox_text, feedback_text):
        key = normalize_text(text)
        assert trained[key] == labels[key] == "order_status"
    assert sum(e.text == normalize_text(inbox_text) for e in pool.examples.values()) == 1


def _cycle_hanging_in(step: str, root: str, reached: Event) -> None:
    """Run a cycle whose ``step`` (a name in the loop module) hangs once reached."""

    def hang(*_args: Any, **_kwargs: Any) -> None:
        reached.set()
        signal.pause()

    # The intake screen runs the champion before the kill point; a forked child must not
    # enter the OpenMP pool the parent started (it would wait on threads fork did not copy).
    torch.set_num_threads(1)
    setattr(loop, step, hang)
    project = Project.load(Path(root))
    with _registry(project) as registry:
        run_cycle(project, registry)


# killed after the ingested file is written but before the sources are acknowledged, and
# killed while training (after the sources were acknowledged)
@pytest.mark.parametrize("step", ["commit_sources", "train_version"])
def test_a_cycle_killed_midway_is_followed_by_one_that_completes(
    project: Project, step: str
) -> None:
    (project.root / "batches" / "day2.csv").rename(project.inbox / "day2.csv")
    reached = FORK.Event()
    child = FORK.Process(target=_cycle_hanging_in, args=(step, str(project.root), reached))
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


def test_watch_runs_cycles_until_sigterm_then_stops_cleanly(project: Project) -> None:
    command = [
        sys.executable,
        "-m",
        "lifelong.cli.main",
        "--project",
        str(project.root),
        "watch",
        "--interval",
        "0.2",
    ]
    watcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    with _registry(project) as registry:
        while len(registry.store.list_cycles()) < 3:  # the fixture's cycle + two of watch's
            assert time.monotonic() < deadline, "watch ran no cycle"
            time.sleep(0.2)
    watcher.send_signal(signal.SIGTERM)
    output, _ = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, output
    assert "stopping after the current cycle" in output
    assert "cycle(s) run" in output
    with _registry(project) as registry:
        outcomes = [c.outcome for c in registry.store.list_cycles()]
    assert outcomes[0] == "promoted"
    assert set(outcomes[1:]) == {"nothing"}


def test_competing_challengers_are_both_judged_against_the_cycles_champion(
    project: Project,
) -> None:
    (project.root / "batches" / "day2.csv").rename(project.inbox / "day2.csv")
    competing = Project.load(project.root, ["policy.compete=true", "policy.calibrate_every=0"])
    with _registry(competing) as registry:
        result = run_cycle(competing, registry)
        assert [p.kind for p in result.plans] == ["finetune", "cold"]
        assert sorted(j.challenger for j in result.judgements) == ["1.1", "2.0"]
        assert {j.verdict.champion_version for j in result.judgements} == {"1.0"}
        promoted = [j.challenger for j in result.judgements if j.promoted]
        assert registry.store.aliases()["champion"] == (promoted[0] if promoted else "1.0")
        assert len(promoted) <= 1


HANG_AT_THE_GATE = """
import signal, sys
from pathlib import Path
from lifelong.pipelines import loop
from lifelong.project import Project
from lifelong.registry import open_registry

def hang(*args, **kwargs):
    (Path(sys.argv[1]) / "reached-the-gate").touch()
    signal.pause()

loop.judge_competing = hang
project = Project.load(Path(sys.argv[1]))
with open_registry(project.store_url, project.artifacts_dir) as registry:
    loop.run_cycle(project, registry)
"""


def test_a_kill_between_registration_and_the_gate_is_finished_by_the_next_update(
    project: Project,
) -> None:
    (project.root / "batches" / "day2.csv").rename(project.inbox / "day2.csv")
    # A fresh interpreter, not a fork: this cycle trains, and torch's thread pool, started by
    # the fixture's training in this process, deadlocks in a forked child.
    reached = project.root / "reached-the-gate"
    child = subprocess.Popen([sys.executable, "-c", HANG_AT_THE_GATE, str(project.root)])
    deadline = time.monotonic() + 300
    while not reached.exists():
        assert child.poll() is None, "the cycle ended before the gate"
        assert time.monotonic() < deadline, "the cycle never reached the gate"
        time.sleep(0.1)
    child.kill()
    child.wait()
    leftover = project.state_dir / ".tmp-bundle-killed"  # as a kill inside train_version leaves
    (leftover / "bundle").mkdir(parents=True)
    os.utime(leftover, (time.time() - 60,) * 2)
    with _registry(project) as registry:
        assert registry.resolve("1.1").verdict is None  # stranded: registered, never judged
    result = CliRunner().invoke(app, ["--project", str(project.root), "update"])
    assert result.exit_code == loop.EXIT_PROMOTED, result.output
    assert "ingested 0 new example(s)" in result.output
    assert "resumed judge 1.1" in result.output
    assert "removed a killed run's leftover .tmp-bundle-killed" in result.output
    assert not leftover.exists()
    with _registry(project) as registry:
        assert registry.store.aliases()["champion"] == "1.1"
        assert registry.resolve("1.1").verdict["decision"] == "promote"  # type: ignore[index]
        record = registry.store.list_cycles()[-1]
    assert record.outcome == "promoted"
    assert record.versions == ["1.1"]
    assert record.data["removed_temp"] == [".tmp-bundle-killed"]
    resumed = record.data["resumed"]
    assert [(r["version"], r["action"], r["done"], r["promoted"]) for r in resumed] == [
        ("1.1", "judge", True, True)
    ]


def test_a_promote_verdict_whose_alias_move_was_lost_is_completed(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.root / "batches" / "day2.csv").rename(project.inbox / "day2.csv")

    def killed(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("killed between the verdict and the alias move")

    monkeypatch.setattr(judge_module, "promote_version", killed)
    with _registry(project) as registry:
        first = run_cycle(project, registry)
        assert first.outcome == "error"
        assert registry.resolve("1.1").verdict["decision"] == "promote"  # type: ignore[index]
        assert registry.store.aliases()["champion"] == "1.0"
    monkeypatch.undo()
    with _registry(project) as registry:
        second = run_cycle(project, registry)
        assert (second.outcome, second.exit_code) == ("promoted", loop.EXIT_PROMOTED)
        assert [(r.version, r.action, r.promoted) for r in second.resumed] == [
            ("1.1", "promote", True)
        ]
        assert registry.store.aliases()["champion"] == "1.1"
        assert registry.store.alias_history("champion")[-1].command == "update (resumed)"
        third = run_cycle(project, registry)
        assert (third.outcome, third.resumed) == ("nothing", [])
