"""Hashed word and character n-grams into a table of fixed width.

The width (``buckets``) never depends on the vocabulary, so a model fine-tuned on new data keeps
its parent's shape: new words land in existing buckets instead of forcing a cold retrain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import chain, compress
from typing import Any, TypeVar, cast

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from lifelong.features.base import Features, murmur_bucket

_HashedRows = Callable[..., tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]] | None]
_hashed_rows: _HashedRows | None
try:  # the compiled core, built when the package is installed (setup.py)
    from lifelong.features._ngrams import hashed_rows as _hashed_rows
except ImportError:  # a source tree never built: the Python implementation below does it all
    _hashed_rows = None

# Words as scikit-learn's ``HashingVectorizer`` finds them (it trained every existing model):
# ``\w\w+`` gives the same maximal runs of two or more word characters as its default
# ``(?u)\b\w\w+\b``, without testing for a boundary at each position.
_TOKEN = re.compile(r"\w\w+")

_V = TypeVar("_V")

# ``1 + log(count)`` for counts 1 to 65535, computed by numpy in float32 as the Python path
# computes each weight, so that the compiled path's weights are the same to the bit. A text with
# an n-gram repeated more often than this takes the Python path.
_WEIGHT_OF = (1.0 + np.log(np.arange(1, 1 << 16, dtype=np.float32))).astype(np.float32, copy=False)


class HashedNGrams:
    """Word n-grams and word-bounded char n-grams hashed into ``buckets`` columns.

    Each block (word, char) gets sublinear counts ``1 + log(count)`` and unit L2 norm before the
    two are summed, so short and long texts, and the many char n-grams versus the few words,
    contribute on one scale. Signs are not alternated: the weights feed an ``EmbeddingBag``
    as per-sample weights, where a negative weight would only add noise.

    The output is bit for bit that of scikit-learn's ``HashingVectorizer`` (``analyzer="word"``
    and ``"char_wb"``, ``alternate_sign=False``, ``norm=None``, float32) followed by
    ``normalize``, which the first models were trained with; the n-grams and the hash (signed
    32-bit murmurhash3, seed 0, ``abs(h) % buckets``) are computed here instead. The vectorizer
    spent most of its time validating its parameters and inputs on every call (0.4 ms for one
    text) and re-hashed the char n-grams of every word each time they occurred.

    Two implementations give that output. The compiled one (``_ngrams.pyx``, built on install)
    hashes each n-gram as a slice of the text's UTF-8 bytes and weighs each row in C++, without
    the GIL: twice as fast on a batch and four to five times on one text as the Python one
    (``bench/featurize.py``), which stays as the reference it is tested against and as the
    fallback where the module was not built. The Python one keeps the buckets of a word's char
    n-grams, and of each word n-gram, in a dict: words recur (Zipf), so almost every lookup
    hits. The dicts hold at most ``cache_size`` keys each and are emptied when full, which is
    cheaper than an LRU's bookkeeping on every hit.

    Parameters
    ----------
    buckets
        Width of the table (rows of the embedding bag).
    word
        Inclusive range of word n-gram lengths.
    char
        Inclusive range of char n-gram lengths (``char_wb``: n-grams inside word boundaries).
    cache_size
        Keys kept at most in each bucket cache (words, word n-grams). A word's entry is ~20
        packed int32 (about 0.1 kB with the key): the default bounds the caches to some MB,
        while a typical intent vocabulary (CLINC150: ~7k words) needs well under one.
    compiled
        Use the compiled implementation where it was built (the default); False takes the
        Python one.

    Examples
    --------
    >>> features = HashedNGrams(buckets=1024).transform(["book a table", "hi"])
    >>> features.sparse.shape
    (2, 1024)
    """

    def __init__(
        self,
        buckets: int,
        word: tuple[int, int] = (1, 2),
        char: tuple[int, int] = (2, 5),
        cache_size: int = 1 << 16,
        compiled: bool = True,
    ) -> None:
        self.buckets = buckets
        self.word = word
        self.char = char
        self.cache_size = cache_size
        self.compiled = compiled and _hashed_rows is not None
        # Plain dicts: each get/set is atomic under the GIL, so scoring threads can share them.
        self._char_buckets: dict[str, bytes] = {}
        self._word_buckets: dict[str, int] = {}

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "hashed_ngrams",
            "buckets": self.buckets,
            "word": list(self.word),
            "char": list(self.char),
            "weights": "sublinear-l2",
        }

    def transform(self, texts: Sequence[str]) -> Features:
        rows = None
        if self.compiled and _hashed_rows is not None:
            rows = _hashed_rows(texts, self.buckets, *self.word, *self.char, _WEIGHT_OF)
        if rows is None:
            return self._transform_python(texts)
        indptr, indices, values = rows
        matrix = sp.csr_matrix((values, indices, indptr), shape=(len(texts), self.buckets))
        matrix.has_sorted_indices = True  # each row is made in bucket order
        return Features(sparse=matrix)

    def _transform_python(self, texts: Sequence[str]) -> Features:
        n_rows = len(texts)
        word_keys, word_values = _block(n_rows, *self._word_columns(texts))
        char_keys, char_values = _block(n_rows, *self._char_columns(texts))
        keys = np.concatenate([word_keys, char_keys])
        order = np.argsort(keys, kind="stable")  # two sorted runs: a linear merge
        keys = keys[order]
        values = np.concatenate([word_values, char_values])[order]
        # a bucket in both blocks of a row (never more: each block's keys are unique) is one
        # entry, the sum of the two
        first = _run_firsts(keys)
        twice = ~first[1:]
        values[:-1][twice] += values[1:][twice]
        keys, values = keys[first], values[first]
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys >> 32, minlength=n_rows), out=indptr[1:])
        columns = (keys & 0xFFFFFFFF).astype(np.int32)
        matrix = sp.csr_matrix((values, columns, indptr), shape=(n_rows, self.buckets))
        matrix.has_sorted_indices = True  # sorted by (row, bucket) above
        return Features(sparse=matrix)

    def _bucket(self, gram: str) -> int:
        return murmur_bucket(gram, self.buckets)

    def _word_columns(self, texts: Sequence[str]) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
        """Buckets of the word n-grams of the texts (tokens of two or more word characters),
        and the text each comes from.

        The whole batch is one flat token list: an n-gram is a window of ``n`` consecutive
        tokens of the list, kept where all ``n`` come from one text. Joining, hashing (a cache
        lookup) and grouping then run as C loops over the batch (``map``, numpy) instead of a
        Python loop per text, which cost three times as much.
        """
        low, high = self.word
        token_lists = list(map(_TOKEN.findall, texts))
        tokens = list(chain.from_iterable(token_lists))
        owner = np.repeat(np.arange(len(texts)), list(map(len, token_lists)))
        grams: list[str] = tokens if low == 1 else []
        rows = [owner] if low == 1 else []
        for n in range(max(low, 2), high + 1):
            if len(tokens) < n:
                break
            starts = owner[: len(tokens) - n + 1]
            inside = starts == owner[n - 1 :]  # the window's first and last token: one text
            windows = map(" ".join, zip(*[tokens[i:] for i in range(n)], strict=False))
            grams = grams + list(compress(windows, inside.tolist()))
            rows.append(starts[inside])
        found = _lookup(self._word_buckets, grams, self._bucket, self.cache_size)
        return np.array(found, dtype=np.int32), np.concatenate([owner[:0], *rows])

    def _char_columns(self, texts: Sequence[str]) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
        """Buckets of the char n-grams of each white-space separated word of the texts, and
        the text each comes from.

        ``str.split`` splits on the same white space as the vectorizer's squeeze then split.
        A word's buckets are cached as packed int32 bytes: one ``join`` and one
        ``np.frombuffer`` then gather a whole batch, where a list of Python ints cost a
        conversion per n-gram.
        """
        word_lists = list(map(str.split, texts))
        found = _lookup(
            self._char_buckets,
            list(chain.from_iterable(word_lists)),
            self._packed_char_buckets,
            self.cache_size,
        )
        owner = np.repeat(np.arange(len(texts)), list(map(len, word_lists)))
        sizes = np.fromiter(map(len, found), dtype=np.int64, count=len(found)) // 4
        columns = np.frombuffer(b"".join(found), dtype=np.int32)
        return columns, np.repeat(owner, sizes)

    def _packed_char_buckets(self, word: str) -> bytes:
        grams = self._char_grams(word)
        return np.array([self._bucket(gram) for gram in grams], dtype=np.int32).tobytes()

    def _char_grams(self, word: str) -> list[str]:
        """The ``char_wb`` n-grams of one word, padded with a space on each side.

        A padded word shorter than ``n`` yields itself once, and no longer n-grams.
        """
        padded = f" {word} "
        low, high = self.char
        grams: list[str] = []
        for n in range(low, high + 1):
            grams += [padded[i : i + n] for i in range(max(1, len(padded) - n + 1))]
            if len(padded) <= n:
                break
        return grams


def _run_firsts(keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which entries of the sorted ``keys`` start a run of equal values."""
    first = np.ones(len(keys), dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return first


def _block(
    n_rows: int, columns: NDArray[np.int32], rows: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """One block's entries: keys ``row << 32 | bucket`` in order, and their weights (n-gram
    counts per text, sublinear, each row scaled to unit L2 norm).

    ``columns[i]`` is the bucket of an n-gram of text ``rows[i]``. The counts come from one
    sort of the whole batch's keys, and the norms from one weighted ``bincount``: the same
    arithmetic as the vectorizer's path (float32 squares summed in float64 in bucket order,
    float32 weights divided by the float64 root) without building a sparse matrix per block,
    whose validation alone cost a single text more than the rest of its featurizing.
    """
    keys = rows << 32 | columns
    keys.sort()
    starts = np.flatnonzero(_run_firsts(keys))
    counts = np.diff(starts, append=len(keys)).astype(np.float32)
    keys = keys[starts]
    weights = 1.0 + np.log(counts)
    rows_of = keys >> 32
    norms = np.sqrt(np.bincount(rows_of, weights=weights * weights, minlength=n_rows))
    return keys, (weights / norms[rows_of]).astype(np.float32)


def _lookup(
    cache: dict[str, _V], keys: list[str], make: Callable[[str], _V], size: int
) -> list[_V]:
    """``cache[key]`` of each key, made with ``make`` and stored (see :func:`_store`) where
    missing. The lookups run in one C loop (``map``): almost every key is a hit."""
    found = list(map(cache.get, keys))
    if None in found:
        for i, key in enumerate(keys):
            if found[i] is None:
                found[i] = _store(cache, key, make(key), size)
    return cast(list[_V], found)


def _store(cache: dict[str, _V], key: str, value: _V, size: int) -> _V:
    """``cache[key] = value``, emptying ``cache`` first when it holds ``size`` keys; returns
    ``value``."""
    if len(cache) >= size:
        cache.clear()
    cache[key] = value
    return value


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
