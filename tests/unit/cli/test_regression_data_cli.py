"""A regression project's data and versions are described by rows and target ranges, not by
"intents" (every distinct target value would be one)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lifelong.core.types import Example
from lifelong.data import Snapshot, diff
from lifelong.testing.cli import run_cli

SETTINGS = [
    "--set",
    "pipeline.hidden=16",
    "--set",
    "pipeline.tabular.buckets=256",
    "--set",
    "pipeline.tabular.dim=8",
    "--set",
    "training.epochs=2",
]


def _rows(path: Path, n: int, seed: int, offset: float) -> None:
    rng = random.Random(seed)
    lines = ["a,city,y"]
    for _ in range(n):
        a = rng.random()
        lines.append(f"{a:.4f},{rng.choice(['x', 'z'])},{10 * a + offset:.4f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def test_a_regression_diff_summary_has_target_ranges_not_labels() -> None:
    old = Snapshot.of([Example.make("r1", "1.5"), Example.make("r2", "2.5")])
    new = Snapshot.of(
        [Example.make("r1", "1.5"), Example.make("r3", "10"), Example.make("r4", "20")]
    )
    summary = diff(old, new).summary("regression")
    assert summary == {
        "added": 2,
        "removed": 1,
        "relabeled": 0,
        "target": {
            "added": {"rows": 2, "min": 10.0, "mean": 15.0, "max": 20.0},
            "removed": {"rows": 1, "min": 2.5, "mean": 2.5, "max": 2.5},
        },
    }
    assert diff(old, old).summary("regression")["target"] == {"added": None, "removed": None}
    assert "new_labels" in diff(old, new).summary()


@pytest.mark.slow
def test_validate_diff_and_show_speak_of_rows_and_targets(tmp_path: Path) -> None:
    root = tmp_path / "prices"
    _rows(root / "data" / "rows.csv", 120, 0, offset=100.0)
    (root / "config.yml").write_text(
        "task: tabular\ncolumns: {target: y, kind: regression}\npolicy: {screen: null}\n"
    )
    code, out = run_cli(root, [], "data", "validate")
    assert code == 0, out
    assert "120 rows" in out
    assert "target min" in out
    assert "intent" not in out

    _rows(tmp_path / "more.csv", 30, 1, offset=500.0)
    code, out = run_cli(root, [], "data", "diff", "--add", str(tmp_path / "more.csv"))
    assert code == 0, out
    assert "added rows" in out
    assert "target 500" in out
    assert "intent" not in out

    code, out = run_cli(root, SETTINGS, "train")
    assert code == 0, out
    code, out = run_cli(root, [], "models", "show", "1.0")
    assert code == 0, out
    assert "added targets 100" in out
    assert "intents" not in out
