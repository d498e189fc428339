"""The ``transformer`` pipeline's network: MiniLM fine-tuned end to end with a linear head.

Slow on a CPU, but the most accurate on small data sets; lower layers can be frozen to trade
accuracy for speed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from lifelong.features import Features
from lifelong.features.encoders import quiet_loading


class TransformerClassifier(nn.Module):
    """Encoder -> masked mean pooling -> dropout -> ``out``.

    Parameters
    ----------
    model_path
        Folder of the pretrained encoder (loaded with ``transformers.AutoModel``, offline).
    dropout, n_classes
        The head.
    freeze_layers
        Number of lower encoder layers (and the embeddings) kept frozen; 0 trains everything.
    """

    def __init__(
        self, model_path: Path, dropout: float, n_classes: int, freeze_layers: int
    ) -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel

        with quiet_loading():
            self.encoder = AutoModel.from_pretrained(str(model_path))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(int(self.encoder.config.hidden_size), n_classes)
        if freeze_layers > 0:
            frozen = [self.encoder.embeddings, *self.encoder.encoder.layer[:freeze_layers]]
            for module in frozen:
                module.requires_grad_(False)

    def forward(self, features: Features) -> torch.Tensor:
        """Logits of shape ``(len(features), n_classes)``."""
        ids, mask = token_inputs(features)
        return self.logits(torch.from_numpy(ids), torch.from_numpy(mask))

    def logits(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits from token ids and attention mask: the graph int8 compression exports."""
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        logits: torch.Tensor = self.out(self.dropout(pooled))
        return logits


def token_inputs(features: Features) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Token ids and attention mask cut to the batch's longest text (padding beyond it only
    costs time)."""
    mask = features.tokens["attention_mask"]
    longest = max(int(mask.sum(axis=1).max()), 1)
    ids = features.tokens["input_ids"][:, :longest]
    return ids.astype(np.int64), mask[:, :longest].astype(np.int64)
