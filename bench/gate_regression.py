"""How often the regression gate rejects an honest challenger, and passes a worse one.

The gate's RMSE cap (``policy.gate.regression.max_rmse_increase``) rejects any challenger whose
test RMSE is more than the allowance above the champion's, with no test: it is there for
poisoned targets, whose few large errors move RMSE before a rank test notices. A cap too tight
also rejects challengers that are no worse, whose RMSE differs from the champion's only by the
noise of training and of a finite test split. This script measures both sides, on the gate
itself (:func:`lifelong.evaluation.regression.decide_regression`, default policy otherwise):

Per trial (``--trials``, each its own seed), a champion and four challengers are trained cold
(:class:`lifelong.sklearn.LifelongRegressor`, defaults, the seed of its model), all judged on
the same held-out test split:

- ``honest``: the champion's recipe on another draw of the same distribution, another seed;
- ``better``: the same on twice as many rows (``slightly better``);
- ``poisoned``: the champion's recipe with ``--poison`` of the training targets replaced by
  the target's mean plus noise of ``--noise`` target standard deviations (truly worse);
- ``noisier``: every training target plus noise of one target standard deviation (worse on
  average, without outliers: the case a rank test, not the RMSE cap, should catch).

Streams: scikit-learn's Friedman #1 (``make_friedman1``, noise 1.0; 1,000 training rows,
1,000 test rows, a fresh sample per trial) and the diabetes data (442 real rows; per trial a
fresh shuffle: 142 test rows, the rest a pool the champion and ``honest`` draw 200 rows from,
``better`` takes all 300). Printed and written to ``bench/out/gate_regression_mae*.md``: the share
of trials each challenger is rejected, per RMSE allowance (``off``: no cap, only the Wilcoxon
rule), and how many of the rejections came from the Wilcoxon rule (reported beside; its own
allowance, ``max_mae_increase``, is ``--max-mae-increase``).

    PYTHONPATH=src python bench/gate_regression.py [--trials 20] [--allowances 0.05 0.1 ...]
        [--max-mae-increase 0.0]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.datasets import load_diabetes, make_friedman1

from lifelong.config import Gate, RegressionGate
from lifelong.evaluation.regression import decide_regression
from lifelong.sklearn import LifelongRegressor

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
ALLOWANCES = (0.05, 0.10, 0.15, 0.20, 0.30)
KINDS = ("honest", "better", "poisoned", "noisier")
Array = NDArray[np.float64]


@dataclass(frozen=True)
class Trial:
    """One trial's training sets (per challenger kind) and test split."""

    champion: tuple[Array, Array]
    challengers: dict[str, tuple[Array, Array]]
    test: tuple[Array, Array]


def poison(y: Array, share: float, noise: float, rng: np.random.Generator) -> Array:
    """``y`` with ``share`` of its values replaced by the mean plus ``noise`` std of noise."""
    poisoned = y.copy()
    rows = rng.choice(len(y), size=round(share * len(y)), replace=False)
    poisoned[rows] = y.mean() + rng.normal(0.0, noise * y.std(), size=len(rows))
    return poisoned


def noisier(y: Array, rng: np.random.Generator) -> Array:
    return y + rng.normal(0.0, y.std(), size=len(y))


def friedman(seed: int, args: argparse.Namespace) -> Trial:
    def draw(n: int, offset: int) -> tuple[Array, Array]:
        X, y = make_friedman1(n, noise=1.0, random_state=seed * 10 + offset)
        return X, y

    rng = np.random.default_rng(seed)
    X, y = draw(1000, 0)
    X_bad, y_bad = draw(1000, 3)
    return Trial(
        champion=(X, y),
        challengers={
            "honest": draw(1000, 1),
            "better": draw(2000, 2),
            "poisoned": (X_bad, poison(y_bad, args.poison, args.noise, rng)),
            "noisier": (X_bad, noisier(y_bad, rng)),
        },
        test=draw(1000, 9),
    )


def diabetes(seed: int, args: argparse.Namespace) -> Trial:
    X, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    test, pool = order[:142], order[142:]

    def subset() -> NDArray[np.int64]:
        return rng.choice(pool, size=200, replace=False)

    champion, honest, bad = subset(), subset(), subset()
    return Trial(
        champion=(X[champion], y[champion]),
        challengers={
            "honest": (X[honest], y[honest]),
            "better": (X[pool], y[pool]),
            "poisoned": (X[bad], poison(y[bad], args.poison, args.noise, rng)),
            "noisier": (X[bad], noisier(y[bad], rng)),
        },
        test=(X[test], y[test]),
    )


