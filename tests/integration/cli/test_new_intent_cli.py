"""An update that brings a new intent with few examples, with the default config, and what
``train --promote`` says and returns when the gate rejects."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lifelong
from lifelong.cli.main import app
from lifelong.pipelines.loop import EXIT_REJECTED
from lifelong.project import Project
from lifelong.testing.new_intent import LABEL, few_examples, held_out

pytestmark = pytest.mark.integration

SALT = "new-intent-0"  # fixed, so the 14 examples split the same way (3 test, 1 valid) every run


def run(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--project", str(project), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    config = root / "config.yml"
    config.write_text(re.sub(r'salt: "[^"]*"', f'salt: "{SALT}"', config.read_text()))
    return root


def _add_new_intent(project: Path) -> list[dict[str, str]]:
    rows = few_examples(Project.load(project).config.splits)
    with (project / "data" / "loyalty.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "intent"])
        writer.writeheader()
        writer.writerows({"text": r["text"], "intent": r["intent"]} for r in rows)
    return rows


@pytest.mark.slow
def test_a_new_intent_with_14_examples_is_learned_and_promoted_with_the_defaults(
    project: Path,
) -> None:
    code, out = run(project, "train")
    assert code == 0, out
    rows = _add_new_intent(project)
    code, out = run(project, "train", "--finetune", "--promote", "--json")
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["promoted"] is True, summary["verdict"]["reasons"]
    training = summary["training"]
    assert training["labels_added"] == [LABEL]
    assert training["epochs"] == 2  # the default update's length: no longer
    assert training["new_intents"] == {"oversampled": 5, "imprinted": [LABEL]}
    champion = lifelong.load("champion", project=project)
    assert champion.version == "1.1"
    in_test = [r["text"] for r in rows if r["split"] == "test"]
    assert sum(p == LABEL for p in champion.predict(in_test)) >= 2  # of 3
    unseen = held_out(rows)
    recall = sum(p == LABEL for p in champion.predict(unseen)) / len(unseen)
    assert recall >= 0.5, recall


def test_train_promote_exits_as_update_does_on_a_reject_with_a_hint(project: Path) -> None:
    small = ["--set", "pipeline.ngrams.buckets=16384", "--set", "pipeline.hidden=64"]
    assert run(project, *small, "--set", "training.epochs=3", "train")[0] == 0
    # nothing new: a tie, which `tie: keep` rejects
    keep = [*small, "--set", "training.epochs=3", "--set", "policy.gate.tie=keep"]
    code, out = run(project, *keep, "train", "--finetune", "--promote")
    assert code == EXIT_REJECTED == 11, out
    assert "reject 1.1" in out
    assert "hint:" in out
    assert "--epoch-fraction 1.0" in out
    assert "`lifelong train --promote`" in out
    code, out = run(project, *keep, "train", "--finetune", "--promote", "--json")
    assert code == EXIT_REJECTED, out
    assert json.loads(out[out.index("{") :])["promoted"] is False
