"""The trusted set: read apart, never in a training split, and validated like any data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifelong.config import parse_config
from lifelong.core.errors import ValidationFailed
from lifelong.data import load_dataset
from lifelong.project import Project


def _write(path: Path, rows: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows))


def _project(root: Path, trusted: list[tuple[str, str]]) -> Project:
    data = [(f"where is order number {n}", "order") for n in range(40)]
    data += [(f"hello there friend {n}", "greet") for n in range(40)]
    _write(root / "data" / "base.jsonl", data)
    _write(root / "trusted" / "gold.jsonl", trusted)
    raw = {"data": ["data"], "trusted": ["trusted"], "splits": {"salt": "trusted-tests"}}
    return Project(root=root, config=parse_config(raw))


def test_trusted_examples_are_in_no_split_even_when_the_data_repeats_them(
    tmp_path: Path,
) -> None:
    # two texts of the data also in the trusted set: they must never train
    trusted = [("where is order number 3", "order"), ("hello there friend 7", "greet")]
    trusted += [("where is my parcel", "order"), ("good morning", "greet")]
    dataset = load_dataset(_project(tmp_path, trusted))
    assert dataset.trusted is not None
    assert len(dataset.trusted.examples) == 4
    texts = {e.text for name in ("train", "valid", "test") for e in getattr(dataset.splits, name)}
    assert texts.isdisjoint(e.text for e in dataset.trusted.examples.values())
    assert sum(dataset.splits.sizes().values()) == 78  # 80 in the data, 2 held out
    assert str(tmp_path / "trusted" / "gold.jsonl") in dataset.files


def test_a_malformed_trusted_file_fails_validation_with_its_line(tmp_path: Path) -> None:
    project = _project(tmp_path, [("where is my parcel", "order")])
    with (tmp_path / "trusted" / "gold.jsonl").open("a") as handle:
        handle.write('{"text": "no intent here"}\n')
    with pytest.raises(ValidationFailed, match=r"gold\.jsonl:2"):
        load_dataset(project)


def test_without_trusted_files_there_is_no_trusted_set(tmp_path: Path) -> None:
    project = _project(tmp_path, [])
    bare = Project(root=tmp_path, config=project.config.model_copy(update={"trusted": []}))
    assert load_dataset(bare).trusted is None
