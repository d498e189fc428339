"""Benchmark of the scikit-learn faces: how long ``fit`` takes on small data with the defaults.

The defaults (10 epochs, batch 64, a 64-unit hidden layer) are chosen so that small data trains
in well under a second and scikit-learn's ``check_estimator`` runs in seconds. Each figure is
the median wall time of ``--repeat`` fits (after one untimed fit that warms torch up), torch on
one thread (fastest for a network this small), beside scikit-learn's ``MLPClassifier`` /
``MLPRegressor`` with ``max_iter=10`` on the same data for scale (accuracy or R^2 on held-out
rows in the last column). Prints a markdown table.

    PYTHONPATH=src python bench/sklearn_fit.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from lifelong.sklearn import LifelongClassifier, LifelongRegressor, LifelongTextClassifier

KEYWORDS = ["order", "refund", "card", "account", "transfer", "balance", "hello", "thanks"]
FILLER = ["please", "my", "the", "now", "today", "a", "help", "with", "is", "where"]


def texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    """A keyword among three filler words; the label is the keyword's group (4 of 2)."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(len(KEYWORDS), size=n)
    fill = rng.choice(FILLER, size=(n, 3))
    made = [" ".join([*f[:2], KEYWORDS[k], f[2]]) for k, f in zip(keys, fill, strict=True)]
    return made, [str(k // 2) for k in keys]


def median_fit(make: Callable[[], Any], X: Any, y: Any, repeat: int) -> tuple[float, Any]:
    make().fit(X, y)  # warm-up
    times, model = [], None
    for _ in range(repeat):
        model = make()
        started = time.perf_counter()
        model.fit(X, y)
        times.append(time.perf_counter() - started)
    return statistics.median(times), model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print("| estimator | rows | fit s (median) | held-out score |")
    print("| --- | ---: | ---: | ---: |")
    for n in (300, 3000):
        X, y = make_classification(
            n_samples=n * 2, n_features=10, n_informative=5, n_classes=3, random_state=0
        )
        Xr, yr = make_regression(n_samples=n * 2, n_features=10, noise=5.0, random_state=0)
        T, labels = texts(n * 2, 0)
        cases = [
            ("LifelongClassifier", lambda: LifelongClassifier(random_state=0), X, y),
            (
                "MLPClassifier(max_iter=10)",
                lambda: MLPClassifier(max_iter=10, random_state=0),
                X,
                y,
            ),
            ("LifelongRegressor", lambda: LifelongRegressor(random_state=0), Xr, yr),
            (
                "MLPRegressor(max_iter=10)",
                lambda: MLPRegressor(max_iter=10, random_state=0),
                Xr,
                yr,
            ),
            ("LifelongTextClassifier", lambda: LifelongTextClassifier(random_state=0), T, labels),
        ]
        for name, make, data, target in cases:
            seconds, model = median_fit(make, data[:n], target[:n], args.repeat)
            score = model.score(data[n:], target[n:])
            print(f"| {name} | {n} | {seconds:.3f} | {score:.3f} |")


if __name__ == "__main__":
    main()
