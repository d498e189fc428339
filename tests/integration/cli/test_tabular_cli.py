"""A tabular classification project through the CLI: train, update from the inbox, bad rows,
a poisoned batch, predict from a CSV."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lifelong.pipelines.session import load_bundle
from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.testing.cli import run_cli

pytestmark = pytest.mark.integration

SETTINGS = [
    "--set",
    "training.epochs=4",
    "--set",
    "pipeline.hidden=32",
    "--set",
    "pipeline.tabular.buckets=1024",
]
JOBS = ["clerk", "analyst", "manager", "director"]


def staff(
    n: int, seed: int, branches: tuple[str, ...] = ("north", "south", "east", "west")
) -> list[dict[str, object]]:
    """Rows whose job follows from income, branch and age (the shrink-and-perturb article's
    example of an employee's job type), 3% of incomes missing."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        age, branch = int(rng.integers(20, 65)), str(rng.choice(branches))
        income = round(float(rng.normal(40000 + 800 * (age - 20), 8000)), 2)
        score = 2 * (income > 60000) + (branch in ("north", "east")) + (age > 45)
        job = JOBS[min(3, int(score))]
        rows.append(
            {
                "sex": str(rng.choice(["male", "female"])),
                "age": age,
                "branch": branch,
                "income": income if rng.random() > 0.03 else "",
                "job": job,
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with its first model trained, copied by each test (training is the slow part)."""
    root = tmp_path_factory.mktemp("trained") / "staff"
    write_csv(root / "data" / "staff.csv", staff(1200, 1))
    (root / "inbox").mkdir()
    (root / "config.yml").write_text(
        "task: tabular\ncolumns: {target: job}\nsplits: {salt: tabular-test}\n"
        "policy: {screen: null, triggers: {time: null, performance: null, drift: null}}\n"
        "sources: [{inbox: true}]\n"
    )
    code, out = run_cli(root, SETTINGS, "train")
    assert code == 0, out
    assert "1.0 is now the champion" in out
    return root


@pytest.fixture
def project(trained: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "staff"
    shutil.copytree(trained, copy)
    return copy


def test_an_update_from_the_inbox_with_a_new_category_is_promoted(project: Path) -> None:
    write_csv(
        project / "inbox" / "batch.csv",
        staff(400, 2, ("north", "south", "east", "west", "central")),
    )
    code, out = run_cli(project, SETTINGS, "update")
    assert code == 0, out
    code, out = run_cli(project, SETTINGS, "models", "list")
    assert "1.1" in out
    assert "champion" in out
    code, out = run_cli(
        project,
        SETTINGS,
        "predict",
        '{"age": 50, "income": 90000, "branch": "north", "sex": "male"}',
    )
    assert code == 0, out
    assert "director" in out


def test_a_bad_value_is_refused_with_its_line_and_nothing_trains(project: Path) -> None:
    rows = staff(50, 3)
    rows[6]["age"] = "old"
    write_csv(project / "inbox" / "bad.csv", rows)
    code, out = run_cli(project, SETTINGS, "update")
    assert code != 0
    assert "bad.csv:8" in out
    assert "column 'age' is numeric" in out
    _, listed = run_cli(project, SETTINGS, "models", "list")
    assert "1.1" not in listed


def test_a_poisoned_batch_is_not_served(project: Path) -> None:
    rows = [{**row, "job": "clerk"} for row in staff(600, 4) if row["job"] == "director"]
    write_csv(project / "inbox" / "poison.csv", rows)
    code, out = run_cli(project, SETTINGS, "update")
    _, listed = run_cli(project, SETTINGS, "models", "list")
    champion_row = next(line for line in listed.split("│ 1.") if "champion" in line)
    assert champion_row.startswith("0"), (code, out, listed)


def test_predict_reads_rows_from_a_csv(project: Path, tmp_path: Path) -> None:
    rows = [{k: v for k, v in row.items() if k != "job"} for row in staff(5, 5)]
    write_csv(tmp_path / "rows.csv", rows)
    code, out = run_cli(
        project, SETTINGS, "predict", "--file", str(tmp_path / "rows.csv"), "--json"
    )
    assert code == 0, out
    assert out.count('"version": "1.0"') == 5


def test_rows_typed_alone_are_fitted_to_the_data_or_held_for_review(project: Path) -> None:
    lines = [
        '{"sex": "male", "age": "x", "branch": "north", "income": 50000, "job": "clerk"}',
        '{"sex": "male", "age": 30, "branch": 7, "income": 52000, "job": "clerk"}',
    ]
    (project / "inbox" / "odd.jsonl").write_text("\n".join(lines) + "\n")
    _, out = run_cli(project, SETTINGS, "update")
    assert "data validation failed" not in out
    assert "1 held for review" in out
    _, queue = run_cli(project, SETTINGS, "review", "list")
    assert "column 'age' is numeric" in queue
    ingested = list((project / "data" / "ingested").glob("*.jsonl"))
    assert len(ingested) == 1
    assert '"branch": "7"' in ingested[0].read_text()


def test_a_tabular_network_prunes_its_hidden_units_and_updates_at_that_width(
    project: Path,
) -> None:
    code, out = run_cli(project, SETTINGS, "compress", "1.0", "--method", "prune-neurons", "--json")
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert (summary["before"]["hidden_units"], summary["after"]["hidden_units"]) == (32, 16)
    assert summary["after"]["accuracy"] > 0.5
    write_csv(project / "data" / "more.csv", staff(400, 2))
    code, out = run_cli(project, SETTINGS, "train", "--finetune", "1.1", "--json")
    assert code == 0, out
    code, out = run_cli(project, SETTINGS, "models", "show", "1.2", "--json")
    assert code == 0, out
    record = json.loads(out[out.index("{") :])
    assert record["parent"] == "1.1"
    loaded = Project.load(project)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        bundle = load_bundle(loaded, registry, "1.2")
    assert bundle.module.hidden.out_features == 16  # type: ignore[union-attr]
