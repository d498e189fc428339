"""Poisoned batches through the inbox and `lifelong update`, on the sample project with its
default pipeline: the intake screen holds both attacks for review; clean batches are promoted.

Before (no screen, a gate that pooled old and new test examples), both attacks were promoted as
"significantly better" (their own test examples agree with their poison) and a clean batch was
rejected for losing 2 examples. The gate alone is tested on a poison it must see
(tests/integration/loop/test_cycles.py, two intents swapped) and on synthetic predictions
(tests/unit/evaluation/test_gate.py); on these two attacks, with the sample's ~90 old test
examples, it rejects about half the time (bench/poison.py --no-screen).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from lifelong.pipelines import review
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


def _inbox(trained: Path, tmp_path: Path, batch: str) -> Project:
    """Copy the trained project and drop ``batch`` in its inbox."""
    root = tmp_path / "demo"
    shutil.copytree(trained, root)
    project = Project.load(root)
    rows = _batch(root, batch)
    (project.inbox / "batch.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return project


@pytest.mark.parametrize("batch", ["paraphrases", "junk"])
def test_the_screen_quarantines_both_attacks(trained: Path, tmp_path: Path, batch: str) -> None:
    project = _inbox(trained, tmp_path, batch)
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        result = run_cycle(project, registry)
        held = [item for item in review.items(registry) if item.reason == "suspicious"]
        champion = registry.store.aliases()["champion"]
    assert result.outcome == "nothing", result.data  # nothing new left to train on
    assert champion == "1.0"
    assert len(held) >= 190, result.data  # of 200
    assert result.data["screen"], result.data  # the cycle history says why


@pytest.mark.parametrize("batch", ["day1", "day2", "day3"])
def test_clean_batches_are_promoted(trained: Path, tmp_path: Path, batch: str) -> None:
    project = _inbox(trained, tmp_path, batch)
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        result = run_cycle(project, registry)
        held = review.items(registry)
        champion = registry.store.aliases()["champion"]
    (judgement,) = result.judgements
    assert result.outcome == "promoted", judgement.verdict.reasons
    assert champion == judgement.challenger
    old = judgement.verdict.slice("old")
    assert old is not None
    assert not old.violated
    assert len(held) <= 2, [(item.text, item.intent, item.detail) for item in held]


def test_a_trusted_set_is_judged_apart_by_the_loop(trained: Path, tmp_path: Path) -> None:
    project = _inbox(trained, tmp_path, "day3")
    gold = _rows(project.root / "batches" / "day1.jsonl")[:30]  # texts the data does not have
    (project.root / "trusted").mkdir()
    (project.root / "trusted" / "gold.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in gold)
    )
    config = yaml.safe_load((project.root / "config.yml").read_text())
    config["trusted"] = ["trusted"]
    (project.root / "config.yml").write_text(yaml.safe_dump(config))
    project = Project.load(project.root)
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        result = run_cycle(project, registry)
    (judgement,) = result.judgements
    verdict = judgement.verdict
    trusted, old, new = (verdict.slice(name) for name in ("trusted", "old", "new"))
    assert trusted is not None, verdict.reasons
    assert old is not None
    assert new is not None
    assert (trusted.n_examples, trusted.checked) == (30, True)
    assert verdict.n_examples == old.n_examples + new.n_examples  # not in the test figures
    assert any("trusted examples (30)" in r for r in verdict.reasons)  # explained, veto or not
