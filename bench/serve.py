"""Benchmark of ``lifelong serve``: latency, throughput, batch rate, hot swap under load.

Trains a fast-pipeline model on CLINC150's in-scope training set (read by path, never copied),
registers it in a scratch project, starts ``lifelong serve`` on 127.0.0.1 and drives it from a
second process (an asyncio httpx load generator), so client and server do not share an
interpreter. Prints a markdown table and writes ``bench/out/serve.png`` and ``serve.md``.

    PYTHONPATH=src python bench/serve.py [--duration 8] [--repeat 3] [--minilm] [--only batch]

Single-text and batch scenarios run twice: with an httpx AsyncClient generator and with a
minimal raw HTTP/1.1 client (httpx's own cost per request is several times the server's here).
Each scenario runs ``--repeat`` times and the median of each figure is reported, with the
server's CPU time (user + system, from ``/proc``) per 1000 texts: on a shared machine that
figure moves far less than the wall-clock rates. Targets on 2
cores, fast pipeline without MiniLM: p99 <= 10 ms at concurrency 1, >= 1000 req/s at
concurrency 32, >= 20000 texts/s in batches; hot swap: 20 promotions in 30 s with no failed
request and every response's version champion at some moment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml

if TYPE_CHECKING:  # the load generator runs this file too: it imports no server code
    from lifelong.serving.process import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATA = ROOT.parent / "shared" / "datasets" / "clinc150"
TEXTS = [
    "what is the weather like in paris",
    "transfer 100 dollars from checking to savings",
    "set an alarm for 6 am tomorrow",
    "how do i say thank you in french",
    "what is my credit score",
    "play some jazz music",
    "book a table for four at 8 pm",
    "i lost my credit card what should i do",
]
BATCH = 256
SCENARIOS = ("single", "batch", "swap")


# -- load generator (runs in its own process) ----------------------------------------------


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams.

    httpx's async pool costs several times the server's own work per request on this machine
    (and adds a long latency tail at 32 connections), so a run with this client shows what the
    server can do when the generator is not the bottleneck. One connection per task.
    """

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, payload: Any) -> tuple[int, Any]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        body = json.dumps(payload).encode()
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
        writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        length = next(
            int(x.split(b":")[1]) for x in lines if x.lower().startswith(b"content-length")
        )
        return int(lines[0].split()[1]), json.loads(await reader.readexactly(length))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(
    url: str, concurrency: int, duration: float, batch: int, kind: str, server_pid: int
) -> dict[str, Any]:
    latencies: list[float] = []
    events: list[tuple[float, int, str | None]] = []
    failed = 0
    body = {"texts": (TEXTS * (batch // len(TEXTS) + 1))[:batch]} if batch else None
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:

        async def post_httpx(path: str, payload: Any) -> tuple[int, Any]:
            answer = await http.post(path, json=payload)
            return answer.status_code, answer.json()

        async def client(n: int, until: float, record: bool) -> None:
            nonlocal failed
            post = RawClient(url).post if kind == "raw" else post_httpx
            i = n
            while time.perf_counter() < until:
                i += 1
                payload = body or {"text": TEXTS[i % len(TEXTS)]}
                started = time.perf_counter()
                try:
                    status, answer = await post("/predict", payload)
                except (httpx.HTTPError, OSError, asyncio.IncompleteReadError):
                    failed += record
                    continue
                elapsed = time.perf_counter() - started
                if not record:
                    continue
                failed += status != 200
                latencies.append(elapsed)
                events.append((time.time(), status, answer["version"] if status == 200 else None))

        warm = time.perf_counter() + min(2.0, duration / 4)
        await asyncio.gather(*(client(n, warm, False) for n in range(concurrency)))
        started, cpu_before = time.perf_counter(), cpu_seconds(server_pid)
        until = started + duration
        await asyncio.gather(*(client(n, until, True) for n in range(concurrency)))
        wall, cpu = time.perf_counter() - started, cpu_seconds(server_pid) - cpu_before
    latencies.sort()
    count = len(latencies)
    texts = count * max(batch, 1)
    return {
        "requests": count,
        "failed": failed,
        "rps": count / wall,
        "texts_per_s": texts / wall,
        "cpu_ms_per_1k": 1e6 * cpu / texts if texts else None,
        "p50_ms": 1000 * latencies[count // 2] if count else None,
        "p99_ms": 1000 * latencies[min(count - 1, int(count * 0.99))] if count else None,
        "events": events,
    }


def load_command(
    url: str, concurrency: int, duration: float, batch: int, kind: str, server_pid: int
) -> list[str]:
    """The command line of a load generator process (see ``_load``)."""
    figures = [url, str(concurrency), str(duration), str(batch), kind, str(server_pid)]
    return [sys.executable, __file__, "load", *figures]


def run_load(
    url: str, concurrency: int, duration: float, batch: int, kind: str, server_pid: int
) -> dict[str, Any]:
    """Run the load generator in a second process and return its figures."""
    command = load_command(url, concurrency, duration, batch, kind, server_pid)
    result = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=duration + 120
    )
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


# -- setup: model, project, server -----------------------------------------------------------


def read_jsonl(path: Path) -> list[Any]:
    from lifelong.core.types import Example

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [Example.make(row["text"], row["intent"]) for row in rows]


def train_bundle(folder: Path, minilm: bool, epochs: int) -> None:
    """Train on CLINC150 in-scope (default fast pipeline) and save the bundle in ``folder``."""
    from lifelong.config import Pipeline, Training
    from lifelong.training import train

    pipeline = Pipeline(embeddings="minilm" if minilm else None)
    started = time.perf_counter()
    outcome = train(
        read_jsonl(DATA / "train.jsonl"),
        read_jsonl(DATA / "valid.jsonl"),
        pipeline=pipeline,
        training=Training(epochs=epochs),
        progress=False,
    )
    accuracy = outcome.report["valid_accuracy"]
    print(f"trained in {time.perf_counter() - started:.1f}s, valid accuracy {accuracy:.3f}")
    outcome.bundle.save(folder)


def make_project(folder: Path, bundle: Path) -> None:
    """A scratch project with ``bundle`` registered as 1.0 and 2.0, champion 1.0."""
    from lifelong.registry import open_registry

    config = {
        "store": {"url": "sqlite:///.lifelong/registry.db", "artifacts": ".lifelong/artifacts"},
        "server": {"poll_interval": 0.2, "max_batch": BATCH},
    }
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    registry = open_registry(
        f"sqlite:///{folder / '.lifelong' / 'registry.db'}", folder / ".lifelong" / "artifacts"
    )
    with registry:
        snap = registry.put_snapshot(read_jsonl(DATA / "valid.jsonl")[:10]).id
        registry.register(bundle, snapshot_id=snap, config={})
        registry.register(bundle, snapshot_id=snap, config={})
        registry.set_alias("champion", "1.0", reason="bench", command="bench/serve.py")


def start_server(folder: Path, token: str) -> ServerProcess:
    from lifelong.core.errors import LifelongError
    from lifelong.serving.process import ServerProcess

    env = {
        "PYTHONPATH": str(ROOT / "src"),
        "LIFELONG_ADMIN_TOKEN": token,
        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
    }
    log = (folder / "server.log").open("ab")
    try:
        return ServerProcess(folder, output=log, env=env).start(timeout=120)
    except LifelongError as error:
        raise SystemExit(f"{error}:\n{(folder / 'server.log').read_text()[-3000:]}") from None


# -- scenarios --------------------------------------------------------------------------------


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("requests", "rps", "texts_per_s", "p50_ms", "p99_ms", "cpu_ms_per_1k")
    merged = {k: statistics.median(r[k] for r in runs) for k in keys}
    merged["failed"] = sum(r["failed"] for r in runs)
    return merged


def hot_swap(
    folder: Path, url: str, token: str, duration: float, promotions: int, server_pid: int
) -> dict[str, Any]:
    """Promote ``promotions`` times during a ``duration`` load run; check every response."""
    from lifelong.registry import open_registry

    command = load_command(url, 8, duration, 0, "httpx", server_pid)
    load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    moves: list[tuple[float, str]] = [(0.0, "1.0")]
    registry = open_registry(
        f"sqlite:///{folder / '.lifelong' / 'registry.db'}", folder / ".lifelong" / "artifacts"
    )
    time.sleep(2.5)  # the generator's warm-up
    gap = (duration - 2) / promotions
    with registry, httpx.Client(base_url=url, timeout=30) as http:
        for n in range(promotions):
            version = "2.0" if n % 2 == 0 else "1.0"
            moves.append((time.time(), version))
            if n % 2:  # half through the store (followed by polling), half over HTTP
                http.post(
                    "/admin/promote",
                    json={"version": version, "reason": "bench"},
                    headers={"Authorization": f"Bearer {token}"},
                ).raise_for_status()
            else:
                registry.set_alias("champion", version, reason="bench", command="bench/serve.py")
            time.sleep(gap)
    out, _ = load.communicate(timeout=duration + 120)
    figures: dict[str, Any] = json.loads(out)
    wrong = 0
    for received, _status, version in figures["events"]:
        if version is not None and version not in {v for at, v in moves if at <= received}:
            wrong += 1
    versions = sorted({v for _, _, v in figures["events"] if v})
    return {**figures, "promotions": promotions, "wrong_version": wrong, "versions": versions}


def render(rows: list[tuple[str, dict[str, Any]]], swap: dict[str, Any] | None) -> str:
    lines = [
        "| scenario | requests | req/s | texts/s | p50 ms | p99 ms | server CPU ms / 1k texts "
        "| failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    named = [(name, r, str(r["failed"])) for name, r in rows]
    if swap is not None:
        checks = f"{swap['failed']} (wrong version: {swap['wrong_version']})"
        named.append((f"hot swap: {swap['promotions']} promotions, c=8", swap, checks))
    for name, r, failed in named:
        lines.append(
            f"| {name} | {r['requests']:.0f} | {r['rps']:.0f} | {r['texts_per_s']:.0f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['cpu_ms_per_1k']:.0f} | {failed} |"
        )
    return "\n".join(lines)


def plot(rows: list[tuple[str, dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    single = [(n, r) for n, r in rows if n.startswith("single")]
    if not single:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    names = [n.split(", ")[1].replace(" client)", ")") for n, _ in single]
    left.bar(names, [r["p50_ms"] for _, r in single], label="p50")
    left.bar(
        names,
        [r["p99_ms"] - r["p50_ms"] for _, r in single],
        bottom=[r["p50_ms"] for _, r in single],
        label="p99",
    )
    left.set_ylabel("latency (ms)")
    left.set_title("single-text /predict latency")
    left.legend()
    right.bar(names, [r["rps"] for _, r in single])
    right.set_ylabel("requests/s")
    right.set_title("single-text throughput")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measured run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (median kept)")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the model")
    parser.add_argument("--swap-seconds", type=float, default=30.0)
    parser.add_argument("--promotions", type=int, default=20)
    parser.add_argument("--minilm", action="store_true", help="add MiniLM embeddings (slow)")
    parser.add_argument(
        "--model", type=Path, help="saved bundle folder: trained and saved there if missing"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SCENARIOS,
        help="run only these scenarios (repeatable); default: all",
    )
    parser.add_argument("--client", action="append", choices=("httpx", "raw"), help="default: both")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    token = "bench-token"
    with tempfile.TemporaryDirectory(prefix="lifelong-bench-") as scratch:
        folder = Path(scratch)
        bundle = args.model or folder / "bundle"
        if not bundle.exists():
            train_bundle(bundle, args.minilm, args.epochs)
        make_project(folder, bundle)
        server = start_server(folder, token)
        url = server.url
        assert server.process is not None
        pid = server.process.pid
        try:
            only = set(args.only or SCENARIOS)
            scenarios = []
            if "single" in only:
                scenarios += [(f"single text, c={c}", c, 0) for c in (1, 8, 32)]
            if "batch" in only:
                scenarios.append((f"batches of {BATCH}, c=2", 2, BATCH))
            rows = []
            for kind in args.client or ("httpx", "raw"):
                for name, concurrency, batch in scenarios:
                    runs = [
                        run_load(url, concurrency, args.duration, batch, kind, pid)
                        for _ in range(args.repeat)
                    ]
                    rows.append((f"{name} ({kind} client)", median_of(runs)))
                    print(rows[-1][0], {k: round(v, 2) for k, v in rows[-1][1].items()}, flush=True)
            swap = None
            if "swap" in only:
                swap = hot_swap(folder, url, token, args.swap_seconds, args.promotions, pid)
        finally:
            server.stop()
    table = render(rows, swap)
    print(table)
    (OUT / "serve.md").write_text(table + "\n")
    plot(rows, OUT / "serve.png")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        url, concurrency, duration, batch, kind, pid = sys.argv[2:8]
        figures = _load(url, int(concurrency), float(duration), int(batch), kind, int(pid))
        print(json.dumps(asyncio.run(figures)))
    else:
        main()
