"""Row pruning of the n-gram table: keep the rows the training texts touch, stored sparse.

A hashed table has a row for every bucket, but training updates only the rows of n-grams its
texts contain (``SparseAdam`` touches nothing else): the others keep their random initial values
and only add noise to a text that happens to hash into them. Dropping them loses nothing the
model learnt. ``keep`` < 1 prunes further by magnitude: of the touched rows, the ones with the
largest L2 norm are kept (whole rows, so the file shrinks with them; zeroing single values
inside kept rows would save neither bytes nor time in this layout, so it is not offered).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from lifelong.features import Featurizer
from lifelong.models import CompactBag, WeightsFormat
from lifelong.models.compact import DENSE

TEXTS_PER_CHUNK = 4096
"""Texts featurized at a time: ``texts`` may be a stream of millions (a streamed project's
training data), so memory holds one chunk's features and the set of buckets seen."""


def touched_buckets(featurizer: Featurizer, texts: Iterable[str]) -> torch.Tensor:
    """Sorted bucket ids of every n-gram of ``texts`` (already normalized), read a chunk at a
    time."""
    kept = np.zeros(0, dtype=np.int64)
    iterator = iter(texts)
    while chunk := list(itertools.islice(iterator, TEXTS_PER_CHUNK)):
        features = featurizer.transform(chunk)
        if features.sparse is None:
            return torch.zeros(0, dtype=torch.int64)
        kept = np.union1d(kept, features.sparse.indices.astype(np.int64))
    return torch.from_numpy(kept)


def by_magnitude(rows: torch.Tensor, keep: float) -> torch.Tensor:
    """Positions (sorted) of the ``ceil(keep * n)`` rows of largest L2 norm."""
    n_keep = int(np.ceil(keep * len(rows)))
    if n_keep >= len(rows):
        return torch.arange(len(rows))
    norms = rows.norm(dim=1)
    return torch.sort(torch.topk(norms, n_keep).indices).values


def prune_bag(bag: nn.Module, buckets_kept: torch.Tensor, keep: float = 1.0) -> CompactBag:
    """A sparse table of ``bag``'s rows at ``buckets_kept`` (then the largest ``keep`` of them).

    Codes are copied as stored (an int8 table stays int8, no second rounding).
    """
    if isinstance(bag, CompactBag):
        compact = bag
    else:
        assert isinstance(bag, nn.EmbeddingBag)
        compact = CompactBag(
            bag.num_embeddings,
            bag.embedding_dim,
            WeightsFormat.parse(DENSE),
            bag.weight.detach().to(torch.float32),
        )
    if compact.fmt.sparse:
        present = compact.position[buckets_kept]
        positions = present[present >= 0]
    else:
        positions = buckets_kept
    positions = positions[by_magnitude(compact.rows(positions), keep)]
    ids = compact.row_ids[positions] if compact.fmt.sparse else positions
    return CompactBag(
        compact.buckets,
        compact.dim,
        WeightsFormat(True, compact.fmt.code),
        compact.codes.index_select(0, positions),
        None if not compact.fmt.quantized else compact.scales[positions].clone(),
        ids.clone(),
    )
