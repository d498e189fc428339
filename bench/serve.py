"""Benchmark of ``lifelong serve``: latency, throughput, batch rate, hot swap under load.

Trains a fast-pipeline model on CLINC150's in-scope training set (read by path, never copied),
registers it in a scratch project, starts ``lifelong serve`` on 127.0.0.1 and drives it from a
second process (an asyncio httpx load generator), so client and server do not share an
interpreter. Prints a markdown table and writes ``bench/out/serve.png`` and ``serve.md``.

    PYTHONPATH=src python bench/serve.py [--duration 8] [--repeat 3] [--minilm] [--only batch]
        [--baseline REV]

Requests carry CLINC150's test texts in turn (``--texts fixed``: eight fixed texts, as runs
before 2026-12 did, whose words always hit the featurizer's caches). Batches are sent by 2 and
by 4 concurrent clients. Single-text and batch scenarios run with an httpx AsyncClient
generator and with a minimal raw HTTP/1.1 client (httpx's own cost per request is several
times the server's here). Each scenario runs ``--repeat`` times and the median of each figure
is reported, with the server's CPU time (user + system of its process and of its
prediction-log writer, from ``/proc``) per 1000 texts. ``--baseline REV`` also serves git
revision REV (a temporary worktree, same model, its own scratch project) and alternates the
two servers' runs, so both see the same state of a shared, noisy machine. Targets on 2 cores,
fast pipeline without MiniLM: p99 <= 10 ms at concurrency 1, >= 1000 req/s at concurrency 32,
>= 20000 texts/s in batches; hot swap: 20 promotions in 30 s with no failed request and every
response's version champion at some moment.
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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml

if TYPE_CHECKING:  # the load generator runs this file too: it imports no server code
    from lifelong.serving.process import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATA = ROOT.parent / "shared" / "datasets" / "clinc150"
FIXED_TEXTS = [
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


def load_texts(kind: str) -> list[str]:
    """The texts requests carry: CLINC150's test set (5500 distinct, in order) or the 8 fixed
    ones earlier runs used (every word then hits the featurizer's caches)."""
    if kind == "fixed":
        return FIXED_TEXTS
    lines = (DATA / "test.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines]


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
    """User + system CPU seconds so far of process ``pid`` and its descendants (the server's
    prediction-log writer), from Linux ``/proc``; 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in children)


@dataclass(frozen=True)
class Load:
    """One load-generator run: the server, how many clients for how long, what they send.

    ``batch`` is the number of texts per request (0: single-text requests), ``client`` the
    HTTP client (``raw`` or ``httpx``), ``texts`` the corpus (see ``load_texts``).
    """

    url: str
    concurrency: int
    duration: float
    batch: int
    client: str
    server_pid: int
    texts: str = "clinc"

    def command(self) -> list[str]:
        """The command line of a load generator process running this load."""
        return [sys.executable, __file__, "load", json.dumps(asdict(self))]

    def run(self) -> dict[str, Any]:
        """Run this load in a second process and return its figures."""
        result = subprocess.run(
            self.command(), capture_output=True, text=True, check=True, timeout=self.duration + 120
        )
        figures: dict[str, Any] = json.loads(result.stdout)
        return figures


async def generate(load: Load) -> dict[str, Any]:
    """Drive the server as ``load`` says, then return counts, rates, latencies and events."""
    latencies: list[float] = []
    events: list[tuple[float, int, str | None]] = []
    failed = 0
    texts, batch, concurrency = load_texts(load.texts), load.batch, load.concurrency
    cycle = texts * (batch // len(texts) + 2)
    bodies = [{"texts": cycle[i : i + batch]} for i in range(0, len(texts), batch or 1)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=load.url, timeout=30, limits=limits) as http:

        async def post_httpx(path: str, payload: Any) -> tuple[int, Any]:
            answer = await http.post(path, json=payload)
            return answer.status_code, answer.json()

        async def client(n: int, until: float, record: bool) -> None:
            nonlocal failed
            post = RawClient(load.url).post if load.client == "raw" else post_httpx
            i = n
            while time.perf_counter() < until:
                i += 1
                payload = bodies[i % len(bodies)] if batch else {"text": texts[i % len(texts)]}
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

        warm = time.perf_counter() + min(2.0, load.duration / 4)
        await asyncio.gather(*(client(n, warm, False) for n in range(concurrency)))
        started, cpu_before = time.perf_counter(), cpu_seconds(load.server_pid)
        until = started + load.duration
        await asyncio.gather(*(client(n, until, True) for n in range(concurrency)))
        wall, cpu = time.perf_counter() - started, cpu_seconds(load.server_pid) - cpu_before
    latencies.sort()
    count = len(latencies)
    sent = count * max(batch, 1)
    return {
        "requests": count,
        "failed": failed,
        "rps": count / wall,
        "texts_per_s": sent / wall,
        "cpu_ms_per_1k": 1e6 * cpu / sent if sent else None,
        "p50_ms": 1000 * latencies[count // 2] if count else None,
        "p99_ms": 1000 * latencies[min(count - 1, int(count * 0.99))] if count else None,
        "events": events,
    }


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


def start_server(folder: Path, token: str, src: Path = ROOT / "src") -> ServerProcess:
    """``lifelong serve`` on the project in ``folder``, running the code in ``src``."""
    from lifelong.core.errors import LifelongError
    from lifelong.serving.process import ServerProcess

    env = {
        "PYTHONPATH": str(src),
        "LIFELONG_ADMIN_TOKEN": token,
        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
    }
    log = (folder / "server.log").open("ab")
    try:
        return ServerProcess(folder, output=log, env=env).start(timeout=120)
    except LifelongError as error:
        raise SystemExit(f"{error}:\n{(folder / 'server.log').read_text()[-3000:]}") from None


@contextmanager
def baseline_tree(revision: str, scratch: Path) -> Iterator[Path]:
    """A git worktree of ``revision`` in ``scratch`` (removed afterwards): the code the
    ``--baseline`` server runs, measured side by side with this tree's."""
    tree = scratch / "baseline"
    git = ["git", "-C", str(ROOT)]
    subprocess.run([*git, "worktree", "add", "--detach", str(tree), revision], check=True)
    try:
        yield tree
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)


# -- scenarios --------------------------------------------------------------------------------


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("requests", "rps", "texts_per_s", "p50_ms", "p99_ms", "cpu_ms_per_1k")
    merged = {k: statistics.median(r[k] for r in runs) for k in keys}
    merged["failed"] = sum(r["failed"] for r in runs)
    return merged


def hot_swap(
    folder: Path,
    url: str,
    token: str,
    duration: float,
    promotions: int,
    server_pid: int,
    texts: str,
) -> dict[str, Any]:
    """Promote ``promotions`` times during a ``duration`` load run; check every response."""
    from lifelong.registry import open_registry

    command = Load(url, 8, duration, 0, "httpx", server_pid, texts).command()
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
    parser.add_argument(
        "--texts",
        choices=("clinc", "fixed"),
        default="clinc",
        help="CLINC150's 5500 test texts (default) or 8 fixed ones",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also serve git revision REV, runs alternating with this tree's (A/B, same model)",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    token = "bench-token"
    with tempfile.TemporaryDirectory(prefix="lifelong-bench-") as scratch, ExitStack() as stack:
        folder = Path(scratch)
        bundle = args.model or folder / "bundle"
        if not bundle.exists():
            train_bundle(bundle, args.minilm, args.epochs)
        servers = {"": ROOT / "src"}
        if args.baseline:
            servers[f" [baseline {args.baseline}]"] = (
                stack.enter_context(baseline_tree(args.baseline, folder)) / "src"
            )
        running = {}
        for n, (label, src) in enumerate(servers.items()):
            project = folder / f"project{n}"
            project.mkdir()
            make_project(project, bundle)
            running[label] = start_server(project, token, src)
            stack.callback(running[label].stop)
        only = set(args.only or SCENARIOS)
        scenarios = []
        if "single" in only:
            scenarios += [(f"single text, c={c}", c, 0) for c in (1, 8, 32)]
        if "batch" in only:
            scenarios += [(f"batches of {BATCH}, c={c}", c, BATCH) for c in (2, 4)]
        rows = []
        for kind in args.client or ("httpx", "raw"):
            for name, concurrency, batch in scenarios:
                runs: dict[str, list[dict[str, Any]]] = {label: [] for label in running}
                for _ in range(args.repeat):  # alternating, so both see the same machine
                    for label, server in running.items():
                        assert server.process is not None
                        load = Load(
                            server.url,
                            concurrency,
                            args.duration,
                            batch,
                            kind,
                            server.process.pid,
                            args.texts,
                        )
                        runs[label].append(load.run())
                for label, measured in runs.items():
                    rows.append((f"{name} ({kind} client){label}", median_of(measured)))
                    print(rows[-1][0], {k: round(v, 2) for k, v in rows[-1][1].items()}, flush=True)
        swap = None
        if "swap" in only:
            server = running[""]
            assert server.process is not None
            swap = hot_swap(
                folder / "project0",
                server.url,
                token,
                args.swap_seconds,
                args.promotions,
                server.process.pid,
                args.texts,
            )
    table = render(rows, swap)
    print(table)
    (OUT / "serve.md").write_text(table + "\n")
    plot(rows, OUT / "serve.png")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        print(json.dumps(asyncio.run(generate(Load(**json.loads(sys.argv[2]))))))
    else:
        main()
