from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from lifelong.features import HashedNGrams, bag_inputs, hashing

# Each equivalence test runs on both implementations: the compiled one (the default) and the
# Python one it falls back to.
IMPLEMENTATIONS = pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=12))
def test_width_is_fixed_whatever_the_vocabulary(texts: list[str]) -> None:
    matrix = HashedNGrams(buckets=2048).transform(texts).sparse
    assert matrix is not None
    assert matrix.shape == (len(texts), 2048)
    assert (matrix.data > 0).all()
    # the word and char blocks each have unit norm (or are empty): a row's norm is at most 2
    assert (np.sqrt(matrix.multiply(matrix).sum(axis=1)) <= 2 + 1e-5).all()


def test_word_and_char_ngrams_both_count() -> None:
    featurizer = HashedNGrams(buckets=1 << 16, word=(1, 2), char=(2, 5))
    matrix = featurizer.transform(["book a table", "book a tablet"]).sparse
    assert matrix is not None
    row0, row1 = matrix[0].toarray().ravel(), matrix[1].toarray().ravel()
    assert 0 < float(row0 @ row1) / float(np.linalg.norm(row0) * np.linalg.norm(row1)) < 1
    assert matrix[0].nnz > 20  # 3 words + 2 bigrams alone would give at most 5


def test_bag_inputs_reproduce_the_matrix_product() -> None:
    matrix = HashedNGrams(buckets=1024).transform(["hello there", "", "set an alarm"]).sparse
    assert matrix is not None
    bag = torch.nn.EmbeddingBag(1024, 4, mode="sum")
    indices, offsets, weights = bag_inputs(matrix)
    expected = torch.from_numpy(matrix.toarray()) @ bag.weight
    torch.testing.assert_close(bag(indices, offsets, per_sample_weights=weights), expected)


def test_spec_names_the_input_space() -> None:
    assert HashedNGrams(1024).spec() != HashedNGrams(2048).spec()
    assert HashedNGrams(1024).spec() == HashedNGrams(1024).spec()


def _sklearn_reference(featurizer: HashedNGrams, texts: list[str]) -> sp.csr_matrix:
    """The featurizer as first written with scikit-learn: trained models expect this output."""
    blocks = []
    for analyzer, ngram_range in (("word", featurizer.word), ("char_wb", featurizer.char)):
        vectorizer = HashingVectorizer(
            analyzer=analyzer,
            ngram_range=ngram_range,
            n_features=featurizer.buckets,
            alternate_sign=False,
            norm=None,
            lowercase=False,
            dtype=np.float32,
        )
        counts = vectorizer.transform(texts)
        counts.data = 1.0 + np.log(counts.data)
        blocks.append(normalize(counts, norm="l2"))
    matrix = sp.csr_matrix(blocks[0] + blocks[1], dtype=np.float32)
    matrix.sort_indices()
    return matrix


def _assert_identical(actual: sp.csr_matrix | None, expected: sp.csr_matrix) -> None:
    assert actual is not None
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(actual.indptr, expected.indptr)
    np.testing.assert_array_equal(actual.indices, expected.indices)
    np.testing.assert_array_equal(actual.data, expected.data)  # bit for bit, not close


VARIED = [
    "book a table for two at eight",
    "",
    "   ",
    "a",
    "hi",
    "the the the the the",
    "what's the weather like in são paulo?",
    "Ünïcödé CASE stays: the featurizer does not fold",
    "日本語のテキスト and 中文 mixed with english",
    "emoji 🎉🎉 party 🥳 time",
    "tabs\tand\nnewlines\r\nand  double  spaces\u00a0nbsp\u2003em",
    "\ufb01 ligature and \uff46\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48",
    "x" * 300,
    "a-b_c 1 22 333 ab12 __init__ e-mail o'clock",
    "\u200b zero width \u200d joiner",
    "مرحبا بالعالم",
    "\x1c\x1d\x1e\x1f control separators",
]


@IMPLEMENTATIONS
@pytest.mark.parametrize(
    ("word", "char"), [((1, 2), (2, 5)), ((1, 1), (3, 3)), ((2, 3), (1, 4)), ((1, 3), (5, 6))]
)
def test_output_equals_the_sklearn_vectorizer(
    word: tuple[int, int], char: tuple[int, int], compiled: bool
) -> None:
    featurizer = HashedNGrams(buckets=1 << 18, word=word, char=char, compiled=compiled)
    assert featurizer.compiled is compiled
    expected = _sklearn_reference(featurizer, VARIED)
    _assert_identical(featurizer.transform(VARIED).sparse, expected)
    _assert_identical(featurizer.transform(VARIED).sparse, expected)  # from the caches
    for index, text in enumerate(VARIED):  # one text at a time, as a single request is served
        _assert_identical(featurizer.transform([text]).sparse, expected[index])


