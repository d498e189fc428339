"""Benchmark: memory and throughput of training as data grows, streamed against in memory.

Text data (``--task text``, the default) is CLINC150's training file
(``../shared/datasets/clinc150``, 15,000 rows) grown ``k`` times by noised copies: copy
``j > 0`` of a row drops one of its words at random and inserts a filler word, so every copy is
a new example with a new hash (a data set ``k`` times larger with the same label balance, not
the same rows repeated). Tabular data (``--task tabular``) is River's Agrawal generator (9
loan-applicant columns, a binary class; ``--tabular-rows`` rows at 1x) written to CSV, ``k``
times as many rows drawn for size ``k``. For each size each mode trains in a fresh process, so
its peak RSS is its own:

- ``stream``: :func:`lifelong.training.stream.train_stream` over the file (chunks, a bounded
  shuffle buffer, features a block at a time; a tabular file is typed and its column statistics
  fitted a chunk at a time);
- ``memory``: the file read whole, split, featurized once and trained by
  :func:`lifelong.training.train` (what ``lifelong train`` does).

Both train the task's default pipeline, fast or tabular (``--batch-size`` rows a step,
``--epochs`` passes, no early stop: patience is raised so every run makes the same number of
passes). Examples/s
counts training examples times passes over the whole run: reading, checking, featurizing and
stepping (and, for ``stream``, the scan). ``--big N`` also trains on ``N`` rows under an
address-space cap (``RLIMIT_AS``) and writes its RSS curve as PNG. ``--resume`` kills a
streamed 1x run with SIGKILL at three points (a quarter, half and four fifths of its steps),
resumes each from its last checkpoint and compares it with the uninterrupted run.

"Fit examples/s" is the throughput floor's figure: training examples times passes over the
featurizing and the training loop only (for ``stream`` that loop reads and featurizes its
batches as it goes; for ``memory`` the one featurizing call of the run is added), without the
process's start, the whole-file read and split, the optimizers' set-up and what follows the
last step. ``--baseline-src DIR`` runs every training once more with another tree's ``src``
(``git worktree add /tmp/base COMMIT``, its compiled module copied in), ``--repeat`` times in
turn with this tree's, so that a shared host's drift hits both alike; the table shows medians.
Run from the project root::

    PYTHONPATH=src python bench/scale.py [--factors 1 4 16] [--big 5000000 --cap-mb 3000]
    PYTHONPATH=src python bench/scale.py --factors 1 4 --repeat 3 --baseline-src /tmp/base/src
    PYTHONPATH=src python bench/scale.py --task tabular [--tabular-rows 100000]
    PYTHONPATH=src python bench/scale.py --factors --resume
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lifelong.core.crashpoint import CRASH_ENV

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
FILLER = ["please", "now", "quickly", "today", "so", "hey", "ok", "just", "kindly", "again"]


def grow(source: Path, rows: int, out: Path, seed: int = 0) -> Path:
    """Write ``rows`` rows to ``out``: ``source``'s rows, then noised copies of them."""
    base = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    rng = random.Random(seed)
    with out.open("w") as handle:
        for i in range(rows):
            row = base[i % len(base)]
            text = row["text"]
            if i >= len(base):
                words = text.split()
                if len(words) > 2:
                    words.pop(rng.randrange(len(words)))
                words.insert(rng.randrange(len(words) + 1), rng.choice(FILLER))
                words.append(f"{rng.choice(FILLER)}{i // len(base)}")
                text = " ".join(words)
            handle.write(json.dumps({"text": text, "intent": row["intent"]}) + "\n")
    return out


