"""Prequential benchmark on Elec2: lifelong's online learner against River's, in one run.

Every learner is test-then-trained over the 45,312 rows in file order by the same
:func:`lifelong.evaluation.prequential.prequential` loop: River's logistic regression (behind a
StandardScaler), Hoeffding adaptive tree, adaptive random forest (10 trees), the no-change
baseline, and :class:`lifelong.online.OnlineClassifier` (its block loop, exact for a learner
that changes every ``batch_size`` rows). Reported: accuracy, kappa, kappa-temporal, rows/s and
rows/s as a multiple of ARF's.

The online learner's settings are chosen on the first 10% of the stream only (a small grid of
batch size, learning rate and ``forget``, the weight of the standardizing statistics' past at
each update; its accuracy there decides), then the whole stream is run from a fresh model.
Forgetting statistics standardize each row by the recent mean and spread, so River's LR behind
its exponentially weighted ``AdaptiveStandardScaler`` (``fading_factor`` chosen on the same 10%)
is in the table too: the same idea on River's side. Rows marked "+ previous label" add the
previous row's label as a categorical feature (autoregressive: legitimate in test-then-train,
where that label is known before the row is predicted, but it changes the comparison, so those
rows stand next to the features-only ones). Everything runs once on one thread after a warm-up
of each learner (imports and first-call costs); rows/s on a shared machine move by tens of
percent between runs, the accuracies do not. Prints a markdown table and writes
``bench/out/tabular.md`` and ``bench/out/tabular.png`` (rolling accuracy over 1,000 rows).

    PYTHONPATH=src python bench/tabular.py [--no-tune] [--skip-arf]
"""

from __future__ import annotations

import argparse
import csv
import itertools
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

import torch

from lifelong.config import Training
from lifelong.evaluation.prequential import PrequentialResult, plot_prequential, prequential
from lifelong.online import OnlineClassifier

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATA = ROOT.parent / "shared" / "datasets" / "elec2" / "elec2.csv"
WINDOW = 1000
GRID = {"batch_size": (16, 32), "forget": (1.0, 0.9, 0.7, 0.5), "lr": (0.001, 0.003)}
DEFAULT = {"batch_size": 16, "forget": 0.7, "lr": 0.001}
ALPHAS = (0.01, 0.03, 0.1, 0.3)
"""River's AdaptiveStandardScaler's weights of a new row, chosen on the same first 10%."""

Row = tuple[dict[str, Any], Hashable]


def read_elec2() -> list[Row]:
    with DATA.open() as handle:
        rows = list(csv.DictReader(handle))
    return [({k: float(v) for k, v in r.items() if k != "class"}, int(r["class"])) for r in rows]


def with_previous_label(rows: list[Row], *, numeric: bool) -> list[Row]:
    """Each row's features plus ``previous``, the label of the row before: a category for
    lifelong (``none`` first), the number 0/1 for River's linear model (0.5 first)."""
    labels = [y for _, y in rows[:-1]]
    previous: list[Any] = [0.5, *map(float, labels)] if numeric else ["none", *map(str, labels)]
    return [({**x, "previous": p}, y) for (x, y), p in zip(rows, previous, strict=True)]


def online(batch_size: int, forget: float, lr: float) -> OnlineClassifier:
    training = Training(lr=lr, sparse_lr=5 * lr, weight_decay=0.0)
    return OnlineClassifier(batch_size=batch_size, forget=forget, training=training)


def tune(rows: list[Row]) -> dict[str, Any]:
    """The grid point with the best prequential accuracy on ``rows``."""
    best: tuple[float, dict[str, Any]] = (-1.0, DEFAULT)
    for values in itertools.product(*GRID.values()):
        point = dict(zip(GRID, values, strict=True))
        learner = online(**point)
        accuracy = prequential(learner, rows, block=point["batch_size"]).score.accuracy
        print(f"  tune {point}: {accuracy:.4f}", flush=True)
        best = max(best, (accuracy, point), key=lambda pair: pair[0])
    return best[1]


