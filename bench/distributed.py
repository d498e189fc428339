"""Benchmark of data-parallel training: ``--nproc 2`` (torchrun, gloo) against one process.

Each run trains the ``fast`` pipeline cold on CLINC150's in-scope training set (15,000 texts,
150 intents; early stopping on its valid set) through :mod:`lifelong.testing.ddp_worker` and
scores the test set. Configurations: one process on 1 and on 2 intra-op threads, and two
processes of one thread each, with the sparse n-gram gradients averaged by DDP itself or by the
all-gather path (the one NCCL needs). Runs are interleaved (config by config, repeat by repeat)
so all see the same state of a shared machine. The figures are medians over ``--repeat`` runs:
training examples per second (all ranks together, featurization excluded), the wall time of
the whole command (process start, data read, featurization of every text on every rank, training,
scoring) and test accuracy. Prints a markdown table and writes ``bench/out/distributed.md``.

    PYTHONPATH=src python bench/distributed.py [--repeat 3] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATA = ROOT.parent / "shared" / "datasets" / "clinc150"

# name -> (processes, threads per process, sparse gradient path)
CONFIGS = {
    "1 process, 1 thread": (1, 1, None),
    "1 process, 2 threads": (1, 2, None),
    "2 processes x 1 thread, DDP sparse all-reduce": (2, 1, "ddp"),
    "2 processes x 1 thread, all-gather sparse": (2, 1, "gather"),
}


def one_run(
    procs: int, threads: int, sparse: str | None, args: argparse.Namespace
) -> dict[str, Any]:
    """Train once; rank 0's figures plus the command's wall time."""
    pipeline = {"ngrams": {"buckets": args.buckets, "dim": args.dim}, "hidden": args.hidden}
    training = {"epochs": args.epochs, "patience": args.epochs}  # every run: the same steps
    with tempfile.TemporaryDirectory() as tmp:
        worker = [
            *("--data", str(DATA / "train.jsonl"), "--valid", str(DATA / "valid.jsonl")),
            *("--test", str(DATA / "test.jsonl"), "--out", tmp, "--threads", str(threads)),
            *("--pipeline", json.dumps(pipeline), "--training", json.dumps(training)),
            *([] if sparse is None else ["--sparse-sync", sparse]),
        ]
        module = "lifelong.testing.ddp_worker"
        torchrun = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}"]
        start = [*torchrun, "--module", module] if procs > 1 else ["-m", module]
        command = [sys.executable, *start, *worker]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - started
        figures: dict[str, Any] = json.loads((Path(tmp) / "rank0.json").read_text())
    return {**figures, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--buckets", type=int, default=65536)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGS}
    for repeat in range(args.repeat):
        for name, config in CONFIGS.items():
            runs[name].append(one_run(*config, args))
            last = runs[name][-1]
            print(
                f"# repeat {repeat + 1} {name}: {last['examples_per_s']:.0f} ex/s, "
                f"accuracy {last['test_accuracy']:.4f}",
                file=sys.stderr,
            )
    baseline = statistics.median(r["examples_per_s"] for r in runs["1 process, 1 thread"])
    one_accuracy = statistics.median(r["test_accuracy"] for r in runs["1 process, 2 threads"])
    lines = [
        f"CLINC150 (15,000 train / 4,500 test), {args.epochs} epochs, table {args.buckets} x "
        f"{args.dim}, hidden {args.hidden}; median of {args.repeat} runs",
        "",
        "| configuration | train examples/s | vs 1 process, 1 thread | wall s | test accuracy "
        "| vs 1 process |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, results in runs.items():
        speed = statistics.median(r["examples_per_s"] for r in results)
        accuracy = statistics.median(r["test_accuracy"] for r in results)
        wall = statistics.median(r["wall_s"] for r in results)
        lines.append(
            f"| {name} | {speed:,.0f} | {speed / baseline:.2f}x | {wall:.1f} | {accuracy:.4f} "
            f"| {100 * (accuracy - one_accuracy):+.2f} pt |"
        )
    table = "\n".join(lines)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "distributed.md").write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
