"""Benchmark: the throughput floor, featurize + train step, with and without each speed-up.

The floor of issue 16 (>= 20k short texts/s of featurizing and training steps on 2 cores) on
CLINC150's training split (``../shared/datasets/clinc150``, 11,976 examples), the default fast
pipeline, batch 64, one pass, in one process, each variant in turn ``--repeat`` times so that a
shared host's drift hits all alike:

- ``memory, torch``: features computed once (timed), then :meth:`Trainer.fit` with RowAdam's
  torch path (``row_adam.COMPILED`` set false for the run);
- ``memory, compiled``: the same with RowAdam's compiled path (the default);
- ``stream, inline``: :func:`train_stream` over the file, each block of batches read, checked
  and featurized between steps (read-ahead off);
- ``stream, read-ahead``: the same with the blocks made by a thread (the default when torch's
  threads leave a core spare; forced here either way).

Examples/s counts training examples over the featurizing and the training loop (the
optimizers' one-off set-up left out; a first, untimed fit imports what it imports); "per CPU
s" divides by the process's CPU seconds instead, which a loaded host sways less than the wall:
over the same span in memory, over the whole call for a stream (its scan, set-up and both
threads of a read-ahead counted, so it only compares streams with each other). The two memory
variants must end with the same weights, bit for bit (checked). ``--profile VARIANT`` runs
that one variant once under cProfile (CPU time) and prints where its time went. Run from the
project root::

    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/throughput.py [--threads 1] [--repeat 3]
    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/throughput.py --profile "memory, torch"
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

import lifelong.training.row_adam as row_adam
import lifelong.training.stream as stream
from lifelong.config import Columns, Pipeline, Splits, Training
from lifelong.data.read import read_paths
from lifelong.data.split import split_examples
from lifelong.data.stream import StreamSource
from lifelong.features import make_featurizer
from lifelong.models import build_model
from lifelong.training.trainer import Trainer

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "clinc150" / "train.jsonl"
Timed = tuple[float, float, int]
"""Wall seconds, CPU seconds and examples trained of one run."""


def memory_run(compiled: bool, batch_size: int, weights: dict[str, torch.Tensor]) -> Timed:
    """Featurize the training split and fit one pass in memory."""
    examples = list(split_examples(read_paths([DATA], Columns()).examples, Splits()).train)
    labels = sorted({e.label for e in examples})
    pipeline = Pipeline()
    featurizer = make_featurizer(pipeline, None)
    targets = torch.tensor([labels.index(e.label) for e in examples])
    available = row_adam.COMPILED
    row_adam.COMPILED = available and compiled
    try:
        torch.manual_seed(0)
        model = build_model(pipeline, len(labels))
        trainer = Trainer(Training(epochs=1, batch_size=batch_size), progress=False)
        wall, cpu = time.perf_counter(), time.process_time()
        features = featurizer.transform([e.text for e in examples])
        fit = trainer.fit(model, features, targets, epochs=1)
        wall = time.perf_counter() - wall - fit.setup_seconds
        cpu = time.process_time() - cpu - fit.setup_seconds
    finally:
        row_adam.COMPILED = available
    weights["compiled" if compiled else "torch"] = model.state_dict()["bag.weight"].clone()
    return wall, cpu, fit.examples_trained


def stream_run(ahead: bool, batch_size: int) -> Timed:
    """One streamed pass over the file (its scan untimed)."""
    source = StreamSource([DATA], Columns(), Splits())
    original = stream.spare_core
    stream.spare_core = lambda: ahead  # forced either way, whatever the threads
    try:
        cpu = time.process_time()
        outcome = stream.train_stream(
            source,
            pipeline=Pipeline(),
            training=Training(epochs=1, batch_size=batch_size, patience=1),
            progress=False,
        )
        cpu = time.process_time() - cpu
    finally:
        stream.spare_core = original
    timings = outcome.report["timings"]
    wall = timings["train_s"] - timings["setup_s"]
    return wall, cpu, outcome.report["examples_trained"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--profile", help="a variant's name: profile one run of it")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    weights: dict[str, torch.Tensor] = {}
    variants: dict[str, Callable[[], Timed]] = {
        "memory, torch": lambda: memory_run(False, args.batch_size, weights),
        "memory, compiled": lambda: memory_run(True, args.batch_size, weights),
        "stream, inline": lambda: stream_run(False, args.batch_size),
        "stream, read-ahead": lambda: stream_run(True, args.batch_size),
    }
    memory_run(True, args.batch_size, {})  # imports and first-use costs, untimed
    if args.profile:
        profile = cProfile.Profile(time.process_time)
        wall, cpu, n = profile.runcall(variants[args.profile])
        print(f"{args.profile}: {n / wall:,.0f} ex/s, {n / cpu:,.0f} per CPU s (profiled)")
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)
        return
    runs: dict[str, list[Timed]] = {name: [] for name in variants}
    for _ in range(args.repeat):
        for name, variant in variants.items():
            runs[name].append(variant())
            wall, cpu, n = runs[name][-1]
            print(f"{name:<20} {n / wall:>9,.0f} ex/s {n / cpu:>9,.0f} per CPU s", flush=True)
        assert torch.equal(weights["torch"], weights["compiled"]), "weights differ"
    print(
        f"\nbatch {args.batch_size}, {args.threads} torch thread(s), medians of {args.repeat}, "
        f"load average {os.getloadavg()[0]:.1f} at the end; memory weights equal bit for bit\n"
        "variant               examples/s  per CPU s"
    )
    for name, timed in runs.items():
        wall = statistics.median(n / w for w, _, n in timed)
        cpu = statistics.median(n / c for _, c, n in timed)
        print(f"{name:<20} {wall:>11,.0f} {cpu:>10,.0f}")


if __name__ == "__main__":
    main()
