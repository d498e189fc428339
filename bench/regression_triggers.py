"""False alarms and detection delay of a regression champion's two monitoring triggers.

A lifelong tabular regression model is trained on the first 2,000 rows of a River Friedman #1
stream, and its test split (the next 500 rows) gives what the gate records: its predicted
values (the drift trigger's reference window) and its test MAE. The next 7,500 rows are then
served in order, as a champion that is never retrained: every row is predicted (the
prediction log), every 4th (``--feedback-every``) gets feedback with its true target (the
feedback log), and every
100 rows a check runs both triggers with the loop's settings (``DriftTrigger()`` on the last
1,000 predicted values against the reference; ``PerformanceTrigger()``: MAE of the last 200
feedback errors against 1.25 x test MAE, from 30 on).

Three streams, with a change at row 5,000 (after 2,500 served rows, 5,000 before the end):

- ``Friedman``: no change; every firing is a false alarm;
- ``FriedmanDrift (gra)``: River's global abrupt drift; the target's function swaps its
  features, the inputs stay uniform (concept drift: the answers become wrong, the questions
  look the same);
- ``Friedman, covariate shift``: Friedman #1 with x3 and x4 (its linear terms) drawn from
  [0.5, 1] instead of [0, 1]; the target keeps its function (the questions move, the answers
  stay right: an update is not needed, but the traffic is no longer the training data's).

Reported per stream and trigger, over ``--seeds`` seeds: the share of checks before the
change that fired (false alarms; over all checks on ``Friedman``), the nearest any of those
came to firing (the feedback MAE ratio over its allowance; PSI over its threshold or KS's
level over its p-value, whichever is larger: 1.0 fires), and the rows after the
change until the first firing check (median, and in how many seeds it fired at all). Before
this work neither trigger could fire for a regression model (its log held confidence 1 and
its feedback was not scored). Prints a markdown table and writes
``bench/out/regression_triggers.md``.

    PYTHONPATH=src OMP_NUM_THREADS=1 python bench/regression_triggers.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from lifelong.config import Pipeline, TabularSettings, Training
from lifelong.core.types import Example
from lifelong.data.schema import canonical_row
from lifelong.monitoring import DriftTrigger, PerformanceTrigger, TriggerContext
from lifelong.monitoring.triggers import Figure
from lifelong.pipelines.signals import DRIFT_WINDOW

OUT = Path(__file__).resolve().parents[1] / "bench" / "out"
TRAIN, TEST, SERVED, CHANGE = 2_000, 500, 7_500, 5_000
CHECK_EVERY = 100
STREAMS = ("Friedman", "FriedmanDrift (gra)", "Friedman, covariate shift")
Row = tuple[dict[int, float], float]
Checks = list[tuple[int, bool, float]]
"""Each check's row, whether it fired, and how near it came: 1.0 is its threshold."""


def friedman(x: dict[int, float]) -> float:
    """Friedman #1 without its noise (River's ``synth.Friedman``)."""
    return 10 * math.sin(math.pi * x[0] * x[1]) + 20 * (x[2] - 0.5) ** 2 + 10 * x[3] + 5 * x[4]


def covariate_shift(rows: Iterator[Row]) -> Iterator[Row]:
    """Friedman rows whose x3 and x4 move to [0.5, 1] from row ``CHANGE`` on, the target
    recomputed with the same noise."""
    for index, (x, y) in enumerate(rows):
        if index >= CHANGE:
            moved = {**x, 3: 0.5 + x[3] / 2, 4: 0.5 + x[4] / 2}
            y, x = y - friedman(x) + friedman(moved), moved
        yield x, y


def streams(seed: int) -> dict[str, list[Row]]:
    from river.datasets import synth

    n = TRAIN + TEST + SERVED
    drift = synth.FriedmanDrift(drift_type="gra", position=(CHANGE, 10 * n), seed=seed)
    stationary, drifting = synth.Friedman(seed=seed).take(n), drift.take(n)
    shifted = covariate_shift(synth.Friedman(seed=seed).take(n))
    return dict(zip(STREAMS, map(list, (stationary, drifting, shifted)), strict=True))


def text(x: dict[int, float]) -> str:
    return canonical_row({f"x{key}": value for key, value in x.items()})


def fit(rows: list[Row], seed: int) -> Callable[[list[str]], np.ndarray]:
    """A tabular regression model of the first ``TRAIN`` rows (10% of them for validation)."""
    from lifelong.training import train

    examples = [Example(text=text(x), label=repr(y)) for x, y in rows[:TRAIN]]
    pipeline = Pipeline(name="tabular", hidden=64, tabular=TabularSettings(kind="regression"))
    training = Training(epochs=30, lr=0.01, patience=5, seed=seed)
    cut = TRAIN * 9 // 10
    outcome = train(
        examples[:cut], examples[cut:], pipeline=pipeline, training=training, progress=False
    )
    return lambda texts: np.asarray(outcome.bundle.predict_values(texts), dtype=float)


