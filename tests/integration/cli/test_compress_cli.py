"""``lifelong compress`` on the sample project: registered, gated, served, rolled back,
fine-tuned from (a pruned head keeps its width); bad input refused with nothing registered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.data import load_dataset
from lifelong.models.objective import TEMPERATURE, Classification
from lifelong.pipelines.session import load_bundle
from lifelong.project import Project
from lifelong.registry import open_registry
from lifelong.serving.holder import ModelHolder
from lifelong.testing.cli import run_cli, small_settings
from lifelong.training.calibrate import fit_temperature

pytestmark = pytest.mark.integration

# a full-table parent (the form versions had before compact storage became the default)
SMALL = small_settings(2, **{"compress.latency_texts": "20", "pipeline.ngrams.storage": "full"})


def run(project: Path, *args: str) -> tuple[int, str]:
    return run_cli(project, SMALL, *args)


def _json(out: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(out[out.index("{") :])
    return data


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert CliRunner().invoke(app, ["init", str(tmp_path / "demo")]).exit_code == 0
    assert run(tmp_path / "demo", "train")[0] == 0
    return tmp_path / "demo"


def _labels(project: Path) -> list[str]:
    loaded = Project.load(project)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        return [v.label for v in registry.versions()]


def test_compress_registers_gates_serves_rolls_back_and_finetunes(project: Path) -> None:
    code, out = run(project, "compress", "1.0", "--method", "prune", "--json")
    assert code == 0, out
    pruned = _json(out)
    assert (pruned["version"], pruned["parent"], pruned["edge"]) == ("1.1", "1.0", "compress")
    before, after = pruned["before"], pruned["after"]
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    assert after["weights_format"] == "sparse-fp32"
    assert after["bytes"] < before["bytes"]
    assert after["stored_rows"] < before["stored_rows"] == 16384
    assert pruned["promoted"] is False  # judged, but promotion was not asked for
    code, out = run(project, "compress", "1.1", "--method", "int8", "--promote", "--json")
    assert code == 0, out
    int8 = _json(out)
    assert int8["after"]["weights_format"] == "sparse-int8"  # type: ignore[index]
    verdict = int8["verdict"]
    assert isinstance(verdict, dict)
    assert int8["promoted"] is (verdict["decision"] == "promote")
    code, out = run(project, "models", "show", "1.2", "--json")
    record = _json(out)
    assert record["training"]["applied"] == ["prune", "int8"]  # type: ignore[index]
    assert record["metrics"]["compression"]["after"]["bytes"] == sum(  # type: ignore[index]
        f["size"]
        for f in record["artifact_files"].values()  # type: ignore[attr-defined]
    )
    code, out = run(project, "models", "show", "1.2")
    assert "sparse-int8" in out
    assert "compression (int8)" in out
    code, out = run(project, "models", "list")
    assert "size" in out
    assert "sparse-" in out
    assert run(project, "evaluate", "1.2", "--json")[0] == 0
    loaded = Project.load(project)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        alias = "champion" if int8["promoted"] else "compressed"
        if alias != "champion":
            registry.set_alias(alias, "1.2", reason="serve it", command="test")
        served = ModelHolder(registry, alias).sync()
        assert served is not None
        assert served.version == "1.2"
        assert served.bundle.predict(["where is my order"])[0][0] in served.bundle.labels
    if int8["promoted"]:
        code, out = run(project, "models", "rollback")
        assert code == 0
        assert "1.2 -> 1.0" in out
    code, out = run(project, "train", "--finetune", "1.2", "--json")
    assert code == 0, out
    child = _json(out)
    assert child["parent"] == "1.2"
    assert child["edge"] == "finetune"
    assert child["training"]["weights_format"] == "fp32"  # type: ignore[index]


def test_bad_input_is_refused_and_registers_nothing(project: Path) -> None:
    code, out = run(project, "compress", "1.0", "--method", "zip")
    assert code == 1
    assert "unknown compression method 'zip'" in out
    assert "int8" in out
    code, out = run(project, "compress", "1.0", "--method", "prune", "-o", "kep=0.5")
    assert code == 1
    assert "unknown option" in out
    assert "takes ffn, heads" in out
    assert "keep" in out
    code, out = run(project, "compress", "1.0", "--method", "prune", "-o", "keep=2")
    assert code == 1
    assert "keep" in out
    code, out = run(project, "compress", "9.9", "--method", "int8")
    assert code == 1
    assert _labels(project) == ["1.0"]
    assert run(project, "compress", "1.0", "--method", "int8")[0] == 0
    code, out = run(project, "compress", "1.1", "--method", "int8")
    assert code == 1
    assert "int8 already" in out
    assert "compress version 1.0" in out
    assert "lifelong compress 1.0 --method int8" in out
    code, out = run(project, "compress", "1.1", "--method", "int4")
    assert code == 1
    assert "int8 already" in out
    assert _labels(project) == ["1.0", "1.1"]
    artifacts = Project.load(project).artifacts_dir
    for weights in artifacts.rglob("weights.safetensors"):
        weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    code, out = run(project, "compress", "1.0", "--method", "prune")
    assert code == 1
    assert "corrupt" in out
    assert "1.0" in out
    assert _labels(project) == ["1.0", "1.1"]


def test_a_removed_version_cannot_be_compressed(project: Path) -> None:
    assert run(project, "compress", "1.0", "--method", "fp16")[0] == 0
    assert run(project, "models", "rm", "1.1", "--force")[0] == 0
    code, out = run(project, "compress", "1.1", "--method", "int8")
    assert code == 1
    assert "1.1 is deleted" in out
    assert "artifact was dropped" in out


def test_a_default_version_is_compact_fine_tunes_compresses_and_serves(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["init", str(tmp_path / "demo")]).exit_code == 0
    project, settings = tmp_path / "demo", small_settings(2)
    code, out = run_cli(project, settings, "train", "--json")
    assert code == 0, out
    assert _json(out)["training"]["weights_format"] == "sparse-fp16"  # type: ignore[index]
    code, out = run_cli(project, settings, "train", "--finetune", "--json")
    assert code == 0, out
    child = _json(out)
    assert (child["parent"], child["training"]["weights_format"]) == ("1.0", "sparse-fp16")  # type: ignore[index]
    code, out = run_cli(project, settings, "compress", "1.1", "--method", "int8", "--json")
    assert code == 0, out
    assert _json(out)["after"]["weights_format"] == "sparse-int8"  # type: ignore[index]
    code, out = run_cli(project, settings, "compress", "1.1", "--method", "fp16")
    assert code == 1
    assert "fp16 already" in out
    loaded = Project.load(project)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        versions = [registry.resolve(label) for label in ("1.0", "1.1")]
        sizes = [sum(f.size for f in v.artifact_files.values()) for v in versions]
        served = ModelHolder(registry, "1.1").sync()
    assert all(0 < size < 1_000_000 for size in sizes)  # 16,384-bucket table: 2 MB full
    assert served is not None
    assert served.bundle.predict(["where is my order"])[0][0] in served.bundle.labels


def test_prune_neurons_narrows_the_head_serves_and_finetunes_at_its_width(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["init", str(tmp_path / "demo")]).exit_code == 0
    project, settings = tmp_path / "demo", small_settings(2, **{"compress.latency_texts": "20"})
    assert run_cli(project, settings, "train")[0] == 0
    code, out = run_cli(
        project, settings, "compress", "1.0", "--method", "prune-neurons", "-o", "neurons=0.5",
        "-o", "recover_epochs=2", "--json",
    )  # fmt: skip
    assert code == 0, out
    pruned = _json(out)
    before, after = pruned["before"], pruned["after"]
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    assert (before["hidden_units"], after["hidden_units"]) == (64, 32)
    assert after["weights_format"] == before["weights_format"] == "sparse-fp16"
    assert after["bytes"] < before["bytes"]
    assert pruned["options"] == {"neurons": 0.5, "criterion": "taylor", "recover_epochs": 2}
    code, out = run_cli(project, settings, "models", "show", "1.1")
    assert "hidden units" in out
    assert "compression (prune-neurons)" in out
    assert run_cli(project, settings, "evaluate", "1.1", "--json")[0] == 0
    loaded = Project.load(project)
    # the narrower head's confidences are calibrated again, on the current valid split
    valid = load_dataset(loaded).splits.valid
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        parent, child_bundle = (load_bundle(loaded, registry, label) for label in ("1.0", "1.1"))
        recorded = registry.resolve("1.1").training["calibration"]
    targets = Classification().targets([e.label for e in valid], child_bundle.labels)
    refit = fit_temperature(child_bundle.logits_normalized([e.text for e in valid]), targets)
    assert child_bundle.spec.meta[TEMPERATURE] == pytest.approx(refit.value)
    assert child_bundle.spec.meta[TEMPERATURE] != parent.spec.meta[TEMPERATURE]
    assert recorded["n_valid"] == len(valid) >= 30
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        served = ModelHolder(registry, "1.1").sync()
    assert served is not None
    assert served.bundle.predict(["where is my order"])[0][0] in served.bundle.labels
    assert served.bundle.module.hidden.out_features == 32  # type: ignore[union-attr]
    code, out = run_cli(project, settings, "train", "--finetune", "1.1", "--json")
    assert code == 0, out
    child = _json(out)
    assert (child["parent"], child["edge"]) == ("1.1", "finetune")
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        bundle = load_bundle(loaded, registry, str(child["version"]))
    assert bundle.module.hidden.out_features == 32  # type: ignore[union-attr]
    # bad input: applied twice, a fraction out of (0, 1], every unit kept; nothing registered
    code, out = run_cli(project, settings, "compress", "1.1", "--method", "prune-neurons")
    assert code == 1
    assert "pruned already" in out
    assert "lifelong compress 1.0 --method prune-neurons" in out
    for bad in ("neurons=0", "neurons=1.5", "recover_epochs=-1", "neuron=0.5"):
        code, out = run_cli(project, settings, "compress", "1.0", "--method", "prune-neurons",
                            "-o", bad)  # fmt: skip
        assert code == 1, bad
        assert "method prune-neurons: bad option" in out
        assert "compress.prune_neurons" in out
    code, out = run_cli(project, settings, "compress", "1.0", "--method", "prune-neurons",
                        "-o", "neurons=1")  # fmt: skip
    assert code == 1
    assert "every hidden unit is kept" in out
    assert _labels(project) == ["1.0", "1.1", str(child["version"])]
