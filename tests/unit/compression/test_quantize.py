"""Per-row quantization, row pruning and compact tables: error bounds, agreement, round trips."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lifelong.compression import METHODS, by_magnitude, quantize_rows, touched_buckets
from lifelong.config import NGrams, Pipeline, Training
from lifelong.core.types import Example, normalize_text
from lifelong.models import (
    LEVELS,
    CompactBag,
    ModelBundle,
    WeightsFormat,
    pack_int4,
    read_spec,
    trainable_copy,
    unpack_int4,
)
from lifelong.training import train

MakeExamples = Callable[[list[str], int, int], list[Example]]

ROWS = arrays(
    np.float32,
    st.tuples(st.integers(1, 6), st.integers(1, 9)),
    elements=st.floats(-4.0, 4.0, width=32),
)


@settings(deadline=None, max_examples=60)
@given(rows=ROWS, code=st.sampled_from(["int8", "int4"]))
@example(rows=np.array([[1e-45]], dtype=np.float32), code="int8")  # its scale underflows to 0
@example(rows=np.array([[1e-40, -1e-41]], dtype=np.float32), code="int8")  # subnormal scale
def test_dequantized_rows_are_within_half_a_scale(rows: np.ndarray, code: str) -> None:
    table = torch.from_numpy(rows)
    codes, scales = quantize_rows(table, code)  # type: ignore[arg-type]
    assert scales is not None
    fmt = WeightsFormat(sparse=False, code=code)  # type: ignore[arg-type]
    bag = CompactBag(table.shape[0], table.shape[1], fmt, codes, scales)
    restored = bag.rows(torch.arange(table.shape[0]))
    tiny = torch.finfo(torch.float32).tiny
    flushed = LEVELS[code] * tiny  # type: ignore[index]
    bound = scales.unsqueeze(1) / 2 + 1e-6 * table.abs().amax() + flushed
    assert torch.all((restored - table).abs() <= bound)
    assert torch.all((scales == 0) | (scales >= tiny)), "no subnormal scale"
    assert torch.allclose(scales, table.abs().amax(dim=1) / LEVELS[code])  # type: ignore[index]


@settings(deadline=None, max_examples=40)
@given(codes=arrays(np.int8, st.tuples(st.integers(1, 5), st.integers(1, 9)),
                    elements=st.integers(-7, 7)))  # fmt: skip
def test_int4_packing_round_trips(codes: np.ndarray) -> None:
    tensor = torch.from_numpy(codes)
    packed = pack_int4(tensor)
    assert packed.shape[1] == (codes.shape[1] + 1) // 2
    assert torch.equal(unpack_int4(packed, codes.shape[1]), tensor)


def test_magnitude_keeps_the_largest_rows_in_order() -> None:
    rows = torch.tensor([[0.1, 0.0], [3.0, 0.0], [0.0, -2.0], [0.5, 0.5]])
    assert by_magnitude(rows, 0.5).tolist() == [1, 2]
    assert by_magnitude(rows, 1.0).tolist() == [0, 1, 2, 3]


LABELS = ["alarm", "booking", "music", "weather"]


@pytest.fixture
def trained(make_examples: MakeExamples) -> tuple[ModelBundle, list[Example], list[str]]:
    """A tiny trained fast model, its training examples, and unseen texts."""
    examples = make_examples(LABELS, 30, 0)
    outcome = train(
        examples,
        make_examples(LABELS, 5, 100),
        pipeline=Pipeline(ngrams=NGrams(buckets=4096, dim=16, storage="full"), hidden=32),
        training=Training(epochs=2, batch_size=16, lr=0.01, sparse_lr=0.1, seed=0),
        progress=False,
    )
    unseen = [normalize_text(e.text) for e in make_examples(LABELS, 20, 7)]
    return outcome.bundle, examples, unseen


@pytest.mark.parametrize("method", ["int8", "int4", "fp16", "prune"])
def test_compressed_predictions_agree_with_fp32_and_survive_save_and_load(
    trained: tuple[ModelBundle, list[Example], list[str]], method: str, tmp_path: Path
) -> None:
    bundle, examples, unseen = trained
    compressed = METHODS[method].apply(bundle, {}, examples)
    before, after = bundle.predict_proba(unseen), compressed.predict_proba(unseen)
    agree = float((before.argmax(axis=1) == after.argmax(axis=1)).mean())
    assert agree >= 0.9, f"{method}: only {agree:.0%} of predictions agree"
    compressed.save(tmp_path / "b")
    spec, _ = read_spec(tmp_path / "b")
    assert spec.weights_format == compressed.spec.weights_format != "fp32"
    assert spec.format_version == 2
    assert spec.meta["compression"][-1]["method"] == method
    loaded = ModelBundle.load(tmp_path / "b")
    assert loaded.spec == compressed.spec
    assert np.array_equal(loaded.predict_proba(unseen), after)
    size = (tmp_path / "b" / "weights.safetensors").stat().st_size
    bundle.save(tmp_path / "fp32")
    assert size < (tmp_path / "fp32" / "weights.safetensors").stat().st_size


def test_prune_keeps_exactly_the_touched_rows_and_zeroes_the_rest(
    trained: tuple[ModelBundle, list[Example], list[str]],
) -> None:
    bundle, examples, _unseen = trained
    pruned = METHODS["prune"].apply(bundle, {}, examples)
    bag = pruned.module.bag
    assert isinstance(bag, CompactBag)
    texts = [e.text for e in examples]
    touched = touched_buckets(bundle.featurizer, texts)
    assert torch.equal(bag.row_ids, touched)
    # on the training texts nothing changed: every row they use is kept as it was
    assert np.allclose(pruned.predict_proba(texts), bundle.predict_proba(texts), atol=1e-6)
    dense = trainable_copy(pruned.module).bag
    assert isinstance(dense, torch.nn.EmbeddingBag)
    assert (dense.mode, dense.sparse, dense.weight.requires_grad) == ("sum", True, True)
    untouched = torch.ones(dense.num_embeddings, dtype=torch.bool)
    untouched[touched] = False
    assert torch.count_nonzero(dense.weight[untouched]) == 0
    half = METHODS["prune"].apply(bundle, {"keep": 0.5}, examples)
    assert half.module.bag.n_rows == (len(touched) + 1) // 2  # type: ignore[union-attr]


def test_a_compact_model_becomes_trainable_with_the_parents_shape(
    trained: tuple[ModelBundle, list[Example], list[str]],
) -> None:
    bundle, examples, unseen = trained
    compressed = METHODS["int8"].apply(METHODS["prune"].apply(bundle, {}, examples), {}, examples)
    copy = trainable_copy(compressed.module)
    assert {k: v.shape for k, v in copy.state_dict().items()} == {
        k: v.shape for k, v in bundle.module.state_dict().items()
    }
    dense = ModelBundle(compressed.spec, copy, compressed.featurizer)
    assert np.allclose(dense.predict_proba(unseen), compressed.predict_proba(unseen), atol=1e-5)


def test_refusals_name_what_is_already_applied(
    trained: tuple[ModelBundle, list[Example], list[str]],
) -> None:
    bundle, examples, _ = trained
    int8 = METHODS["int8"].apply(bundle, {}, examples)
    assert "int8 already" in str(METHODS["int8"].refusal(int8))
    assert "int8 already" in str(METHODS["int4"].refusal(int8))
    assert METHODS["prune"].refusal(int8) is None
    pruned = METHODS["prune"].apply(bundle, {}, examples)
    assert "pruned already" in str(METHODS["prune"].refusal(pruned))
    assert METHODS["int4"].refusal(pruned) is None


def test_methods_refuse_a_network_without_an_ngram_table(
    trained: tuple[ModelBundle, list[str], list[str]],
) -> None:
    bundle, _, _ = trained
    pipeline = {**bundle.spec.pipeline, "name": "transformer"}
    other = ModelBundle(
        replace(bundle.spec, pipeline=pipeline), torch.nn.Linear(2, 2), bundle.featurizer
    )
    for name, method in METHODS.items():
        why = str(method.refusal(other))
        if name in ("int8", "prune"):  # of a transformer: the network's heads, neurons, Linears
            assert "not a TransformerClassifier" in why
            continue
        assert f"method {name} compresses the fast pipeline" in why
        assert "transformer pipeline" in why


@settings(max_examples=25, deadline=None)
@given(
    words=st.lists(st.sampled_from(["card", "lost", "my", "refund", "where", "is"]), max_size=40),
    chunk=st.integers(1, 7),
)
def test_touched_buckets_read_in_chunks_are_those_of_all_texts_at_once(
    words: list[str], chunk: int
) -> None:
    from lifelong.compression import prune
    from lifelong.features import HashedNGrams

    featurizer = HashedNGrams(4096)
    texts = [" ".join(words[i : i + 3]) for i in range(0, len(words), 3)]
    whole = featurizer.transform(texts).sparse
    expected = np.unique(whole.indices) if whole is not None else np.zeros(0)
    original = prune.TEXTS_PER_CHUNK
    prune.TEXTS_PER_CHUNK = chunk
    try:
        streamed = touched_buckets(featurizer, iter(texts))  # read once, as a stream
    finally:
        prune.TEXTS_PER_CHUNK = original
    assert streamed.tolist() == expected.tolist()
