"""``lifelong update`` killed with SIGKILL at every boundary of the sources' two-phase contract,
for each transport, then a normal cycle: every valid message is in the data exactly once, the
malformed one is dead-lettered once, and nothing valid was acknowledged before its snapshot.

The kill comes from the ``LIFELONG_CRASH_AT`` hook (``lifelong.core.crashpoint``). Kafka's mock
cluster lives in this test process: the ``lifelong update`` subprocesses connect to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lifelong.core.crashpoint import CRASH_ENV, POINTS
from lifelong.core.types import normalize_text
from lifelong.pipelines.loop import EXIT_NOTHING
from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.testing.cli import champion_project
from lifelong.testing.transports import KafkaTransport, Transport

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SRC = Path(__file__).resolve().parents[3] / "src"


@pytest.fixture
def crash_transport(transport: Transport, kafka_mock: object) -> Transport:
    if isinstance(transport, KafkaTransport):
        # the classic protocol (librdkafka's default); a killed member's partitions come back
        # after its session: the smallest brokers accept
        transport.config = {"session.timeout.ms": 6000}
    return transport


def _project(root: Path, transport: Transport) -> Project:
    _, config = champion_project(root, salt="crash-tests")  # the cycles below train nothing
    config["sources"] = [transport.spec()]  # after: a Kafka topic exists once published to
    (root / "config.yml").write_text(yaml.safe_dump(config))
    return Project.load(root)


def _update(project: Project, crash_at: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop(CRASH_ENV, None)
    if crash_at is not None:
        env[CRASH_ENV] = crash_at
    command = [sys.executable, "-m", "lifelong.cli.main", "--project", str(project.root), "update"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)


def _ingested_texts(project: Project) -> list[str]:
    folder = project.root / "data" / "ingested"
    return [
        json.loads(line)["text"]
        for path in sorted(folder.glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


@pytest.mark.parametrize("point", POINTS)
def test_a_cycle_killed_at_each_point_loses_and_doubles_nothing(
    crash_transport: Transport, point: str, tmp_path: Path
) -> None:
    transport = crash_transport
    project = _project(tmp_path / "demo", transport)
    valid = [{"text": f"hello there number {i}", "intent": "greet"} for i in range(6)] + [
        {"text": f"bye for now number {i}", "intent": "goodbye"} for i in range(6)
    ]
    transport.publish(valid[:6])
    transport.publish([{"text": "an intent is missing"}])
    transport.publish(valid[6:])

    killed = _update(project, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert f"crash point {point!r}" in killed.stderr
    if point == "committed":
        assert transport.unacked() == 0
    else:  # nothing valid acknowledged before its snapshot's commit
        assert transport.unacked() >= len(valid)

    finished = _update(project, None)
    assert finished.returncode == EXIT_NOTHING, finished.stdout + finished.stderr
    expected = sorted(normalize_text(r["text"]) for r in valid)
    assert sorted(_ingested_texts(project)) == expected  # each exactly once
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        latest = registry.store.latest_snapshot()
        assert latest is not None
        texts = [e.text for e in registry.get_snapshot_examples(latest.id)]
    assert sorted(t for t in texts if t in set(expected)) == expected
    assert transport.unacked() == 0
    dead = transport.dead_letters()
    # Kafka's offsets are positional: a kill between writing the dead letter and committing the
    # offsets writes it again at the next commit, under the same key (documented)
    twice = point == "source-commit" and transport.kind == "kafka"
    assert len(dead) == (2 if twice else 1)
    assert all("intent" in reason for reason in dead)
