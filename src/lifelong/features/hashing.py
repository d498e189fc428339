"""Hashed word and character n-grams into a table of fixed width.

The width (``buckets``) never depends on the vocabulary, so a model fine-tuned on new data keeps
its parent's shape: new words land in existing buckets instead of forcing a cold retrain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from lifelong.features.base import Features


class HashedNGrams:
    """Word n-grams and word-bounded char n-grams hashed into ``buckets`` columns.

    Each block (word, char) gets sublinear counts ``1 + log(count)`` and unit L2 norm before the
    two are summed, so short and long texts, and the many char n-grams versus the few words,
    contribute on one scale. Signs are not alternated: the weights feed an ``EmbeddingBag``
    as per-sample weights, where a negative weight would only add noise.

    Parameters
    ----------
    buckets
        Width of the table (rows of the embedding bag).
    word
        Inclusive range of word n-gram lengths.
    char
        Inclusive range of char n-gram lengths (``char_wb``: n-grams inside word boundaries).

    Examples
    --------
    >>> features = HashedNGrams(buckets=1024).transform(["book a table", "hi"])
    >>> features.sparse.shape
    (2, 1024)
    """

    def __init__(
        self, buckets: int, word: tuple[int, int] = (1, 2), char: tuple[int, int] = (2, 5)
    ) -> None:
        self.buckets = buckets
        self.word = word
        self.char = char

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "hashed_ngrams",
            "buckets": self.buckets,
            "word": list(self.word),
            "char": list(self.char),
            "weights": "sublinear-l2",
        }

    def _vectorizer(self, analyzer: str, ngram_range: tuple[int, int]) -> HashingVectorizer:
        return HashingVectorizer(
            analyzer=analyzer,
            ngram_range=ngram_range,
            n_features=self.buckets,
            alternate_sign=False,
            norm=None,
            lowercase=False,  # texts arrive normalized (casefolded)
            dtype=np.float32,
        )

    def transform(self, texts: Sequence[str]) -> Features:
        blocks = []
        for analyzer, ngram_range in (("word", self.word), ("char_wb", self.char)):
            counts = self._vectorizer(analyzer, ngram_range).transform(list(texts))
            counts.data = 1.0 + np.log(counts.data)
            blocks.append(normalize(counts, norm="l2"))
        matrix = sp.csr_matrix(blocks[0] + blocks[1], dtype=np.float32)
        matrix.sort_indices()
        return Features(sparse=matrix)


def bag_inputs(matrix: sp.csr_matrix) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CSR rows as ``nn.EmbeddingBag`` inputs: ``(indices, offsets, per_sample_weights)``.

    A CSR matrix already is a bag layout: its column indices are the bucket ids and its row
    pointers (without the last) are the offsets.
    """
    return (
        torch.from_numpy(matrix.indices.astype(np.int64)),
        torch.from_numpy(matrix.indptr[:-1].astype(np.int64)),
        torch.from_numpy(matrix.data.astype(np.float32)),
    )
