"""The ``fast`` pipeline's network: a sparse bag of hashed n-grams plus an optional frozen
sentence vector, then a small MLP head.

The bag is an ``nn.EmbeddingBag(sparse=True)``: each step touches only the few hundred buckets
present in the batch, which a sparse optimizer updates without densifying the whole table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from lifelong.features import Features, bag_inputs


class IntentClassifier(nn.Module):
    """Hashed n-grams (+ dense vector) -> LayerNorm -> hidden layer -> logits.

    Parameters
    ----------
    buckets, dim
        Shape of the n-gram table.
    dense_dim
        Width of the frozen sentence vector concatenated to the bag (0 for none).
    hidden, dropout
        The MLP head.
    n_classes
        Number of intents (rows of ``out``, the head that grows).
    bag
        A ready table to use instead of a fresh ``nn.EmbeddingBag`` (a compact one loaded from
        a bundle, see :mod:`lifelong.models.compact`), called as the bag is.
    """

    def __init__(
        self,
        buckets: int,
        dim: int,
        dense_dim: int,
        hidden: int,
        dropout: float,
        n_classes: int,
        bag: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if bag is None:
            bag = nn.EmbeddingBag(buckets, dim, mode="sum", sparse=True)
            nn.init.normal_(bag.weight, std=0.1)
        self.bag = bag
        self.norm = nn.LayerNorm(dim + dense_dim)
        self.hidden = nn.Linear(dim + dense_dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, features: Features) -> torch.Tensor:
        """Logits of shape ``(len(features), n_classes)``."""
        assert features.sparse is not None, "IntentClassifier needs hashed n-gram features"
        indices, offsets, weights = bag_inputs(features.sparse)
        dense = None if features.dense is None else torch.from_numpy(features.dense)
        return self.forward_bags(indices, weights, offsets, dense)

    def forward_bags(
        self,
        indices: torch.Tensor,
        weights: torch.Tensor,
        offsets: torch.Tensor | None = None,
        dense: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits from the bag's inputs: flat ``indices`` and ``weights`` cut by ``offsets``,
        or, without offsets, one bag per row of 2-D ones (rows of equal length, as a tabular
        row's one entry per column: an online learner's step skips the CSR matrix)."""
        x = self.bag(indices, offsets, per_sample_weights=weights)
        if dense is not None:
            x = torch.cat([x, dense], dim=1)
        x = self.norm(x)
        logits: torch.Tensor = self.out(self.dropout(torch.relu(self.hidden(x))))
        return logits

    def predict_numpy(
        self, indices: np.ndarray[Any, Any], weights: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any]:
        """:meth:`forward_bags` at inference (no dropout) for 2-D bags, in numpy on the live
        weights.

        A torch call costs microseconds of dispatch per operation, which for a handful of rows
        (an online learner's prediction of one row or one block) is most of the time; numpy's
        five operations on the same float32 weights give the same logits to float rounding.
        Only for a plain ``nn.EmbeddingBag`` in ``sum`` mode and no dense vector (the tabular
        network).
        """
        assert isinstance(self.bag, nn.EmbeddingBag)
        assert self.bag.mode == "sum"
        assert self.norm.normalized_shape == (self.bag.embedding_dim,), "no dense vector"
        table = self.bag.weight.detach().numpy()
        x = np.einsum("nk,nkd->nd", weights.astype(np.float32), table[indices])
        centred = x - x.mean(axis=1, keepdims=True)
        variance = (centred * centred).mean(axis=1, keepdims=True)
        x = centred / np.sqrt(variance + self.norm.eps)
        if self.norm.weight is not None:
            x = x * _array(self.norm.weight) + _array(self.norm.bias)
        hidden = np.maximum(x @ _array(self.hidden.weight).T + _array(self.hidden.bias), 0.0)
        logits: np.ndarray[Any, Any] = hidden @ _array(self.out.weight).T + _array(self.out.bias)
        return logits


def _array(parameter: torch.Tensor | None) -> np.ndarray[Any, Any]:
    """A parameter's values as a numpy view (no copy: it follows the optimizer's updates)."""
    assert parameter is not None
    return parameter.detach().numpy()
