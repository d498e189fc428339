from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.features import HashedNGrams, bag_inputs


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
