"""Benchmark: cold vs warm vs shrink-and-perturb vs replay on tabular streams arriving in chunks.

The shrink-and-perturb protocol (Ash & Adams, 2020) on rows of numbers and categories. Each
stream is cut, in order, into ``K`` chunks. At step ``t`` each method holds a model trained on
chunks ``0..t`` and is scored on chunk ``t + 1``, the rows a model deployed after step ``t``
would meet next:

- ``cold``: trained from scratch on every row so far (``training.epochs``);
- ``warm``: the previous step's ``warm`` model fine-tuned on every row so far for half the
  epochs (``finetune: {init: warm, epoch_fraction: 0.5}``);
- ``shrink_perturb``: likewise from ``0.6 * parent + 0.01 * fresh`` (the config defaults);
- ``replay``: the previous ``replay`` model fine-tuned for half the epochs on the new chunk
  plus a replay sample of the old rows as large as a chunk (``data: new+replay``).

Step 0 is the same cold model for every method; means are over the update steps (1 and on).
Streams: Elec2 (real, 45,312 rows in time order, read by path from ``../shared/datasets``),
River's Agrawal generator with two abrupt concept changes (classification), and River's
Friedman generator with global recurring abrupt drift (regression, scored by RMSE). The
synthetic rows are written to a CSV file in a temporary folder so that every stream goes
through the project's own read path (:func:`lifelong.data.table_read.read_table`); the column
statistics are fitted by ``train()``. A tenth of each chunk (by row hash) is held out for
early stopping. Seconds are ``featurize_s + train_s`` from the training report. Run from the
project root::

    PYTHONPATH=src python bench/tabular_chunks.py [--quick] [--seeds 0 1 2] [--dataset elec2]
    PYTHONPATH=src python bench/tabular_chunks.py --merge bench/out/tabular_chunks-*.json
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lifelong.config import Columns, Finetune, Pipeline, TabularSettings, Training
from lifelong.core.types import Example
from lifelong.data.table_read import read_table
from lifelong.models import ModelBundle
from lifelong.training import train

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
METHODS = ["cold", "warm", "shrink_perturb", "replay"]
# 512-row batches: 2 shared cores cannot afford the default 64 over 9 cold runs of up to 45k rows
TRAINING = Training(epochs=10, batch_size=512)


@dataclass(frozen=True)
class Stream:
    """A data set as a file of rows in stream order and the columns that describe it."""

    name: str
    path: Path
    columns: Columns

    @property
    def regression(self) -> bool:
        return self.columns.kind == "regression"


def write_csv(path: Path, rows: Iterable[tuple[dict[str, Any], Any]], target: str) -> Path:
    """Write River-style ``(x, y)`` pairs as a CSV file with ``target`` as the last column."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer: Any = None
        for x, y in rows:
            if writer is None:
                writer = csv.DictWriter(handle, [*x, target])
                writer.writeheader()
            writer.writerow({**x, target: y})
    return path


def elec2(root: Path) -> Stream:
    return Stream("elec2", root / "elec2" / "elec2.csv", Columns(target="class"))


def agrawal(folder: Path, n: int, seed: int) -> Stream:
    """Agrawal's loan stream: classification function 0, then 2 at 40% of the rows, then 5
    at 70% (abrupt: 100-row transitions); education, car and zip code are categories."""
    from river.datasets import synth

    def concept(function: int) -> Any:
        return synth.Agrawal(classification_function=function, seed=seed, balance_classes=True)

    later = synth.ConceptDriftStream(
        concept(2), concept(5), position=int(0.3 * n), width=100, seed=seed
    )
    stream = synth.ConceptDriftStream(
        concept(0), later, position=int(0.4 * n), width=100, seed=seed
    )
    path = write_csv(folder / f"agrawal-{seed}.csv", stream.take(n), "label")
    types = dict.fromkeys(("elevel", "car", "zipcode"), "categorical")
    return Stream("agrawal", path, Columns(target="label", types=types))  # type: ignore[arg-type]


def friedman(folder: Path, n: int, seed: int) -> Stream:
    """Friedman #1 with global recurring abrupt drift: the target function changes at 40% of
    the rows and the first one returns at 70%."""
    from river.datasets import synth

    stream = synth.FriedmanDrift(drift_type="gra", position=(int(0.4 * n), int(0.7 * n)), seed=seed)
    rows = (({f"x{k}": v for k, v in x.items()}, y) for x, y in stream.take(n))
    path = write_csv(folder / f"friedman-{seed}.csv", rows, "y")
    return Stream("friedman", path, Columns(target="y", kind="regression"))


