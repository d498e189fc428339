"""``lifelong train`` on a tabular project read as a stream: a files snapshot per version, an
update, and a bad row in a later file that registers nothing."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.testing.cli import run_cli

pytestmark = pytest.mark.integration

SETTINGS = [
    arg
    for key, value in {
        "training.stream": "true",
        "training.epochs": "2",
        "pipeline.hidden": "16",
        "pipeline.tabular.buckets": "256",
        "pipeline.tabular.dim": "8",
        "policy.gate.floor": "0",
    }.items()
    for arg in ("--set", f"{key}={value}")
]


def _rows(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    lines = ["a,city,y"]
    for _ in range(n):
        a = rng.random()
        lines.append(f"{a:.4f},{rng.choice(['x', 'z'])},{'big' if a > 0.5 else 'small'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _project(root: Path, kind: str) -> Path:
    _rows(root / "data" / "rows.csv", 150, 0)
    (root / "config.yml").write_text(
        f"task: tabular\ncolumns: {{target: y, kind: {kind}}}\npolicy: {{screen: null}}\n"
    )
    return root


def _versions(root: Path) -> list[str]:
    project = Project.load(root)
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        return [v.label for v in registry.versions()]


@pytest.mark.slow
def test_a_streamed_tabular_project_trains_updates_and_refuses_a_late_bad_row(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "rows", "classification")
    code, out = run_cli(root, SETTINGS, "train", "--json")
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["training"]["data"] == "stream"
    assert summary["data_diff"]["files_added"] == ["data/rows.csv"]
    _rows(root / "data" / "more.csv", 60, 1)
    code, out = run_cli(root, SETTINGS, "train", "--finetune")
    assert code == 0, out
    code, out = run_cli(root, SETTINGS, "data", "validate")
    assert code == 0, out
    assert "2 classes in training (streamed)" in out
    late = _rows(root / "data" / "zz-late.csv", 30, 2)
    lines = late.read_text().splitlines()
    lines[20] = lines[20].rsplit(",", 1)[0] + ","  # no target on line 21
    late.write_text("\n".join(lines) + "\n")
    code, out = run_cli(root, SETTINGS, "train", "--finetune")
    assert code != 0
    assert "zz-late.csv:21" in out
    assert _versions(root) == ["1.0", "1.1"]


@pytest.mark.slow
def test_a_streamed_regression_project_trains(tmp_path: Path) -> None:
    root = tmp_path / "prices"
    rng = random.Random(0)
    lines = ["a,city,y"] + [
        f"{a:.4f},{rng.choice(['x', 'z'])},{10 * a + 100:.4f}"
        for a in (rng.random() for _ in range(150))
    ]
    (root / "data").mkdir(parents=True)
    (root / "data" / "rows.csv").write_text("\n".join(lines) + "\n")
    (root / "config.yml").write_text(
        "task: tabular\ncolumns: {target: y, kind: regression}\npolicy: {screen: null}\n"
    )
    code, out = run_cli(root, SETTINGS, "train", "--json")
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["training"]["data"] == "stream"
    assert summary["metrics"]["split_sizes"]["train"] > 100
    assert summary["metrics"]["r2"] > 0  # learnt something in 2 epochs (the target spread is 3)
    assert summary["data_diff"]["new_labels"] == []  # no target value is counted as a label
    code, out = run_cli(root, SETTINGS, "data", "validate")
    assert code == 0, out
    assert "150 rows (streamed)" in out
