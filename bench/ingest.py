"""Benchmark of ingestion per transport: messages/s from a transport into a committed snapshot.

For each transport (Redis Streams on 127.0.0.1:6379, Kafka on librdkafka's mock cluster, NATS
JetStream on 127.0.0.1:4222) a scratch project (the sample project, a tiny pipeline, a champion
already trained, triggers off, the intake screen off) gets N distinct text examples published as
messages (not timed); then one ``run_cycle`` reads them all, writes them to ``data/ingested/``,
commits the snapshot and acknowledges the transport. Its wall time gives examples/s. Target:
>= 5,000 labelled examples/s on 2 cores for each. Prints a markdown table (median of --repeat).

    .venv/bin/python bench/ingest.py [--n 100000] [--repeat 3] [--only redis|kafka|nats]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from lifelong.pipelines.loop import run_cycle
from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.testing.cli import champion_project
from lifelong.testing.transports import (
    KafkaMock,
    KafkaTransport,
    NatsTransport,
    RedisTransport,
    Transport,
)

INTENTS = ("greet", "goodbye", "thank_you", "order_status")


def _payloads(n: int, run: int) -> list[bytes]:
    import json

    return [
        json.dumps(
            {
                "text": f"run {run} message {i} about item {i * 7919 % 1000}",
                "intent": INTENTS[i % 4],
            }
        ).encode()
        for i in range(n)
    ]


def _publish(transport: Transport, payloads: list[bytes]) -> None:
    if isinstance(transport, RedisTransport):
        import json

        transport.publish([json.loads(p) for p in payloads])
    else:
        transport.publish_many(payloads)  # type: ignore[attr-defined]


def measure(
    transport: Transport, n: int, run: int, scratch: Path
) -> tuple[float, dict[str, float]]:
    """Seconds of one cycle ingesting ``n`` messages, and its stage durations."""
    project, config = champion_project(scratch / f"{transport.kind}-{run}")
    config["sources"] = [transport.spec(count=n)]
    (project.root / "config.yml").write_text(yaml.safe_dump(config))
    project = Project.load(project.root)
    _publish(transport, _payloads(n, run))
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        start = time.perf_counter()
        result = run_cycle(project, registry)
        seconds = time.perf_counter() - start
    assert result.outcome == "nothing", result.error
    assert result.data["new"] == n, result.data
    assert transport.unacked() == 0
    return seconds, result.durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["redis", "kafka", "nats"], action="append")
    args = parser.parse_args()
    mock = KafkaMock()
    makers = {
        "Redis Streams": lambda: RedisTransport("redis://127.0.0.1:6379/0"),
        "Kafka (mock cluster)": lambda: KafkaTransport(mock),
        "NATS JetStream": lambda: NatsTransport("nats://127.0.0.1:4222", ack_wait=30.0),
    }
    rows = []
    scratch = Path(tempfile.mkdtemp(prefix="lifelong-bench-ingest-"))
    try:
        for name, make in makers.items():
            if args.only and name.split()[0].lower() not in args.only:
                continue
            times, stages = [], []
            for run in range(args.repeat):
                transport = make()
                try:
                    seconds, durations = measure(transport, args.n, run, scratch)
                finally:
                    transport.cleanup()
                times.append(seconds)
                stages.append(durations)
            median = statistics.median(times)
            ingest = statistics.median(s.get("ingest", 0.0) for s in stages)
            snapshot = statistics.median(s.get("snapshot", 0.0) for s in stages)
            rows.append((name, median, ingest, snapshot, args.n / median))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"| transport | cycle s | read+check s | write+snapshot+ack s | examples/s (n={args.n}) |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, median, ingest, snapshot, rate in rows:
        print(f"| {name} | {median:.1f} | {ingest:.1f} | {snapshot:.1f} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
