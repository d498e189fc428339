"""``lifelong init``, ``data validate`` and ``data diff`` as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong import scaffold
from lifelong.cli.main import app
from lifelong.config import CONFIG_FILE, Finetune, Pipeline, Training, load_config

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def make_project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / CONFIG_FILE).write_text("splits: {valid: 0.1, test: 0.1, salt: t}\n")
    (root / "data").mkdir(exist_ok=True)
    for name, content in files.items():
        (root / "data" / name).write_text(content)
    return root


def test_init_creates_a_valid_project_with_sample_data(tmp_path: Path) -> None:
    code, out = run("init", str(tmp_path / "demo"))
    assert code == 0, out
    demo = tmp_path / "demo"
    for folder in ("data", "models", "inbox", "batches"):
        assert (demo / folder).is_dir()
    config = load_config(demo / CONFIG_FILE)
    assert re.fullmatch(r"[0-9a-f]{16}", config.splits.salt)
    code, out = run("--project", str(demo), "data", "validate")
    assert code == 0, out
    assert "data is valid" in out
    assert "intents" in out


ENCODER = pytest.mark.skipif(
    not scaffold.minilm_installed(), reason="the MiniLM encoder is not installed"
)


@pytest.mark.encoder
@ENCODER
def test_init_gives_a_text_project_minilm_when_the_encoder_is_installed(tmp_path: Path) -> None:
    code, out = run("init", str(tmp_path / "demo"))
    assert code == 0, out
    config = load_config(tmp_path / "demo" / CONFIG_FILE)
    assert config.pipeline.embeddings == "minilm"
    assert config.pipeline.ngrams.dim == scaffold.MINILM_RECIPE["pipeline"]["ngrams"]["dim"]
    layers = scaffold.MINILM_RECIPE["pipeline"]["embeddings_layers"]
    assert config.pipeline.embeddings_layers == layers
    recipe = scaffold.MINILM_RECIPE["training"]
    assert (config.training.lr, config.training.sparse_lr) == (recipe["lr"], recipe["sparse_lr"])
    assert config.training.keep == "last"
    assert config.finetune == Finetune.model_validate(scaffold.MINILM_RECIPE["finetune"])
    assert config.finetune.data == "new+replay"
    assert "MiniLM sentence embeddings (`--no-embeddings`" in " ".join(out.split())
    code, out = run("init", str(tmp_path / "plain"), "--no-embeddings")
    assert code == 0, out
    plain = load_config(tmp_path / "plain" / CONFIG_FILE)
    assert (plain.pipeline, plain.finetune) == (Pipeline(), Finetune())


def test_init_without_the_encoder_gives_n_grams_and_refuses_embeddings(tmp_path: Path) -> None:
    code, out = run("init", str(tmp_path / "demo"))  # the suite's conftest hides the encoder
    assert code == 0, out
    config = load_config(tmp_path / "demo" / CONFIG_FILE)
    assert (config.pipeline, config.training) == (Pipeline(), Training())
    assert "pip install 'lifelong[embeddings]'" in " ".join(out.split())
    code, out = run("init", str(tmp_path / "asked"), "--embeddings")
    assert code != 0
    assert "not installed" in out
    assert "lifelong[embeddings]" in out
    assert not (tmp_path / "asked").exists()
    code, out = run("init", str(tmp_path / "rows"), "--task", "tabular", "--embeddings")
    assert code != 0
    assert "text projects" in out
    assert not (tmp_path / "rows").exists()


def test_init_tabular_creates_a_table_project_whose_batch_previews_a_new_category(
    tmp_path: Path,
) -> None:
    code, out = run("init", str(tmp_path / "jobs"), "--task", "tabular")
    assert code == 0, out
    jobs = tmp_path / "jobs"
    config = load_config(jobs / CONFIG_FILE)
    assert (config.task, config.columns.target, config.pipeline.name) == (
        "tabular",
        "job",
        "tabular",
    )
    code, out = run("--project", str(jobs), "data", "validate")
    assert code == 0, out
    assert "director" in out
    batch = jobs / "batches" / "day1.csv"
    code, out = run("--project", str(jobs), "data", "diff", "--add", str(batch))
    assert code == 0, out
    assert re.search(r"added\W+299\b", out), out  # one of the 300 rows is in the data already


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    make_project(tmp_path, {})
    code, _ = run("init", str(tmp_path))
    assert code == 1


def test_validate_reports_every_error_and_exits_nonzero(tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        {
            "a.jsonl": '{"text": "hello", "intent": "greet"}\n{"text": "", "intent": "greet"}\n',
            "b.csv": "text,intent\nhello,goodbye\nbye,goodbye\n",
        },
    )
    code, out = run("--project", str(project), "data", "validate")
    assert code == 1
    assert "a.jsonl:2" in out
    assert "empty text" in out
    assert "more than one label" in out


def test_validate_reports_an_intent_training_would_refuse(tmp_path: Path) -> None:
    rows = [{"text": f"hello number {i}", "intent": "greet"} for i in range(5)]
    rows += [{"text": f"bye number {i}", "intent": "bye"} for i in range(5)]
    rows.append({"text": "hello", "intent": "no_such_intent"})  # what one feedback item did
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    project = make_project(tmp_path, {"a.jsonl": lines})
    code, out = run("--project", str(project), "data", "validate")
    assert code == 1
    assert "too few examples for the splits: 'no_such_intent' (1)" in out
    assert "data is valid" not in out


def test_diff_previews_a_batch_with_a_new_intent(tmp_path: Path) -> None:
    lines = [json.dumps({"text": f"hello number {i}", "intent": "greet"}) for i in range(5)]
    project = make_project(tmp_path, {"a.jsonl": "\n".join(lines) + "\n"})
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"text": "buy a gift card", "intent": "gift_card"}) + "\n")
    code, out = run("--project", str(project), "data", "diff", "--add", str(batch))
    assert code == 0, out
    assert "gift_card" in out
    assert re.search(r"added\s+│\s+1", out)


def test_unknown_config_key_names_the_path(tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    (project / CONFIG_FILE).write_text("training: {epochz: 3}\n")
    code, out = run("--project", str(project), "data", "validate")
    assert code == 1
    assert "training.epochz: unknown key" in out


@pytest.mark.parametrize("override", ["training.epochs=0", "splits.valid=0.9"])
def test_overrides_are_validated(tmp_path: Path, override: str) -> None:
    project = make_project(tmp_path, {})
    code, out = run("--project", str(project), "--set", override, "data", "validate")
    assert code == 1
    assert "a --set option is not valid" in out
    assert f"(from --set {override})" in out


def test_diff_since_the_last_snapshot(tmp_path: Path) -> None:
    lines = [json.dumps({"text": f"hello number {i}", "intent": "greet"}) for i in range(5)]
    project = make_project(tmp_path, {"a.jsonl": "\n".join(lines) + "\n"})
    code, out = run("--project", str(project), "data", "diff")
    assert code == 0, out
    assert "No snapshot yet" in out
    code, out = run("--project", str(project), "data", "snapshot")
    assert code == 0, out
    snapshot_id = out.split()[1].rstrip(":")
    (project / "data" / "b.csv").write_text("text,intent\nhello number 1,wave\nbye,goodbye\n")
    # "hello number 1" is now under two labels: validation refuses before any diff.
    code, out = run("--project", str(project), "data", "diff")
    assert code == 1
    assert "more than one label" in out
    (project / "data" / "a.jsonl").write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    code, out = run("--project", str(project), "data", "diff", "--since", snapshot_id[:8])
    assert code == 0, out
    assert re.search(r"relabeled\s+│\s+1", out)
    assert re.search(r"added\s+│\s+1", out)
    assert "goodbye, wave" in out
    code, out = run("--project", str(project), "data", "diff", "--since", "ffffffff")
    assert code == 1
    assert "no snapshot matches" in out


def test_bare_init_refuses_a_non_empty_folder_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    monkeypatch.chdir(tmp_path)
    code, out = run("init")
    assert code == 1
    assert "is not empty; nothing written" in out
    assert "lifelong init my-project" in out
    assert "--force" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    code, out = run("init", "--force")
    assert code == 0, out
    assert (tmp_path / CONFIG_FILE).is_file()


def test_bare_init_fills_an_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run("init")
    assert code == 0, out
    assert (tmp_path / CONFIG_FILE).is_file()


def test_a_bad_set_option_is_blamed_not_config_yml(tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    code, out = run("--project", str(project), "--set", "training.epochz=3", "data", "validate")
    assert code == 1
    assert "a --set option is not valid" in out
    assert "training.epochz: unknown key (from --set training.epochz=3)" in out
    assert "config.yml is not a valid" not in out
    (project / CONFIG_FILE).write_text("splits: {valid: 0.1, test: 0.1, salt: t}\nbogus: 1\n")
    code, out = run("--project", str(project), "--set", "training.epochz=3", "data", "validate")
    assert "config.yml is not a valid lifelong config" in out
    assert "  bogus: unknown key\n" in out


def test_finetune_from_a_missing_folder_says_the_path_does_not_exist(tmp_path: Path) -> None:
    assert run("init", str(tmp_path / "demo"))[0] == 0
    code, out = run("--project", str(tmp_path / "demo"), "train", "--finetune", "no/such/folder")
    assert code == 1
    flat = " ".join(out.split())
    assert "--finetune no/such/folder: the path" in flat
    assert "no/such/folder does not exist" in flat
    assert "nor an alias" in flat  # it is not a version either
    code, out = run("--project", str(tmp_path / "demo"), "models", "list")
    assert "no models registered yet" in out  # nothing trained