def adaptive_logistic(alpha: float) -> Any:
    """River's LR behind an exponentially weighted scaler (the analogue of ``forget``)."""
    from river import compose, linear_model, preprocessing

    scaler = preprocessing.AdaptiveStandardScaler(fading_factor=alpha)
    return compose.Pipeline(scaler, linear_model.LogisticRegression())


def tune_alpha(rows: list[Row]) -> float:
    scores = {a: prequential(adaptive_logistic(a), rows).score.accuracy for a in ALPHAS}
    print(f"  tune River AdaptiveStandardScaler fading_factor: {scores}", flush=True)
    return max(scores, key=lambda a: scores[a])


def river_learners(skip_arf: bool, alpha: float) -> Iterator[tuple[str, Callable[[], Any], bool]]:
    """``(name, factory, previous-label features)`` of each River learner."""
    from river import compose, dummy, forest, linear_model, preprocessing, tree

    def logistic() -> Any:
        return compose.Pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression())

    yield "no-change (previous label)", dummy.NoChangeClassifier, False
    yield "River LogisticRegression", logistic, False
    yield "River LogisticRegression + previous label", logistic, True
    name = f"River LR, AdaptiveStandardScaler(fading_factor={alpha})"
    yield name, lambda: adaptive_logistic(alpha), False
    hat = tree.HoeffdingAdaptiveTreeClassifier
    yield "River HoeffdingAdaptiveTree", lambda: hat(seed=42), False
    if not skip_arf:
        yield "River ARF (10 trees)", lambda: forest.ARFClassifier(n_models=10, seed=42), False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-tune", action="store_true", help=f"use {DEFAULT}")
    parser.add_argument("--skip-arf", action="store_true", help="leave out the slow forest")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = read_elec2()
    lagged = with_previous_label(rows, numeric=False)
    lagged_numeric = with_previous_label(rows, numeric=True)
    head = len(rows) // 10
    settings = {}
    for name, stream in (("features", rows), ("previous", lagged)):
        print(f"tuning lifelong ({name}) on the first {head} rows", flush=True)
        settings[name] = DEFAULT if args.no_tune else tune(stream[:head])
    alpha = 0.03 if args.no_tune else tune_alpha(rows[:head])
    results: dict[str, PrequentialResult] = {}
    for name, factory, lag in river_learners(args.skip_arf, alpha):
        stream = lagged_numeric if lag else rows
        prequential(factory(), stream[:200])  # warm-up
        results[name] = prequential(factory(), stream, window=WINDOW)
        print(f"{name}: {results[name].score.accuracy:.4f}", flush=True)
    for name, stream, point in (
        ("lifelong online", rows, settings["features"]),
        ("lifelong online + previous label", lagged, settings["previous"]),
    ):
        prequential(online(**point), stream[:200], block=point["batch_size"])  # warm-up
        label = f"{name} {point}"
        results[label] = prequential(
            online(**point), stream, window=WINDOW, block=point["batch_size"]
        )
        print(f"{label}: {results[label].score.accuracy:.4f}", flush=True)
    arf = results.get("River ARF (10 trees)")
    lines = [
        "| learner | accuracy | kappa | kappa-temporal | rows/s | x ARF rows/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in results.items():
        score = result.score
        ratio = f"{result.rows_per_second / arf.rows_per_second:.1f}" if arf else "-"
        lines.append(
            f"| {name} | {score.accuracy:.2%} | {score.kappa:.4f} | {score.kappa_temporal:.4f} "
            f"| {result.rows_per_second:,.0f} | {ratio} |"
        )
    table = "\n".join(lines)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tabular.md").write_text(table + "\n")
    path = plot_prequential(results, OUT / "tabular.png", f"Elec2, prequential ({len(rows)} rows)")
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
