"""The compact form a fast-pipeline training writes by default (``pipeline.ngrams.storage``).

A trained n-gram table is mostly rows no training text touched: they hold their random initial
values, and a test text whose unseen n-grams hash into them only gets noise from them. Training
therefore keeps the rows its texts touched (and the rows its parent stored) in fp16, and reads
every other bucket as zero: a sample-project version drops from 134 MB to a few MB, at an
accuracy change measured as +0.00 to +0.06 pts (bench/compress.py, bench/RESULTS.md).

An update of a parent that stores every row (a version written before this default, or one
compressed to ``int8`` over all rows) stays in that form: which of the parent's rows were
trained is not known, so none is dropped.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from lifelong.compression.prune import prune_bag
from lifelong.compression.quantize import quantize_bag
from lifelong.features import Features
from lifelong.models import CompactBag, table, with_bag


def trained_rows(features: Features, parent: nn.Module | None) -> torch.Tensor | None:
    """Sorted buckets a training on ``features`` may have changed, with those ``parent``
    stores; ``None`` when the parent stores every row (its trained ones are unknown)."""
    touched = np.zeros(0, dtype=np.int64)
    if features.sparse is not None:
        touched = np.unique(features.sparse.indices).astype(np.int64)
    return kept_rows(touched, parent)


def kept_rows(touched: NDArray[np.int64], parent: nn.Module | None) -> torch.Tensor | None:
    """:func:`trained_rows` from the sorted buckets a training touched (a streamed training
    collects them batch by batch)."""
    if parent is None:
        return torch.from_numpy(touched)
    bag = table(parent)
    if not isinstance(bag, CompactBag) or not bag.fmt.sparse:
        return None
    return torch.from_numpy(np.union1d(touched, bag.row_ids.numpy()))


def compact_table(module: nn.Module, rows: torch.Tensor) -> nn.Module:
    """``module`` with its fp32 n-gram table cut to ``rows`` in fp16 (other modules as is)."""
    bag = table(module)
    if not isinstance(bag, nn.EmbeddingBag):
        return module
    compact = with_bag(module, quantize_bag(prune_bag(bag, rows), "fp16"))
    compact.train(module.training)
    return compact