def read(stream: Stream) -> list[Example]:
    """The stream's rows through the project's reader; a problem stops the benchmark."""
    result = read_table(stream.path, stream.columns)
    if result.errors:
        raise SystemExit(f"{stream.path}: {result.errors[0].message}")
    return result.examples


def cut(examples: Sequence[Example], k: int) -> list[list[Example]]:
    """``k`` consecutive chunks of (nearly) equal size, in stream order."""
    bounds = np.linspace(0, len(examples), k + 1).astype(int)
    return [list(examples[a:b]) for a, b in itertools.pairwise(bounds)]


def held_out(example: Example) -> bool:
    return int(example.hash[:8], 16) % 10 == 0


def finetunes(chunk_size: int) -> dict[str, Finetune]:
    return {
        "warm": Finetune(init="warm", epoch_fraction=0.5),
        "shrink_perturb": Finetune(init="shrink_perturb", epoch_fraction=0.5),
        "replay": Finetune(
            init="warm", data="new+replay", epoch_fraction=0.5, replay_size=chunk_size
        ),
    }


def score(bundle: ModelBundle, examples: Sequence[Example]) -> float:
    """Accuracy of a classifier, RMSE of a regression model."""
    texts = [e.text for e in examples]
    if bundle.regression:
        truth = np.array([float(e.label) for e in examples])
        return float(np.sqrt(np.mean((bundle.predict_values(texts) - truth) ** 2)))
    labels, _ = bundle.predict(texts)
    return float(np.mean([p == e.label for p, e in zip(labels, examples, strict=True)]))


@dataclass
class Step:
    """One method's model after one step: its score on the next chunk and what it cost."""

    bundle: ModelBundle
    score: float
    seconds: float
    wall: float


def step(
    chunks: Sequence[Sequence[Example]],
    t: int,
    parents: dict[str, ModelBundle],
    pipeline: Pipeline,
    training: Training,
) -> dict[str, Step]:
    """Every method's model after chunk ``t``, scored on chunk ``t + 1``.

    ``parents`` holds each method's model after chunk ``t - 1`` (empty at ``t == 0``, where one
    cold model serves every method) and is updated in place.
    """
    seen = [e for chunk in chunks[: t + 1] for e in chunk]
    train_rows = [e for e in seen if not held_out(e)]
    valid = [e for e in seen if held_out(e)]
    previous = [e for chunk in chunks[:t] for e in chunk if not held_out(e)]
    common: dict[str, Any] = {"pipeline": pipeline, "training": training, "progress": False}

    def fit(**kwargs: Any) -> tuple[ModelBundle, float, float]:
        started = time.perf_counter()
        outcome = train(train_rows, valid, **common, **kwargs)
        timings = outcome.report["timings"]
        seconds = timings["featurize_s"] + timings["train_s"]
        return outcome.bundle, seconds, time.perf_counter() - started

    runs = {"cold": fit()}
    for method, finetune in finetunes(len(chunks[t])).items():
        runs[method] = (
            runs["cold"]
            if t == 0
            else fit(finetune=finetune, parent=parents[method], previous=previous)
        )
    test = chunks[t + 1]
    steps = {m: Step(b, score(b, test), s, w) for m, (b, s, w) in runs.items()}
    parents.update({m: s.bundle for m, s in steps.items()})
    return steps


