"""Poisoned batches against the gate, through the inbox and `lifelong update`, on the sample
project with its default pipeline: the attacks are rejected, clean batches are promoted.

Before the gate judged old and new examples apart, both attacks were promoted as
"significantly better" (their own test examples agree with their poison) and a clean batch was
rejected for losing 2 examples.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from lifelong.pipelines.loop import run_cycle
from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.scaffold import init_project
from lifelong.testing import junk, paraphrases_of_refunds

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        if path.suffix == ".csv":
            return [{"text": r["text"], "intent": r["intent"]} for r in csv.DictReader(handle)]
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project (default pipeline, fixed split salt) with 1.0 as champion."""
    root = tmp_path_factory.mktemp("poison") / "demo"
    init_project(root)
    config_path = root / "config.yml"
    config = yaml.safe_load(config_path.read_text())
    config["splits"]["salt"] = "poison-tests"  # init draws a random salt; tests must not vary
    config_path.write_text(yaml.safe_dump(config))
    project = Project.load(root)
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        assert run_cycle(project, registry).outcome == "promoted"
    return root


def _batch(root: Path, name: str) -> list[dict[str, str]]:
    batches = root / "batches"
    if name == "paraphrases":  # finding 1: 200 paraphrases of refund_status as order_status
        return paraphrases_of_refunds(200, label="order_status", seed=0)
    if name == "junk":  # finding 1: 200 random-word texts labelled greet
        words = re.findall(
            r"[a-z]+", " ".join(r["text"].lower() for r in _rows(batches / "day1.jsonl"))
        )
        return junk(200, label="greet", vocabulary=words, seed=0)
    return _rows(next(batches.glob(f"{name}.*")))


@pytest.mark.parametrize(
    ("batch", "outcome"),
    [
        ("paraphrases", "rejected"),
        ("junk", "rejected"),
        ("day1", "promoted"),
        ("day2", "promoted"),
        ("day3", "promoted"),
    ],
)
def test_the_gate_rejects_poison_and_promotes_clean_batches(
    trained: Path, tmp_path: Path, batch: str, outcome: str
) -> None:
    root = tmp_path / "demo"
    shutil.copytree(trained, root)
    project = Project.load(root)
    rows = _batch(root, batch)
    (project.inbox / "batch.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        result = run_cycle(project, registry, force=True)
        (judgement,) = result.judgements
        verdict = judgement.verdict
        assert result.outcome == outcome, verdict.reasons
        champion = registry.store.aliases()["champion"]
    if outcome == "rejected":
        assert champion == "1.0"
        vetoes = [r for r in verdict.reasons if r.startswith(("backward transfer", "intent "))]
        assert vetoes, verdict.reasons
        # over the whole test split, with the batch's own test examples, it looked better
        assert verdict.difference is not None
        assert verdict.difference > 0
    else:
        assert champion == judgement.challenger
        old = verdict.slice("old")
        assert old is not None
        assert not old.violated