@IMPLEMENTATIONS
@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(max_size=60), min_size=1, max_size=8))
def test_output_equals_the_sklearn_vectorizer_on_any_text(texts: list[str], compiled: bool) -> None:
    # tiny caches (the Python path's): emptied often
    featurizer = HashedNGrams(buckets=4096, cache_size=4, compiled=compiled)
    expected = _sklearn_reference(featurizer, texts)
    _assert_identical(featurizer.transform(texts).sparse, expected)
    _assert_identical(featurizer.transform(texts[::-1]).sparse, expected[::-1])


def test_caches_stay_bounded() -> None:
    featurizer = HashedNGrams(buckets=1024, cache_size=8, compiled=False)
    featurizer.transform([f"word{i} other{i}" for i in range(100)])
    assert 0 < len(featurizer._char_buckets) <= 8
    assert 0 < len(featurizer._word_buckets) <= 8


def test_the_compiled_implementation_is_built() -> None:
    # setup.py builds it on install: without it every text would silently take the slower
    # Python path, and the tests marked "compiled" would test that path twice
    assert hashing._hashed_rows is not None
    assert HashedNGrams(1024).compiled


ngram_ranges = st.tuples(st.integers(1, 4), st.integers(0, 3)).map(lambda t: (t[0], t[0] + t[1]))


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(
        st.text(st.characters(codec="utf-8"), max_size=80)
        | st.text(st.sampled_from("ab_ 1é\u00a0\t\x1c\U0001f389"), max_size=40),
        min_size=1,
        max_size=10,
    ),
    buckets=st.integers(1, 1 << 20),
    word=ngram_ranges,
    char=ngram_ranges,
)
def test_compiled_and_python_paths_agree_bit_for_bit(
    texts: list[str], buckets: int, word: tuple[int, int], char: tuple[int, int]
) -> None:
    compiled = HashedNGrams(buckets, word=word, char=char)
    python = HashedNGrams(buckets, word=word, char=char, compiled=False)
    _assert_identical(compiled.transform(texts).sparse, python.transform(texts).sparse)


def test_counts_beyond_the_weight_table_take_the_python_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = ["ha ha ha ha ha", "book a table"]  # "ha" five times: beyond a table of 3 counts
    expected = HashedNGrams(4096, compiled=False).transform(texts).sparse
    monkeypatch.setattr(hashing, "_WEIGHT_OF", hashing._WEIGHT_OF[:3].copy())
    assert hashing._hashed_rows is not None
    assert hashing._hashed_rows(texts, 4096, 1, 2, 2, 5, hashing._WEIGHT_OF) is None
    _assert_identical(HashedNGrams(4096).transform(texts).sparse, expected)


@IMPLEMENTATIONS
def test_what_utf8_cannot_encode_is_refused_alike(compiled: bool) -> None:
    featurizer = HashedNGrams(1024, compiled=compiled)
    with pytest.raises(UnicodeEncodeError):
        featurizer.transform(["fine", "lone \ud800 surrogate"])
    with pytest.raises(TypeError):
        featurizer.transform(["fine", 42])  # type: ignore[list-item]


def test_without_the_compiled_module_the_python_path_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = HashedNGrams(2048).transform(VARIED).sparse
    monkeypatch.setattr(hashing, "_hashed_rows", None)  # as in a source tree never built
    featurizer = HashedNGrams(2048)
    assert not featurizer.compiled
    _assert_identical(featurizer.transform(VARIED).sparse, expected)


def test_the_compiled_path_leaves_no_utf8_copy_in_the_texts() -> None:
    # a str caches its UTF-8 once asked for it, for its whole life (getsizeof counts the
    # cache): texts held for training would then take their room twice
    texts = ["".join(["héllo wörld ", str(n)]) for n in range(3)]  # made here, not interned
    before = [sys.getsizeof(text) for text in texts]
    HashedNGrams(1024).transform(texts)
    assert [sys.getsizeof(text) for text in texts] == before