def agrawal(rows: int, out: Path, seed: int = 0) -> Path:
    """Write ``rows`` rows of River's Agrawal generator to ``out`` as CSV (the class is column
    ``class``); each row is drawn afresh, so a larger file holds new rows, not copies."""
    from river.datasets import synth

    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        names: list[str] = []
        for x, y in synth.Agrawal(classification_function=2, seed=seed).take(rows):
            if not names:
                names = list(x)
                writer.writerow([*names, "class"])
            writer.writerow([*(round(x[k], 2) for k in names), y])
    return out


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Train once in this process; what it measured."""
    import torch

    from lifelong.config import Columns, Pipeline, Splits, Training
    from lifelong.data.read import read_paths
    from lifelong.data.split import split_examples
    from lifelong.data.stream import StreamSource
    from lifelong.training import train
    from lifelong.training.checkpoint import Checkpointer
    from lifelong.training.stream import train_stream

    torch.set_num_threads(args.threads)
    training = Training(epochs=args.epochs, batch_size=args.batch_size, patience=args.epochs)
    splits, path = Splits(), Path(args.data)
    pipeline, columns = Pipeline(), Columns()
    if args.task == "tabular":
        pipeline, columns = Pipeline(name="tabular"), Columns(target="class")
    started = time.perf_counter()
    checkpoint = Checkpointer(Path(args.checkpoint), args.every) if args.checkpoint else None
    if args.mode == "stream":
        source = StreamSource([path], columns, splits)
        outcome = train_stream(
            source, pipeline=pipeline, training=training, progress=False, checkpoint=checkpoint
        )
    else:
        data = split_examples(read_paths([path], columns).examples, splits)
        outcome = train(
            list(data.train), list(data.valid), pipeline=pipeline, training=training, progress=False
        )
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = outcome.report
    timings = report["timings"]
    fit_seconds = timings.get("featurize_s", 0.0) + timings["train_s"] - timings["setup_s"]
    return {
        "mode": args.mode,
        "n_train": report["n_train"],
        "seconds": seconds,
        "examples_per_s": report["n_train"] * report["epochs_run"] / seconds,
        "fit_examples_per_s": report["examples_trained"] / fit_seconds,
        # per second of CPU over the whole process: less swayed by a loaded host than the wall
        "examples_per_cpu_s": report["examples_trained"] / (usage.ru_utime + usage.ru_stime),
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "valid_accuracy": report["valid_accuracy"],
        "examples_trained": report["examples_trained"],
        "resumed_from_step": report["resumed_from_step"],
    }


def resume_check(data: Path, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    """Streamed trainings killed by SIGKILL at three points, each resumed from its last
    checkpoint, against the uninterrupted run."""
    whole = run("stream", data, args)
    steps = whole["examples_trained"] // args.batch_size
    rows = [{"kill_at": None, **whole}]
    for fraction in (0.25, 0.5, 0.8):
        kill_at = int(steps * fraction) + 3  # a few steps past a checkpoint
        folder = tmp / f"checkpoint-{kill_at}"
        extra = ["--checkpoint", str(folder), "--every", str(args.every)]
        killed = run("stream", data, args, extra=extra, env={CRASH_ENV: f"step:{kill_at}"})
        assert killed.get("failed") == -9, killed
        resumed = run("stream", data, args, extra=extra)
        rows.append({"kill_at": kill_at, **resumed})
    return rows


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(
    mode: str,
    data: Path,
    args: argparse.Namespace,
    cap_mb: int | None = None,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    src: Path | None = None,
) -> dict[str, Any]:
    """One training in a fresh process (under ``cap_mb`` of address space, with ``src`` first
    on its ``PYTHONPATH`` if given), its RSS sampled."""
    command = [sys.executable, __file__, "--worker", mode, "--data", str(data)]
    command += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    command += ["--threads", str(args.threads), "--task", args.task, *extra]

    def limit() -> None:
        if cap_mb is not None:
            resource.setrlimit(resource.RLIMIT_AS, (cap_mb << 20, cap_mb << 20))

    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if env else None,
        text=True,
        preexec_fn=limit,
        env={**os.environ, **(env or {}), **({"PYTHONPATH": str(src)} if src else {})},
    )
    curve: list[tuple[float, float]] = []
    started = time.perf_counter()

    def sample() -> None:
        while process.poll() is None:
            rss = _rss_mb(process.pid)
            if rss is not None:
                curve.append((time.perf_counter() - started, rss))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    sampler.join()
    if process.returncode != 0:
        return {"mode": mode, "failed": process.returncode, "curve": curve}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["curve"] = curve
    return result


def plot(curve: list[tuple[float, float]], cap_mb: int | None, title: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.5))
    axis.plot([t for t, _ in curve], [r for _, r in curve], label="RSS")
    if cap_mb is not None:
        axis.axhline(cap_mb, color="red", linestyle="--", label=f"address-space cap {cap_mb} MB")
    axis.set_xlabel("seconds")
    axis.set_ylabel("MB")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int, nargs="*", default=[1, 4, 16])
    parser.add_argument("--task", choices=["text", "tabular"], default="text")
    parser.add_argument(
        "--tabular-rows", type=int, default=100_000, help="Agrawal rows at 1x (--task tabular)"
    )
    parser.add_argument("--modes", nargs="+", default=["stream", "memory"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--big", type=int, default=0, help="rows of the capped run (0: none)")
    parser.add_argument("--cap-mb", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument(
        "--resume", action="store_true", help="kill -9 a 1x streamed run at 3 points, resume"
    )
    parser.add_argument("--every", type=int, default=50, help="steps between checkpoints")
    parser.add_argument("--baseline-src", type=Path, help="another tree's src folder")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each training")
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=["stream", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.mode = args.worker
        print(json.dumps(worker(args)))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    source = DATASETS / "clinc150" / "train.jsonl"
    tabular = args.task == "tabular"
    base_rows = (
        args.tabular_rows
        if tabular
        else sum(1 for line in source.read_text().splitlines() if line.strip())
    )
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:

        def data_file(rows: int, name: str) -> Path:
            if tabular:
                return agrawal(rows, Path(tmp) / f"{name}.csv")
            return grow(source, rows, Path(tmp) / f"{name}.jsonl")

        trees: dict[str, Path | None] = {"this tree": None}
        if args.baseline_src:
            trees["baseline"] = args.baseline_src.resolve()
        for factor in args.factors:
            data = data_file(base_rows * factor, f"x{factor}")
            for _ in range(args.repeat):
                for tree, src in trees.items():
                    for mode in args.modes:
                        result = run(mode, data, args, src=src)
                        result.update(factor=factor, tree=tree)
                        results.append(result)
                        print(_row(result), flush=True)
        resumed = None
        if args.resume:
            data = data_file(base_rows, "resume")
            resumed = resume_check(data, args, Path(tmp))
        big = None
        if args.big:
            data = data_file(args.big, "big")
            big = run("stream", data, args, cap_mb=args.cap_mb)
            big["rows"] = args.big
            big["file_mb"] = data.stat().st_size / 2**20
            png = args.out / ("scale-rss.png" if args.task == "text" else "scale-rss-tabular.png")
            plot(big["curve"], args.cap_mb, f"streamed training on {args.big:,} rows", png)
            big["plot"] = str(png)
    _table(_medians(results), args)
    if big is not None:
        print(
            f"\ncapped run: {big['rows']:,} rows ({big['file_mb']:.0f} MB of {args.task} data) "
            "under "
            f"RLIMIT_AS {args.cap_mb} MB: "
            + (
                f"FAILED (exit {big['failed']})"
                if "failed" in big
                else f"completed in {big['seconds']:.0f} s, peak RSS {big['peak_rss_mb']:.0f} MB, "
                f"{big['examples_per_s']:,.0f} examples/s, valid {big['valid_accuracy']:.4f}; "
                f"RSS curve {big['plot']}"
            )
        )
    if resumed is not None:
        print(f"\nkill -9 and --resume (checkpoint every {args.every} steps)")
        print("killed at step  resumed from  examples trained  valid acc")
        for row in resumed:
            print(
                f"{row['kill_at'] or '(not killed)':>14}  {row['resumed_from_step'] or '-':>12}  "
                f"{row['examples_trained']:>16,}  {row['valid_accuracy']:.4f}"
            )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (args.out / f"scale-{args.task}-{stamp}.json").write_text(
        json.dumps({"results": results, "big": big, "resume": resumed}, default=str)
    )


def _row(result: dict[str, Any]) -> str:
    head = f"{result['factor']:>3}x {result['mode']:<7} {result['tree']:<10}"
    if "failed" in result:
        return f"{head} FAILED (exit {result['failed']})"
    return (
        f"{head} {result['n_train']:>9,} {result['peak_rss_mb']:>9.0f} "
        f"{result['examples_per_s']:>11,.0f} {result['fit_examples_per_s']:>9,.0f} "
        f"{result['examples_per_cpu_s']:>9,.0f} {result['valid_accuracy']:>8.4f}"
    )


MEASURES = (
    "peak_rss_mb",
    "examples_per_s",
    "fit_examples_per_s",
    "examples_per_cpu_s",
    "valid_accuracy",
)


def _medians(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per size, mode and tree: the median of each measure over its runs (a row that
    failed once is shown failed)."""
    groups: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault((result["factor"], result["mode"], result["tree"]), []).append(result)
    rows = []
    for runs in groups.values():
        failed = [r for r in runs if "failed" in r]
        if failed:
            rows.append(failed[0])
            continue
        rows.append({**runs[0], **{k: statistics.median(r[k] for r in runs) for k in MEASURES}})
    return rows


def _table(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    load = os.getloadavg()[0]
    print(
        f"\n{args.task}, batch {args.batch_size}, {args.epochs} passes, {args.threads} threads, "
        f"medians of {args.repeat} run(s), load average {load:.1f} at the end\n"
        "size mode    tree          n_train  peak RSS MB  examples/s  fit ex/s  ex/CPU s"
        "  valid acc"
    )
    for result in results:
        print(_row(result))
    for mode, tree in {(r["mode"], r["tree"]): None for r in results}:
        done = [r for r in results if r["mode"] == mode and r["tree"] == tree and "failed" not in r]
        if len(done) < 2:
            continue
        first, last = done[0], done[-1]
        print(
            f"{mode} ({tree}): {last['factor']}x/{first['factor']}x peak RSS "
            f"{last['peak_rss_mb'] / first['peak_rss_mb']:.2f}, examples/s "
            f"{last['examples_per_s'] / first['examples_per_s']:.2f} "
            f"(median examples/s {statistics.median(r['examples_per_s'] for r in done):,.0f})"
        )


if __name__ == "__main__":
    main()