def run(stream: Stream, k: int, seed: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Per-step records (score and seconds per method) of one stream and seed, on its first
    ``limit`` rows."""
    chunks = cut(read(stream)[:limit], k)
    kind = stream.columns.kind
    pipeline = Pipeline(name="tabular", tabular=TabularSettings(kind=kind))
    training = TRAINING.model_copy(update={"seed": seed})
    parents: dict[str, ModelBundle] = {}
    records = []
    for t in range(k - 1):
        steps = step(chunks, t, parents, pipeline, training)
        record: dict[str, Any] = {
            "dataset": stream.name,
            "seed": seed,
            "step": t,
            "n_train": sum(map(len, chunks[: t + 1])),
            **{
                m: {"score": s.score, "seconds": s.seconds, "wall": s.wall}
                for m, s in steps.items()
            },
        }
        records.append(record)
        cells = " ".join(f"{m}={s.score:.4f}/{s.seconds:.1f}s" for m, s in steps.items())
        print(f"{stream.name} seed {seed} step {t}: {cells}", flush=True)
    return records


def spread(values: Sequence[float]) -> str:
    """``mean +- standard deviation`` over seeds (``+- 0`` for one seed)."""
    deviation = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {deviation:.4f}"


def tables(records: Sequence[dict[str, Any]]) -> str:
    """Per data set: the mean over update steps per method (mean +- sd over seeds), then the
    per-step score (mean over seeds)."""
    out = []
    for name in dict.fromkeys(r["dataset"] for r in records):
        subset = [r for r in records if r["dataset"] == name]
        metric = "RMSE" if name == "friedman" else "accuracy"
        seeds = sorted({r["seed"] for r in subset})
        steps = sorted({r["step"] for r in subset})
        out += [
            f"### {name}: {metric} on the next chunk ({len(seeds)} seeds, steps 1-{steps[-1]})",
            "",
            f"| method | mean {metric} | s/step (featurize+train) | wall s/step | vs cold time |",
            "|---|---:|---:|---:|---:|",
        ]
        cold_time = statistics.mean(r["cold"]["seconds"] for r in subset if r["step"] > 0)
        for method in METHODS:
            updates = [r for r in subset if r["step"] > 0]
            per_seed = [
                statistics.mean(r[method]["score"] for r in updates if r["seed"] == s)
                for s in seeds
            ]
            seconds = [
                statistics.mean(r[method]["seconds"] for r in updates if r["seed"] == s)
                for s in seeds
            ]
            wall = statistics.mean(r[method]["wall"] for r in updates)
            out.append(
                f"| {method} | {spread(per_seed)} | {spread(seconds)} | {wall:.2f} | "
                f"{statistics.mean(seconds) / cold_time:.0%} |"
            )
        out += [
            "",
            "| step | n train | " + " | ".join(METHODS) + " |",
            "|---:|---:|" + "---:|" * len(METHODS),
        ]
        for t in steps:
            at = [r for r in subset if r["step"] == t]
            cells = [f"{statistics.mean(r[m]['score'] for r in at):.4f}" for m in METHODS]
            out.append(f"| {t} | {at[0]['n_train']} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def plot(records: Sequence[dict[str, Any]], folder: Path) -> list[Path]:
    """One PNG per data set: score per step (mean over seeds) and seconds per step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name in dict.fromkeys(r["dataset"] for r in records):
        subset = [r for r in records if r["dataset"] == name]
        steps = sorted({r["step"] for r in subset})
        figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
        for method in METHODS:
            for axis, key in ((top, "score"), (bottom, "seconds")):
                means = [
                    statistics.mean(r[method][key] for r in subset if r["step"] == t) for t in steps
                ]
                axis.plot(steps, means, marker="o", label=method)
        metric = "RMSE" if name == "friedman" else "accuracy"
        top.set(title=f"{name}: {metric} on the next chunk", ylabel=metric)
        bottom.set(xlabel="step (chunks trained on - 1)", ylabel="featurize + train (s)")
        top.legend()
        figure.tight_layout()
        path = folder / f"tabular_chunks_{name}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["elec2", "agrawal", "friedman", "all"], default="all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--chunks", type=int, default=6)
    parser.add_argument("--rows", type=int, default=30_000, help="rows of a synthetic stream")
    parser.add_argument("--quick", action="store_true", help="1 seed, 4 chunks, 4k rows a stream")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument(
        "--merge", type=Path, nargs="+", help="print tables and plots of earlier runs' JSON files"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        records = [r for path in args.merge for r in json.loads(path.read_text())]
    else:
        records = measure(args)
    print("\n" + tables(records))
    for path in plot(records, args.out):
        print(f"plot: {path}")


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run the streams and seeds ``args`` names; the records are also saved as JSON."""
    import torch

    torch.set_num_threads(1)  # one core per run: several runs share 2 cores evenly
    # the first optimizer imports torch's compiler stack (seconds): not a cost of step 0's cold
    torch.optim.AdamW([torch.zeros(1, requires_grad=True)])
    if args.quick:
        args.seeds, args.chunks, args.rows = [0], 4, 4_000
    names = ["elec2", "agrawal", "friedman"] if args.dataset == "all" else [args.dataset]
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            for seed in args.seeds:
                if name == "elec2":
                    stream = elec2(args.datasets)
                elif name == "agrawal":
                    stream = agrawal(Path(folder), args.rows, seed)
                else:
                    stream = friedman(Path(folder), args.rows, seed)
                records += run(stream, args.chunks, seed, args.rows if args.quick else None)
    label = "-".join([args.dataset, *map(str, args.seeds)])
    (args.out / f"tabular_chunks-{label}.json").write_text(json.dumps(records, indent=1))
    return records


if __name__ == "__main__":
    main()