def first_fired(checks: Checks, change: int) -> tuple[float, float, int | None]:
    """The false-alarm share and the nearest approach to firing of the checks before
    ``change``, and the rows after it to the first check that fired (``None``: never)."""
    before = [(fired, near) for row, fired, near in checks if row < change]
    after = [row - change for row, fired, _ in checks if row >= change and fired]
    share = sum(fired for fired, _ in before) / len(before)
    return share, max(near for _, near in before), (after[0] if after else None)


def nearness(drift: DriftTrigger, figures: Mapping[str, Figure]) -> float:
    """How near the predicted-value tests came to firing: PSI over its threshold, or the KS
    level over its p-value, whichever is larger (1.0: fires); 0 when not tested yet."""
    if "predicted_value.psi" not in figures:
        return 0.0
    psi, p_value = figures["predicted_value.psi"], figures["predicted_value.ks_p_value"]
    assert isinstance(psi, float)
    assert isinstance(p_value, float)
    assert drift.psi_threshold is not None
    assert drift.ks_alpha is not None
    return max(psi / drift.psi_threshold, drift.ks_alpha / max(p_value, 1e-300))


def run(
    rows: list[Row], predict: Callable[[list[str]], np.ndarray], feedback_every: int
) -> tuple[float, dict[str, Checks]]:
    """The test MAE, and each check's (row, fired) of both triggers over the served rows."""
    test = rows[TRAIN : TRAIN + TEST]
    reference = predict([text(x) for x, _ in test])
    test_mae = float(np.mean(np.abs(reference - [y for _, y in test])))
    served = rows[TRAIN + TEST :]
    values = predict([text(x) for x, _ in served])
    errors = np.abs(values - [y for _, y in served])
    drift, performance = DriftTrigger(), PerformanceTrigger()
    checks: dict[str, Checks] = {"drift": [], "performance": []}
    now = datetime.now(UTC)
    for end in range(CHECK_EVERY, SERVED + 1, CHECK_EVERY):
        context = TriggerContext(
            now=now,
            reference_values=reference.tolist(),
            current_values=values[max(0, end - DRIFT_WINDOW) : end].tolist(),
            feedback_errors=errors[:end:feedback_every].tolist(),
            test_mae=test_mae,
        )
        row = TRAIN + TEST + end
        drifted, performed = drift.evaluate(context), performance.evaluate(context)
        checks["drift"].append((row, drifted.fired, nearness(drift, drifted.figures)))
        ratio, judged = performed.figures["mae_ratio"], len(context.feedback_errors)
        near = 0.0  # not judged below min_feedback errors
        if isinstance(ratio, float) and judged >= performance.min_feedback:
            near = ratio / performance.max_mae_ratio
        checks["performance"].append((row, performed.fired, near))
    return test_mae, checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="streams (and models) per table")
    parser.add_argument(
        "--feedback-every", type=int, default=4, help="feedback on every Nth served row"
    )
    args = parser.parse_args()
    results: dict[tuple[str, str], list[tuple[float, float, int | None]]] = {}
    maes: list[float] = []
    for seed in range(args.seeds):
        for name, rows in streams(seed).items():
            predict = fit(rows, seed)
            test_mae, checks = run(rows, predict, args.feedback_every)
            maes.append(test_mae)
            for trigger in ("drift", "performance"):
                # no change: every check is a false alarm's chance
                change = 10 * SERVED if name == "Friedman" else CHANGE
                outcome = first_fired(checks[trigger], change)
                results.setdefault((name, trigger), []).append(outcome)
                print(f"seed {seed} {name} {trigger}: {outcome}", flush=True)
    lines = [
        "| stream | drift: false alarms | nearest (1 fires) | delay (rows) "
        "| performance: false alarms | nearest (1 fires) | delay (rows) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in STREAMS:
        cells = [name]
        for trigger in ("drift", "performance"):
            outcomes = results[(name, trigger)]
            cells.append(f"{statistics.mean(share for share, _, _ in outcomes):.1%}")
            cells.append(f"{max(near for _, near, _ in outcomes):.2f}")
            delays = [delay for _, _, delay in outcomes if delay is not None]
            if name == "Friedman":
                cells.append("(no change)")
            elif delays:
                cells.append(f"{statistics.median(delays):,.0f} ({len(delays)}/{len(outcomes)})")
            else:
                cells.append(f"never (0/{len(outcomes)})")
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    caption = (
        f"{args.seeds} seeds; test MAE {statistics.median(maes):.3f} (median); checks every "
        f"{CHECK_EVERY} rows, feedback on every {args.feedback_every}th row, change at row "
        f"{CHANGE:,}; false alarms and nearest: the checks before the change (all on Friedman)"
    )
    print(table)
    print(caption)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "regression_triggers.md").write_text(table + "\n\n" + caption + "\n")


if __name__ == "__main__":
    main()
