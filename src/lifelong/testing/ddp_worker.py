"""One data-parallel training outside a project, for tests and ``bench/distributed.py``.

Run as N torchrun workers (``python -m torch.distributed.run --nproc-per-node N --module
lifelong.testing.ddp_worker ...``) or as a plain process (one rank, no DDP). Each rank calls
:func:`lifelong.training.train` on labeled files (cold, or with ``--parent`` a fine-tune of that
model folder) and writes, under ``--out``, its model
(``rank<R>/``, a bundle) and its figures (``rank<R>.json``: the training report, test
accuracy, training examples per second), so a test can compare the weights of every rank and
a benchmark can read the throughput.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from lifelong.config import Finetune, Pipeline, Training
from lifelong.core.atomic import atomic_write_text
from lifelong.core.types import Example
from lifelong.data.read import read_paths
from lifelong.models import ModelBundle
from lifelong.training import train
from lifelong.training.distributed import DistContext, SparseSync, process_group


def _read(path: Path | None) -> list[Example]:
    return [] if path is None else read_paths([path]).examples


def run(
    data: Path,
    valid: Path | None,
    test: Path | None,
    out: Path,
    *,
    pipeline: Pipeline,
    training: Training,
    sparse_sync: SparseSync | None = None,
    threads: int | None = None,
    parent: Path | None = None,
    finetune: Finetune | None = None,
) -> dict[str, Any]:
    """Train (data-parallel under torchrun), save this rank's bundle and figures; the figures.

    With ``parent`` (a model folder) the run fine-tunes it by ``finetune``; every rank loads it.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    context = DistContext.from_env()
    examples, valid_examples = _read(data), _read(valid)
    warm = None if parent is None else ModelBundle.load(parent)
    started = time.perf_counter()

    def fit(distributed: Any = None) -> Any:
        return train(
            examples,
            valid_examples,
            pipeline=pipeline,
            training=training,
            finetune=finetune,
            parent=warm,
            progress=False,
            distributed=distributed,
        )

    if context is None:
        outcome, rank = fit(), 0
    else:
        with process_group(context, sparse_sync) as parallel:
            outcome, rank = fit(parallel), context.rank
    seconds = time.perf_counter() - started
    tests = _read(test)
    predicted = outcome.bundle.predict([e.text for e in tests])[0] if tests else []
    report = outcome.report
    figures = {
        "rank": rank,
        "world_size": 1 if context is None else context.world_size,
        "threads": torch.get_num_threads(),
        "seconds": seconds,
        "train_s": report["timings"]["train_s"],
        # examples trained per second, all ranks together: every epoch passes over n_train
        "examples_per_s": report["n_train"] * report["epochs_run"] / report["timings"]["train_s"],
        "test_accuracy": (
            sum(p == e.label for p, e in zip(predicted, tests, strict=True)) / len(tests)
            if tests
            else None
        ),
        "report": report,
    }
    out.mkdir(parents=True, exist_ok=True)
    outcome.bundle.save(out / f"rank{rank}")
    atomic_write_text(out / f"rank{rank}.json", json.dumps(figures, default=str))
    return figures


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--data``, ``--valid``, ``--test``, ``--out``, ``--pipeline``,
    ``--training`` and ``--finetune`` (JSON of the config sections), ``--sparse-sync``,
    ``--threads``, ``--parent`` (a model folder to fine-tune)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--valid", type=Path)
    parser.add_argument("--test", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pipeline", default="{}", help="JSON of config.yml's pipeline section")
    parser.add_argument("--training", default="{}", help="JSON of config.yml's training section")
    parser.add_argument("--sparse-sync", choices=["ddp", "gather"])
    parser.add_argument("--threads", type=int)
    parser.add_argument("--parent", type=Path, help="a model folder to fine-tune")
    parser.add_argument("--finetune", default="{}", help="JSON of config.yml's finetune section")
    args = parser.parse_args(argv)
    run(
        args.data,
        args.valid,
        args.test,
        args.out,
        pipeline=Pipeline.model_validate_json(args.pipeline),
        training=Training.model_validate_json(args.training),
        sparse_sync=args.sparse_sync,
        threads=args.threads,
        parent=args.parent,
        finetune=Finetune.model_validate_json(args.finetune),
    )


if __name__ == "__main__":
    main()
