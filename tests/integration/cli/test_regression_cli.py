"""A regression project through the CLI: the first model clears the R2 floor, a clean update
wins the Wilcoxon gate, a batch of poisoned targets is rejected on the old examples."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from lifelong.testing.cli import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SETTINGS = [
    "--set",
    "pipeline.hidden=32",
    "--set",
    "pipeline.tabular.buckets=1024",
    "--set",
    "pipeline.tabular.dim=16",
    "--set",
    "training.epochs=4",
    "--set",
    "training.batch_size=64",
    "--set",
    "finetune.epoch_fraction=1.0",
]


def write_rows(path: Path, n: int, seed: int, poisoned: float = 0.0) -> None:
    """``y = 3 x1 - 2 x2 + 5 [city = b] + noise``; a ``poisoned`` share of the rows gets the
    targets of other rows, times ten."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(10, 2, n), rng.normal(0, 1, n)
    city = rng.choice(["a", "b", "c"], n)
    y = 3 * x1 - 2 * x2 + 5 * (city == "b") + rng.normal(0, 0.5, n)
    bad = rng.choice(n, int(poisoned * n), replace=False)
    y[bad] = 10 * rng.permutation(y[bad])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "x2", "city", "y"])
        writer.writerows(
            [f"{a:.4f}", f"{b:.4f}", c, f"{t:.4f}"]
            for a, b, c, t in zip(x1, x2, city, y, strict=True)
        )


def test_the_regression_gate_promotes_a_clean_update_and_rejects_poisoned_targets(
    tmp_path: Path,
) -> None:
    root = tmp_path / "prices"
    write_rows(root / "data" / "rows.csv", 600, 0)
    (root / "config.yml").write_text(
        "task: tabular\ncolumns: {target: y, kind: regression}\nsplits: {salt: reg-test}\n"
        "policy: {screen: null}\n"
    )

    code, out = run_cli(root, SETTINGS, "train")
    assert code == 0, out
    assert "test MAE" in out
    assert "accuracy" not in out
    assert "first model of the project: R2" in out
    assert "1.0 is now the champion" in out

    write_rows(root / "data" / "more.csv", 200, 1)
    code, out = run_cli(root, SETTINGS, "train", "--finetune", "--promote")
    assert code == 0, out
    assert "significantly better: MAE" in out
    assert "Wilcoxon" in out
    assert "1.1 is now the champion" in out

    write_rows(root / "data" / "poison.csv", 200, 2, poisoned=0.3)
    code, out = run_cli(root, SETTINGS, "train", "--finetune", "--promote")
    assert code != 0, out
    assert "reject 1.2 vs champion 1.1" in out
    assert "backward transfer: old examples" in out

    code, listed = run_cli(root, SETTINGS, "models", "list")
    assert code == 0, listed
    assert "mae " in listed
    assert "│ 1.1 │ 1.0 finetune │ candidate │ champion │" in listed
    assert "│ 1.2 │ 1.1 finetune │ rejected │ - │" in listed
    code, shown = run_cli(root, SETTINGS, "models", "show", "1.2")
    assert code == 0, shown
    assert "Wilcoxon p (worse / better)" in shown
    assert "VIOLATED" in shown
    code, stored = run_cli(root, SETTINGS, "models", "show", "1.1", "--json")
    record = json.loads(stored)
    assert record["verdict"]["task"] == "regression"
    assert {"mae", "rmse", "r2", "valid_rmse"} <= set(record["metrics"])
    assert "accuracy" not in record["metrics"]
    code, evaluated = run_cli(root, SETTINGS, "evaluate", "champion")
    assert code == 0, evaluated
    assert "RMSE" in evaluated
