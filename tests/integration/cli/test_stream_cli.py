"""``lifelong train`` on data read as a stream: file snapshots, diffs by file, refusals."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.data.read import read_paths
from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.testing.cli import run_cli, small_settings

pytestmark = pytest.mark.integration

STREAM = small_settings(4, **{"training.stream": "true", "policy.gate.floor": "0"})


def run(project: Path, *args: str) -> tuple[int, str]:
    return run_cli(project, STREAM, *args)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The sample project with its Rasa file turned into JSON Lines (a stream reads JSONL,
    CSV and Parquet)."""
    root = tmp_path / "demo"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    nlu = root / "data" / "nlu.yml"
    rows = read_paths([nlu]).examples
    (root / "data" / "nlu.jsonl").write_text(
        "".join(json.dumps({"text": e.original, "intent": e.label}) + "\n" for e in rows)
    )
    nlu.unlink()
    return root


def _summary(out: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(out[out.index("{") :])
    return data


def test_streamed_versions_snapshot_files_and_diff_by_file(project: Path) -> None:
    code, out = run(project, "train", "--json")
    assert code == 0, out
    first = _summary(out)
    training = first["training"]
    assert isinstance(training, dict)
    assert training["data"] == "stream"
    diff = first["data_diff"]
    assert isinstance(diff, dict)
    assert diff["files_added"] == ["data/extra.jsonl", "data/nlu.jsonl"]
    shutil.copy(project / "batches" / "day1.jsonl", project / "data" / "day1.jsonl")
    extra = project / "data" / "extra.jsonl"
    intent = json.loads(extra.read_text().splitlines()[0])["intent"]
    with extra.open("a") as handle:
        handle.write(json.dumps({"text": "a brand new way to say it", "intent": intent}) + "\n")
    code, out = run(project, "data", "diff")
    assert code == 0, out
    assert re.search(r"added\W+1\W+data/day1.jsonl", out)
    assert re.search(r"changed\W+1\W+data/extra.jsonl", out)
    code, out = run(project, "train", "--finetune", "--json")
    assert code == 0, out
    second = _summary(out)
    assert second["parent"] == "1.0"
    diff = second["data_diff"]
    assert isinstance(diff, dict)
    assert diff["files_added"] == ["data/day1.jsonl"]
    (changed,) = diff["files_changed"]
    assert changed["rows_after"] == changed["rows_before"] + 1
    loaded = Project.load(project)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        snapshot = registry.store.get_snapshot(registry.resolve("1.1").snapshot_id)
        assert snapshot.kind == "files"
        assert len(registry.get_snapshot_files(snapshot.id)) == 3
    code, out = run(project, "models", "show", "1.1")
    assert code == 0, out
    assert "files +1 -0 ~1 changed" in out


def test_a_streamed_new_replay_update_trains_the_new_file_and_a_replay_sample(
    project: Path,
) -> None:
    replay = [*STREAM, "--set", "finetune.data=new+replay", "--set", "finetune.replay_size=40"]
    code, out = run_cli(project, replay, "train", "--json")
    assert code == 0, out
    cold = _summary(out)["training"]
    assert isinstance(cold, dict)
    shutil.copy(project / "batches" / "day2.csv", project / "data" / "day2.csv")
    code, out = run_cli(project, replay, "train", "--finetune", "--json")
    assert code == 0, out
    update = _summary(out)["training"]
    assert isinstance(update, dict)
    assert update["n_replay"] == 40
    day2 = read_paths([project / "batches" / "day2.csv"]).examples
    new_rows = update["n_train"] - update["n_replay"]
    assert 0 < new_rows <= len(day2) < cold["n_train"]  # day2's training rows, not all data
    assert "gift_card" in update["labels_added"]


def test_a_bad_row_in_the_last_file_registers_nothing(project: Path) -> None:
    code, out = run(project, "train")
    assert code == 0, out
    late = project / "data" / "zz-late.jsonl"
    late.write_text('{"text": "fine", "intent": "greet"}\n{"text": "no label here"}\n')
    code, out = run(project, "train", "--finetune")
    assert code != 0
    assert "zz-late.jsonl:2" in out
    code, out = run(project, "data", "validate")
    assert code != 0
    assert "zz-late.jsonl:2" in out
    loaded = Project.load(project)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        assert [v.label for v in registry.versions()] == ["1.0"]


def test_a_forced_stream_refuses_a_rasa_file(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    code, out = run(root, "train")
    assert code != 0
    assert "a streamed training reads .jsonl, .csv, .parquet files" in out
