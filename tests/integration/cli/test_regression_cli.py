"""A regression project through the CLI: the first model clears the R2 floor, a clean update
wins the Wilcoxon gate, a batch of poisoned targets is rejected on the old examples."""

from __future__ import annotations

import csv
import json
import time
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


def _row(x1: float, x2: float, city: str) -> dict[str, object]:
    return {"x1": round(x1, 4), "x2": round(x2, 4), "city": city}


def test_the_loop_watches_a_regression_models_predicted_values_and_feedback_errors(
    tmp_path: Path,
) -> None:
    """Served through the HTTP app and checked by `lifelong update --dry-run`: traffic like the
    training data leaves both triggers quiet; rows moved away from it (x1 + 6) and targets
    moved away from the model (+10) fire drift on the predicted values and performance on the
    feedback MAE, each saying on what figures."""
    from fastapi.testclient import TestClient

    from lifelong.data.schema import canonical_row
    from lifelong.project import Project
    from lifelong.serving import ServeSettings, create_app

    root = tmp_path / "prices"
    write_rows(root / "data" / "rows.csv", 2000, 0)
    (root / "config.yml").write_text(
        "task: tabular\ncolumns: {target: y, kind: regression}\nsplits: {salt: reg-test}\n"
        "policy: {screen: null, triggers: {time: null, volume: null, "
        "drift: {min_samples: 150}}}\n"
        "server: {log_process: false, log_flush_ms: 10, feedback_rate: 100000, "
        "feedback_burst: 100000}\n"
    )
    code, out = run_cli(root, SETTINGS, "train")
    assert code == 0, out
    code, shown = run_cli(root, SETTINGS, "models", "show", "1.0", "--json")
    metrics = json.loads(shown)["metrics"]
    assert len(metrics["reference"]["values"]) == metrics["split_sizes"]["test"] >= 150

    project = Project.load(root)
    settings = ServeSettings.from_project(project, env={"LIFELONG_FEEDBACK_TOKEN": "tok"})
    rng = np.random.default_rng(9)

    def traffic(client: TestClient, n: int, x1_shift: float, y_shift: float, feedback: int) -> None:
        x1, x2 = rng.normal(10 + x1_shift, 2, n), rng.normal(0, 1, n)
        city = rng.choice(["a", "b", "c"], n)
        rows = [_row(a, b, str(c)) for a, b, c in zip(x1, x2, city, strict=True)]
        y = 3 * x1 - 2 * x2 + 5 * (city == "b") + rng.normal(0, 0.5, n) + y_shift
        answers = []
        for start in range(0, n, 100):
            answer = client.post("/predict", json={"rows": rows[start : start + 100]})
            assert answer.status_code == 200, answer.text
            answers += answer.json()["predictions"]
        for row, truth, answer in list(zip(rows, y, answers, strict=True))[:feedback]:
            body = {"text": canonical_row(row), "intent": f"{truth:.4f}"}
            body["prediction_id"] = answer["prediction_id"]
            sent = client.post("/feedback", json=body, headers={"Authorization": "Bearer tok"})
            assert sent.status_code == 200, sent.text

    def wait_logged(n: int) -> None:
        from lifelong.registry import open_registry

        deadline = time.monotonic() + 60
        with open_registry(project.store_url, project.artifacts_dir) as registry:
            while len(registry.store.recent_predictions(limit=n)) < n:
                assert time.monotonic() < deadline, "the prediction log did not catch up"
                time.sleep(0.05)

    with TestClient(create_app(settings)) as client:
        while client.get("/ready").status_code != 200:
            time.sleep(0.05)
        traffic(client, 300, 0.0, 0.0, feedback=200)
        wait_logged(300)
        code, calm = run_cli(root, SETTINGS, "update", "--dry-run")
        assert code == 10, calm  # nothing to do
        assert "performance: quiet - feedback MAE" in calm
        assert "<= 1.25x" in calm
        assert "drift: quiet - no test found drift" in calm

        traffic(client, 1000, 6.0, 10.0, feedback=200)
        wait_logged(1300)
    code, shifted = run_cli(root, SETTINGS, "update", "--dry-run")
    assert "triggers fired: performance, drift" in shifted, shifted
    assert "performance: fired - feedback MAE" in shifted
    assert "> 1.25x" in shifted
    assert "drift: fired - predicted_value: psi" in shifted
