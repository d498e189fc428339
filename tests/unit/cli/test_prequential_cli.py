"""``lifelong evaluate --prequential FILE`` on a small table in a tmp project."""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.testing.cli import run_cli


def _tabular_project(root: Path) -> Path:
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    path = root / "config.yml"
    config = yaml.safe_load(path.read_text())
    config.update(task="tabular", columns={"target": "label"}, data=["stream.csv"])
    config["pipeline"] = {"name": "tabular"}
    path.write_text(yaml.safe_dump(config))
    rng = random.Random(0)
    lines = ["a,color,label"]
    for _ in range(300):
        a, color = rng.random(), rng.choice(["red", "blue"])
        lines.append(f"{a:.4f},{color},{'hi' if a > 0.5 else 'lo'}")
    stream = root / "stream.csv"
    stream.write_text("\n".join(lines) + "\n")
    return stream


def test_prequential_prints_the_figures_and_writes_the_plot(tmp_path: Path) -> None:
    stream = _tabular_project(tmp_path)
    code, out = run_cli(tmp_path, [], "evaluate", "--prequential", str(stream), "--window", "100")
    assert code == 0, out
    for figure in ("300 rows, accuracy", "kappa ", "kappa-temporal", "rows/s"):
        assert figure in out
    assert (tmp_path / "prequential.png").read_bytes()[:4] == b"\x89PNG"
    code, out = run_cli(
        tmp_path,
        [],
        "evaluate",
        "--prequential",
        str(stream),
        "--json",
        "--plot",
        "p.png",
        "--forget",
        "0.8",
    )
    figures = json.loads(out)
    assert code == 0
    assert figures["rows"] == 300
    assert figures["accuracy"] > 0.7
    assert (tmp_path / "p.png").exists()


def test_prequential_needs_a_tabular_project(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["init", str(tmp_path)]).exit_code == 0
    code, out = run_cli(tmp_path, [], "evaluate", "--prequential", "data/extra.jsonl")
    assert code != 0
    assert "task: text" in out
    assert "task: tabular" in out


def test_prequential_of_a_regression_project_prints_mae(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["init", str(tmp_path)]).exit_code == 0
    path = tmp_path / "config.yml"
    config = yaml.safe_load(path.read_text())
    config.update(
        task="tabular", columns={"target": "y", "kind": "regression"}, data=["stream.csv"]
    )
    config["pipeline"] = {"name": "tabular"}
    path.write_text(yaml.safe_dump(config))
    rng = random.Random(0)
    lines = ["a,color,y"] + [
        f"{a:.4f},{rng.choice(['red', 'blue'])},{10 * a + 3:.4f}"
        for a in (rng.random() for _ in range(200))
    ]
    stream = tmp_path / "stream.csv"
    stream.write_text("\n".join(lines) + "\n")
    code, out = run_cli(tmp_path, [], "evaluate", "--prequential", str(stream), "--window", "50")
    assert code == 0, out
    for figure in ("200 rows, MAE", "RMSE", "no-change MAE", "rows/s"):
        assert figure in out
    code, out = run_cli(tmp_path, [], "evaluate", "--prequential", str(stream), "--json")
    figures = json.loads(out)
    assert code == 0
    assert figures["rows"] == 200
    assert figures["mae"] < figures["no_change_mae"]
    assert (tmp_path / "prequential.png").read_bytes()[:4] == b"\x89PNG"
