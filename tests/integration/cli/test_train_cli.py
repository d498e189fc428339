"""``lifelong train`` / ``--finetune`` / ``evaluate`` / ``challenge`` on a real project.

Runs the real commands in-process on the sample project with a small pipeline (fast to train)
and checks what the registry recorded: lineage, init strategy, label surgery, verdicts.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.testing.cli import run_cli, small_settings

pytestmark = pytest.mark.integration

SMALL = small_settings(6)


def run(project: Path, *args: str) -> tuple[int, str]:
    return run_cli(project, SMALL, *args)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert CliRunner().invoke(app, ["init", str(tmp_path / "demo")]).exit_code == 0
    return tmp_path / "demo"


def _summary(out: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(out[out.index("{") :])
    return data


def test_cold_then_finetune_with_a_new_intent(project: Path) -> None:
    code, out = run(project, "train", "--json")
    assert code == 0, out
    first = _summary(out)
    assert first["version"] == "1.0"
    assert first["promoted"] is True  # the first model clears the floor and becomes champion
    shutil.copy(project / "batches" / "day2.csv", project / "data" / "day2.csv")
    code, out = run(project, "train", "--finetune", "--epoch-fraction", "0.5", "--json")
    assert code == 0, out
    second = _summary(out)
    assert second["version"] == "1.1"
    assert second["parent"] == "1.0"
    training = second["training"]
    assert isinstance(training, dict)
    assert training["labels_added"] == ["gift_card"]
    assert training["epochs"] == 3
    assert training["init"]["strategy"] == "warm"
    diff = second["data_diff"]
    assert isinstance(diff, dict)
    assert diff["new_labels"] == ["gift_card"]
    assert diff["added"] == 157
    with open_registry(
        Project.load(project).store_url, Project.load(project).artifacts_dir
    ) as registry:
        assert [v.label for v in registry.ancestors("1.1")] == ["1.0"]
        assert registry.store.aliases()["champion"] == "1.0"
    code, out = run(project, "challenge", "1.1")
    assert code == 0, out
    assert "1.1 vs champion 1.0" in out
    code, out = run(project, "models", "show", "1.1", "--json")
    record = json.loads(out[out.index("{") :])
    assert record["verdict"]["challenger_version"] == "1.1"
    assert record["metrics"]["forgetting"]["n_old"] > 0
    code, out = run(project, "lineage")
    assert "1.0" in out
    assert "1.1" in out


def test_finetune_shrink_perturb_and_strict_labels(project: Path) -> None:
    assert run(project, "train", "--json")[0] == 0
    shutil.copy(project / "batches" / "day2.csv", project / "data" / "day2.csv")
    code, out = run(project, "train", "--finetune", "1.0", "--strict-labels")
    assert code == 1
    assert "gift_card" in out
    code, out = run(
        project, "--set", "finetune.init=shrink_perturb", "train", "--finetune", "1.0", "--json"
    )
    assert code == 0, out
    training = _summary(out)["training"]
    assert isinstance(training, dict)
    assert training["init"]["strategy"] == "shrink_perturb"
    assert training["init"]["shrink"] == 0.6
    assert training["init"]["perturb"] == 0.01


def test_errors_leave_nothing_registered(project: Path, tmp_path: Path) -> None:
    code, out = run(project, "train", "--finetune")
    assert code == 1
    assert "no model to fine-tune" in out
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    code, out = run(project, "train", "--finetune", str(not_a_model))
    assert code == 1
    assert "not a lifelong model bundle" in out
    (project / "data" / "bad.jsonl").write_text('{"text": "", "intent": "greet"}\n')
    code, out = run(project, "train")
    assert code == 1
    assert "bad.jsonl:1" in out
    code, out = run(project, "models", "list")
    assert "no models registered yet" in out


def test_incompatible_pipeline_names_the_keys(project: Path) -> None:
    assert run(project, "train")[0] == 0
    code, out = run(project, "--set", "pipeline.ngrams.dim=16", "train", "--finetune")
    assert code == 1
    assert "pipeline.ngrams.dim" in out or "dim" in out
    assert "lifelong train" in out


def test_corrupt_artifact_is_a_clear_error(project: Path) -> None:
    assert run(project, "train")[0] == 0
    artifacts = Project.load(project).artifacts_dir
    weights = next(artifacts.rglob("weights.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    code, out = run(project, "train", "--finetune")
    assert code == 1
    assert "1.0" in out
    assert "corrupt" in out.lower()


def test_evaluate_with_an_out_of_scope_intent_and_a_report(project: Path) -> None:
    oos = [
        "what is the capital of peru",
        "tell me a joke about cats",
        "how tall is mount everest",
        "who won the football game last night",
        "recommend a good science fiction novel",
        "what's the square root of 144",
        "translate goodbye into german",
        "how do volcanoes form",
        "is it going to snow in oslo",
        "what year did the moon landing happen",
        "sing me a song please",
        "how many legs does a spider have",
        "best way to cook pasta al dente",
        "what does photosynthesis mean",
        "can you recommend a podcast",
        "how far away is the sun",
        "who painted the mona lisa",
        "what's a good name for a goldfish",
        "explain quantum computing simply",
        "how do i fix a flat bike tire",
    ]
    lines = "".join(json.dumps({"text": t, "intent": "oos"}) + "\n" for t in oos)
    (project / "data" / "oos.jsonl").write_text(lines)
    config = project / "config.yml"
    # Two split salts: "oos-11" puts 5 out-of-scope examples into valid, "oos-3" none.
    thresholds = {}
    for salt in ("oos-11", "oos-3"):
        config.write_text(re.sub(r'salt: "[^"]*"', f'salt: "{salt}"', config.read_text()))
        shutil.rmtree(project / ".lifelong", ignore_errors=True)
        assert run(project, "train")[0] == 0
        code, out = run(project, "evaluate", "--json", "--report", str(project / "report"))
        assert code == 0, out
        report = json.loads(out[out.index("{") :])
        assert report["oos"]["label"] == "oos"
        thresholds[salt] = report["oos"]["threshold"]
        assert (project / "report" / "report.md").read_text().count("#") > 2
        assert (project / "report" / "reliability.png").exists()
        code, out = run(project, "models", "show", "1.0", "--json")
        stored = json.loads(out[out.index("{") :])["metrics"]["evaluation"]
        assert stored["oos"]["label"] == "oos"
    assert 0.0 <= thresholds["oos-11"] <= 1.0
    assert thresholds["oos-3"] is None  # no oos in valid: reported, without a threshold


def test_challenge_records_a_rejected_verdict_and_keeps_the_champion(project: Path) -> None:
    assert run(project, "train")[0] == 0
    # a challenger that barely trained: the gate rejects it
    weak = [*SMALL, "--set", "training.epochs=1", "--set", "training.lr=1e-9"]
    weak += ["--set", "training.sparse_lr=1e-9", "--set", "training.seed=7"]
    code, out = run_cli(project, weak, "train", "--json")
    assert code == 0, out
    label = str(_summary(out)["version"])
    code, out = run(project, "challenge", label)
    assert code == 0, out
    assert "no challenger earned promotion" in out
    code, out = run(project, "models", "show", label, "--json")
    record = json.loads(out[out.index("{") :])
    assert record["verdict"]["challenger_version"] == label
    assert record["verdict"]["decision"] == "reject"
    loaded = Project.load(project)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        assert registry.store.aliases()["champion"] == "1.0"
    code, out = run(project, "challenge", label, "--dry-run")
    assert code == 0, out
    assert "dry run: nothing recorded" in out
