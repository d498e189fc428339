"""The ``fast`` pipeline's network: a sparse bag of hashed n-grams plus an optional frozen
sentence vector, then a small MLP head.

The bag is an ``nn.EmbeddingBag(sparse=True)``: each step touches only the few hundred buckets
present in the batch, which a sparse optimizer updates without densifying the whole table.
"""

from __future__ import annotations

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
        parts = [self.bag(indices, offsets, per_sample_weights=weights)]
        if features.dense is not None:
            parts.append(torch.from_numpy(features.dense))
        x = self.norm(torch.cat(parts, dim=1))
        logits: torch.Tensor = self.out(self.dropout(torch.relu(self.hidden(x))))
        return logits