STREAMS: dict[str, Callable[[int, argparse.Namespace], Trial]] = {
    "Friedman #1": friedman,
    "diabetes": diabetes,
}


def predictions(trial: Trial, seed: int) -> tuple[Array, dict[str, Array]]:
    """The champion's and each challenger's test predictions (each its own model seed)."""
    X_test = trial.test[0]

    def fit(data: tuple[Array, Array], model_seed: int) -> Array:
        model = LifelongRegressor(random_state=model_seed).fit(*data)
        return np.asarray(model.predict(X_test), dtype=np.float64)

    champion = fit(trial.champion, 2 * seed)
    return champion, {
        kind: fit(data, 2 * seed + 1 + i)
        for i, (kind, data) in enumerate(trial.challengers.items())
    }


def verdicts(
    champion: Array,
    challenger: Array,
    truth: Array,
    allowances: list[float | None],
    mae_allowance: float,
) -> Iterator[tuple[bool, bool]]:
    """``(rejected, by the Wilcoxon rule)`` under each allowance (``None``: no RMSE cap)."""
    for allowance in allowances:
        policy = Gate(
            regression=RegressionGate(max_rmse_increase=allowance, max_mae_increase=mae_allowance)
        )
        verdict = decide_regression(
            champion,
            challenger,
            truth,
            policy,
            champion_version="1.0",
            challenger_version="1.1",
        )
        rejected = verdict.decision == "reject"
        wilcoxon = rejected and any("significantly worse" in r for r in verdict.reasons)
        yield rejected, wilcoxon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--allowances", type=float, nargs="+", default=list(ALLOWANCES))
    parser.add_argument("--poison", type=float, default=0.1, help="share of targets poisoned")
    parser.add_argument("--noise", type=float, default=5.0, help="poison noise, in target stds")
    parser.add_argument(
        "--max-mae-increase",
        type=float,
        default=RegressionGate().max_mae_increase,
        help="the Wilcoxon rule's MAE allowance (default: the gate's)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    allowances: list[float | None] = [*args.allowances, None]
    heads = [f"{a:.0%}" if a is not None else "off" for a in allowances]
    lines = [
        "| stream | challenger | RMSE / champion's (median) | "
        + " | ".join(f"rejected, cap {h}" for h in heads)
        + " |",
        "| --- | --- | ---: | " + " | ".join("---:" for _ in heads) + " |",
    ]
    for stream, make in STREAMS.items():
        counts = {kind: np.zeros((len(allowances), 2), dtype=int) for kind in KINDS}
        ratios: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for seed in range(args.trials):
            trial = make(seed, args)
            truth = trial.test[1]
            champion, challengers = predictions(trial, seed)
            champion_rmse = float(np.sqrt(np.mean((champion - truth) ** 2)))
            for kind, predicted in challengers.items():
                ratios[kind].append(
                    float(np.sqrt(np.mean((predicted - truth) ** 2))) / champion_rmse
                )
                for i, outcome in enumerate(
                    verdicts(champion, predicted, truth, allowances, args.max_mae_increase)
                ):
                    counts[kind][i] += outcome
            print(f"{stream}: trial {seed + 1}/{args.trials}", flush=True)
        for kind in KINDS:
            cells = [
                f"{rejected / args.trials:.0%} ({wilcoxon})"
                for rejected, wilcoxon in counts[kind].tolist()
            ]
            ratio = statistics.median(ratios[kind])
            lines.append(f"| {stream} | {kind} | {ratio:.3f} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    note = (
        f"\n{args.trials} trials per stream, max_mae_increase {args.max_mae_increase}; a cell "
        "is the share of trials rejected and, in brackets, how many of those the Wilcoxon rule "
        "rejected (significantly larger absolute errors, MAE over its allowance); the rest the "
        "RMSE cap.\n"
    )
    print(table + note)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"gate_regression_mae{args.max_mae_increase:g}.md").write_text(table + "\n" + note)


if __name__ == "__main__":
    main()
