"""Benchmark of data-parallel training: ``--nproc 2`` (torchrun, gloo) against one process.

Each run trains the ``fast`` pipeline cold on CLINC150's in-scope training set (15,000 texts,
150 intents; early stopping on its valid set) through :mod:`lifelong.testing.ddp_worker` and
scores the test set. Configurations: one process on 1 and on 2 intra-op threads, and two
processes of one thread each, with the sparse n-gram gradients averaged by DDP itself or by the
all-gather path (the one NCCL needs). Runs are interleaved (config by config, repeat by repeat)
so all see the same state of a shared machine. The figures are medians over ``--repeat`` runs:
training examples per second (all ranks together, featurization excluded; the training
loop's setup, DDP's construction included, is also shown alone), the wall time of
the whole command (process start, data read, featurization of every text on every rank, training,
scoring) and test accuracy. Prints a markdown table and writes ``bench/out/distributed.md``.

``--finetune`` measures an update instead (``lifelong train --nproc 2 --finetune``): a parent is
trained once, cold, in one process, on the 120 first intents' examples (sorted by name); each
run then fine-tunes it (``finetune`` config defaults: warm start, all data, ``ceil(epochs x
0.2)`` epochs) on all 150 intents' (30 new ones: head surgery, oversampling, imprinting), one
process of one thread against two of one thread each (DDP's sparse all-reduce). Writes
``bench/out/distributed_finetune.md``.

    PYTHONPATH=src python bench/distributed.py [--repeat 3] [--epochs 3] [--finetune]
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


FINETUNE_CONFIGS = {
    name: CONFIGS[name]
    for name in ("1 process, 1 thread", "2 processes x 1 thread, DDP sparse all-reduce")
}
OLD_INTENTS = 120


def one_run(
    procs: int,
    threads: int,
    sparse: str | None,
    args: argparse.Namespace,
    data: tuple[Path, Path],
    parent: Path | None = None,
) -> dict[str, Any]:
    """Train once (a fine-tune of ``parent`` if given) on ``data`` (train, valid); rank 0's
    figures plus the command's wall time."""
    pipeline = {"ngrams": {"buckets": args.buckets, "dim": args.dim}, "hidden": args.hidden}
    training = {"epochs": args.epochs, "patience": args.epochs}  # every run: the same steps
    with tempfile.TemporaryDirectory() as tmp:
        worker = [
            *("--data", str(data[0]), "--valid", str(data[1])),
            *("--test", str(DATA / "test.jsonl"), "--out", tmp, "--threads", str(threads)),
            *("--pipeline", json.dumps(pipeline), "--training", json.dumps(training)),
            *([] if sparse is None else ["--sparse-sync", sparse]),
            *([] if parent is None else ["--parent", str(parent)]),
        ]
        module = "lifelong.testing.ddp_worker"
        torchrun = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}"]
        start = [*torchrun, "--module", module] if procs > 1 else ["-m", module]
        command = [sys.executable, *start, *worker]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        started = time.perf_counter()
        done = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
        if done.returncode != 0:  # the workers' own error, not only torchrun's summary
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-6000:]}")
        wall = time.perf_counter() - started
        figures: dict[str, Any] = json.loads((Path(tmp) / "rank0.json").read_text())
    return {**figures, "wall_s": wall}


def _old_intents(folder: Path) -> tuple[Path, Path]:
    """The parent's data: CLINC150's train and valid examples of the first ``OLD_INTENTS``
    intents, written under ``folder``."""
    lines = (DATA / "train.jsonl").read_text(encoding="utf-8").splitlines()
    old = set(sorted({json.loads(line)["intent"] for line in lines})[:OLD_INTENTS])
    written = []
    for split in ("train", "valid"):
        rows = (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        path = folder / f"old_{split}.jsonl"
        kept = [row for row in rows if json.loads(row)["intent"] in old]
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
        written.append(path)
    return written[0], written[1]


def _parent(args: argparse.Namespace, folder: Path) -> Path:
    """Train the fine-tunes' parent once (one process, one thread); its bundle folder."""
    pipeline = {"ngrams": {"buckets": args.buckets, "dim": args.dim}, "hidden": args.hidden}
    training = {"epochs": args.epochs, "patience": args.epochs}
    train, valid = _old_intents(folder)
    worker = [
        *("--data", str(train), "--valid", str(valid), "--out", str(folder / "parent")),
        *("--threads", "1", "--pipeline", json.dumps(pipeline), "--training", json.dumps(training)),
    ]
    command = [sys.executable, "-m", "lifelong.testing.ddp_worker", *worker]
    subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=True)
    return folder / "parent" / "rank0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--buckets", type=int, default=65536)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--finetune", action="store_true", help="time an update of a parent")
    args = parser.parse_args()
    configs = FINETUNE_CONFIGS if args.finetune else CONFIGS
    data = (DATA / "train.jsonl", DATA / "valid.jsonl")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp:
        parent = _parent(args, Path(tmp)) if args.finetune else None
        for repeat in range(args.repeat):
            for name, config in configs.items():
                runs[name].append(one_run(*config, args, data, parent))
                last = runs[name][-1]
                print(
                    f"# repeat {repeat + 1} {name}: {last['examples_per_s']:.0f} ex/s, "
                    f"accuracy {last['test_accuracy']:.4f}",
                    file=sys.stderr,
                )
    baseline = statistics.median(r["examples_per_s"] for r in runs["1 process, 1 thread"])
    reference = "1 process, 1 thread" if args.finetune else "1 process, 2 threads"
    one_accuracy = statistics.median(r["test_accuracy"] for r in runs[reference])
    epochs_run = statistics.median(r["report"]["epochs_run"] for r in runs[reference])
    what = (
        f"fine-tune of a parent trained on {OLD_INTENTS} intents, {epochs_run:g} epoch(s)"
        if args.finetune
        else f"{args.epochs} epochs"
    )
    lines = [
        f"CLINC150 (15,000 train / 4,500 test), {what}, table {args.buckets} x "
        f"{args.dim}, hidden {args.hidden}; median of {args.repeat} runs",
        "",
        "| configuration | train examples/s | vs 1 process, 1 thread | train setup s | wall s "
        "| test accuracy | vs 1 process |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, results in runs.items():
        speed = statistics.median(r["examples_per_s"] for r in results)
        accuracy = statistics.median(r["test_accuracy"] for r in results)
        wall = statistics.median(r["wall_s"] for r in results)
        setup = statistics.median(r["report"]["timings"]["setup_s"] for r in results)
        lines.append(
            f"| {name} | {speed:,.0f} | {speed / baseline:.2f}x | {setup:.1f} | {wall:.1f} "
            f"| {accuracy:.4f} | {100 * (accuracy - one_accuracy):+.2f} pt |"
        )
    table = "\n".join(lines)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    name = "distributed_finetune.md" if args.finetune else "distributed.md"
    (OUT / name).write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
