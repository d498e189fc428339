"""Benchmark of data-to-served per transport: one message published -> the server answers with
the model trained on it.

The project is ``bench/loop.py``'s (CLINC150's in-scope training set minus 1,000 examples,
version 1.0 trained cold, served by ``lifelong serve`` polling the champion alias every 0.5 s),
trained once and kept for every run (``--project small``: the sample project with a tiny
pipeline instead, whose training takes seconds, so the transports' share shows). For each
transport (Redis Streams on 127.0.0.1:6379, Kafka on librdkafka's mock cluster living in this
process, NATS JetStream on 127.0.0.1:4222) the project's one source is that transport, the
volume trigger fires on one new example (``min_count: 1``) and ``lifelong watch --interval 1``
runs the cycles. A run publishes one new example (a held-back one) as one message and starts
the clock; it stops when ``/predict`` first answers with a new version. Prints a markdown table
per transport (median of --repeat runs): the total, the wait for the cycle that ingested the
message to start, that cycle (from its record; its training apart) and the server's swap (the
cycle's end to the first answer of the new version). Target: the loop benchmark's 30 s.

A run whose update the gate rejects is reported with the reason and has no "served" time.

    .venv/bin/python bench/message_to_served.py [--repeat 3] [--only redis|kafka|nats]
        [--project clinc|small]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.registry.entities import CycleRecord
from lifelong.serving.process import ServerProcess
from lifelong.testing.cli import champion_project
from lifelong.testing.transports import (
    KafkaMock,
    KafkaTransport,
    NatsTransport,
    RedisTransport,
    Transport,
)
from loop import OUT, lifelong, make_project, served_version  # bench/loop.py, beside this file

WATCH_INTERVAL = 1.0
TIMEOUT = 900.0


def _cycles(project: Project, after: int) -> list[CycleRecord]:
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        return [c for c in registry.store.list_cycles(limit=20) if c.id > after]


def _last_cycle(project: Project) -> int:
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        cycles = registry.store.list_cycles(limit=1)
    return cycles[0].id if cycles else 0


def one_run(
    project: Project, transport: Transport, record: dict[str, str], url: str
) -> dict[str, Any]:
    """Publish ``record``; seconds until the server answers with the version trained on it."""
    before, after = served_version(url), _last_cycle(project)
    published = time.time()
    started = time.perf_counter()
    transport.publish([record])
    while True:
        version = served_version(url)
        if version is not None and version != before:
            total = time.perf_counter() - started
            break
        ended = [c for c in _cycles(project, after) if c.data.get("new")]
        if ended and ended[0].outcome not in ("promoted", "nothing"):
            cycle = ended[0]
            return {"outcome": cycle.outcome, "reason": cycle.error or cycle.outcome}
        if time.perf_counter() - started > TIMEOUT:
            raise SystemExit(f"no new version served within {TIMEOUT:g} s")
        time.sleep(0.05)
    (cycle,) = [c for c in _cycles(project, after) if c.data.get("new")][-1:]
    seconds = (cycle.finished_at - cycle.started_at).total_seconds()
    return {
        "outcome": "promoted",
        "to": version,
        "total s": round(total, 2),
        "cycle s": round(seconds, 2),
        "wait for the cycle s": round(cycle.started_at.timestamp() - published, 2),
        "train s": round(cycle.durations.get("train", 0.0), 2),
        "swap s": round(published + total - cycle.finished_at.timestamp(), 2),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _clinc(root: Path) -> list[dict[str, str]]:
    """bench/loop.py's project, 1.0 trained; its held-back examples, one message each."""
    held = [json.loads(line) for line in make_project(root, "all")]
    lifelong(root, "train")
    return held


def _small(root: Path) -> list[dict[str, str]]:
    """The sample project with a tiny pipeline (trains in seconds), champion trained."""
    if root.exists():
        shutil.rmtree(root)
    _, config = champion_project(root)
    config["server"] = {"poll_interval": 0.5}
    (root / "config.yml").write_text(yaml.safe_dump(config))
    return [{"text": f"where is my order number {i}", "intent": "order_status"} for i in range(50)]


PROJECTS: dict[str, Callable[[Path], list[dict[str, str]]]] = {"clinc": _clinc, "small": _small}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["redis", "kafka", "nats"], action="append")
    parser.add_argument("--project", choices=list(PROJECTS), default="clinc")
    args = parser.parse_args()
    root = OUT.parent / "message_to_served" / args.project
    held = PROJECTS[args.project](root)
    mock = KafkaMock()
    makers = {
        "Redis Streams": lambda: RedisTransport("redis://127.0.0.1:6379/0"),
        "Kafka (mock cluster)": lambda: KafkaTransport(mock),
        "NATS JetStream": lambda: NatsTransport("nats://127.0.0.1:4222", ack_wait=30.0),
    }
    rows: dict[str, list[dict[str, Any]]] = {}
    examples = iter(held)
    with ServerProcess(root) as server:
        for name, make in makers.items():
            if args.only and name.split()[0].lower() not in args.only:
                continue
            transport = make()
            transport.publish([])  # NATS: creates the stream
            if isinstance(transport, KafkaTransport):  # creates the topic (4 partitions)
                transport.mock.producer.list_topics(transport.topic, timeout=10)
            config = yaml.safe_load((root / "config.yml").read_text())
            config["sources"] = [transport.spec()]
            config["policy"]["triggers"]["volume"] = {"min_fraction": None, "min_count": 1}
            (root / "config.yml").write_text(yaml.safe_dump(config))
            project = Project.load(root)
            watch = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lifelong.cli.main",
                    "--project",
                    str(root),
                    "watch",
                    "--interval",
                    str(WATCH_INTERVAL),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                first, deadline = _last_cycle(project), time.monotonic() + TIMEOUT
                while _last_cycle(project) == first:  # the watch's first (idle) cycle: imports
                    if time.monotonic() > deadline or watch.poll() is not None:
                        raise SystemExit("`lifelong watch` recorded no cycle")
                    time.sleep(0.2)
                rows[name] = []
                for run in range(args.repeat):
                    row = one_run(project, transport, next(examples), server.url)
                    rows[name].append(row)
                    print(f"{name} run {run + 1}: {row}", flush=True)
            finally:
                watch.terminate()
                watch.wait(120)
                transport.cleanup()
    keys = ["total s", "wait for the cycle s", "cycle s", "train s", "swap s"]
    print(f"\n| transport | {' | '.join(k[:-2] for k in keys)} | runs (total s) |")
    print(f"| --- | {' | '.join('---:' for _ in keys)} | --- |")
    for name, runs in rows.items():
        served = [r for r in runs if r["outcome"] == "promoted"]
        cells = [f"{statistics.median(r[k] for r in served):.2f}" if served else "-" for k in keys]
        listed = ", ".join(f"{r['total s']:.2f}" if "total s" in r else r["outcome"] for r in runs)
        print(f"| {name} | {' | '.join(cells)} | {listed} |")
    for name, runs in rows.items():
        for row in runs:
            if row["outcome"] != "promoted":
                print(f"\n{name}: a run was {row['outcome']}: {row['reason']}")


if __name__ == "__main__":
    main()
