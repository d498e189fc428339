"""Prequential benchmarks: lifelong's online learners against River's, in one run.

Classification, on Elec2:

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
rows stand next to the features-only ones). Every learner runs ``--repeats`` times (default 3)
on one thread after a warm-up (imports and first-call costs); rows/s is the median of the runs
(on a shared machine they move by tens of percent), the accuracies are the same in every run
(every learner is seeded). Prints a markdown table and writes
``bench/out/tabular.md`` and ``bench/out/tabular.png`` (rolling accuracy over 1,000 rows).

Regression (``--regression``), on River's Friedman #1 (10,000 rows, seed 42) and FriedmanDrift
(global recurring abrupt drift at rows 3,333 and 6,666, seed 42): River's LinearRegression
(behind a StandardScaler), HoeffdingTreeRegressor, ARFRegressor (10 trees) and
:class:`lifelong.online.OnlineRegressor` (block loop), through the same loop with
``regression=True``. Reported: MAE, RMSE, the no-change MAE (predict the previous target) and
rows/s, the median of ``--repeats`` runs (the errors are the same in every run: every learner
is seeded). The online regressor's settings are chosen on another Friedman stream (seed 7), so
the table's streams are not tuned on. Writes ``bench/out/tabular_regression.md`` and its PNG.

    PYTHONPATH=src python bench/tabular.py [--no-tune] [--skip-arf] [--regression] [--repeats N]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import statistics
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

import torch

from lifelong.config import Training
from lifelong.evaluation.prequential import PrequentialResult, plot_prequential, prequential
from lifelong.online import OnlineClassifier, OnlineRegressor

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


REGRESSION_ROWS = 10_000
REGRESSION_GRID = {"batch_size": (16, 32), "forget": (1.0, 0.7), "lr": (0.003, 0.01)}
REGRESSION_DEFAULT = {"batch_size": 16, "forget": 1.0, "lr": 0.003}


def friedman_streams() -> dict[str, list[Row]]:
    from river.datasets import synth

    drift = synth.FriedmanDrift(drift_type="gra", position=(3_333, 6_666), seed=42)
    return {
        "Friedman": list(synth.Friedman(seed=42).take(REGRESSION_ROWS)),
        "FriedmanDrift (gra)": list(drift.take(REGRESSION_ROWS)),
    }


def online_regressor(batch_size: int, forget: float, lr: float) -> OnlineRegressor:
    training = Training(lr=lr, sparse_lr=5 * lr, weight_decay=0.0)
    return OnlineRegressor(batch_size=batch_size, forget=forget, training=training)


def tune_regressor() -> dict[str, Any]:
    """The grid point with the lowest prequential MAE on 2,000 rows of Friedman, seed 7."""
    from river.datasets import synth

    rows = list(synth.Friedman(seed=7).take(2_000))
    best: tuple[float, dict[str, Any]] = (float("inf"), REGRESSION_DEFAULT)
    for values in itertools.product(*REGRESSION_GRID.values()):
        point = dict(zip(REGRESSION_GRID, values, strict=True))
        block = point["batch_size"]
        mae = prequential(online_regressor(**point), rows, block=block, regression=True)
        print(f"  tune {point}: MAE {mae.score.overall:.4f}", flush=True)
        best = min(best, (mae.score.overall, point), key=lambda pair: pair[0])
    return best[1]


def river_regressors(skip_arf: bool) -> Iterator[tuple[str, Callable[[], Any]]]:
    from river import forest, linear_model, preprocessing, tree

    yield (
        "River LinearRegression",
        lambda: preprocessing.StandardScaler() | (linear_model.LinearRegression()),
    )
    yield "River HoeffdingTreeRegressor", tree.HoeffdingTreeRegressor
    if not skip_arf:
        yield "River ARFRegressor (10 trees)", lambda: forest.ARFRegressor(n_models=10, seed=42)


def median_run(
    factory: Callable[[], Any], rows: list[Row], repeats: int, block: int, regression: bool = True
) -> Any:
    """One result of ``repeats`` runs from fresh learners, with the median wall time."""
    prequential(factory(), rows[:200], block=block, regression=regression)  # warm-up
    runs = [
        prequential(factory(), rows, window=WINDOW, block=block, regression=regression)
        for _ in range(repeats)
    ]
    result = runs[0]
    result.seconds = statistics.median(run.seconds for run in runs)
    return result


def regression(args: argparse.Namespace) -> None:
    point = REGRESSION_DEFAULT if args.no_tune else tune_regressor()
    lines = [
        "| stream | learner | MAE | RMSE | no-change MAE | rows/s |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for stream, rows in friedman_streams().items():
        learners: list[tuple[str, Callable[[], Any], int]] = [
            (name, factory, 1) for name, factory in river_regressors(args.skip_arf)
        ]
        learners.append(
            (
                f"lifelong OnlineRegressor {point}",
                lambda: online_regressor(**point),
                point["batch_size"],
            )
        )
        results: dict[str, PrequentialResult] = {}
        for name, factory, block in learners:
            results[name] = result = median_run(factory, rows, args.repeats, block)
            score = result.score
            print(f"{stream} {name}: MAE {score.overall:.4f}", flush=True)
            lines.append(
                f"| {stream} | {name} | {score.overall:.4f} | {score.to_dict()['rmse']:.4f} "
                f"| {score.to_dict()['no_change_mae']:.4f} | {result.rows_per_second:,.0f} |"
            )
        slug = "drift" if "Drift" in stream else "stationary"
        plot_prequential(
            results, OUT / f"tabular_regression_{slug}.png", f"{stream}, prequential MAE"
        )
    table = "\n".join(lines)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tabular_regression.md").write_text(table + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-tune", action="store_true", help=f"use {DEFAULT} (regression: {REGRESSION_DEFAULT})"
    )
    parser.add_argument("--skip-arf", action="store_true", help="leave out the slow forest")
    parser.add_argument(
        "--regression", action="store_true", help="the Friedman regression table instead"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per learner (rows/s is their median)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.regression:
        regression(args)
        return
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
        results[name] = median_run(factory, stream, args.repeats, 1, regression=False)
        print(f"{name}: {results[name].score.accuracy:.4f}", flush=True)
    for name, stream, point in (
        ("lifelong online", rows, settings["features"]),
        ("lifelong online + previous label", lagged, settings["previous"]),
    ):
        label = f"{name} {point}"
        results[label] = median_run(
            lambda point=point: online(**point),
            stream,
            args.repeats,
            point["batch_size"],
            regression=False,
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
