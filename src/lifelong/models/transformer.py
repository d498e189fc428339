"""The ``transformer`` pipeline's network: MiniLM fine-tuned end to end with a linear head.

Slow on a CPU, but the most accurate on small data sets; lower layers can be frozen to trade
accuracy for speed. A structurally pruned network (``lifelong compress --method prune``) has
fewer attention heads and FFN neurons per layer: :func:`restructure` cuts them, and the kept
sizes, recorded in the bundle's ``meta[STRUCTURE]``, let :meth:`ModelBundle.load` rebuild the
smaller shapes before reading the weights (no pickle, the same safetensors file).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
        self.structure: dict[str, Any] | None = None
        """The kept heads and FFN sizes per layer once pruned (see :func:`restructure`)."""
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


STRUCTURE = "structure"
"""Key of a bundle's ``meta`` holding a pruned network's shape: ``heads``, the kept attention
heads of each layer (ids of the pretrained model's heads), and ``ffn``, each layer's number of
kept FFN neurons."""


def _sliced(linear: nn.Linear, index: torch.Tensor, dim: int) -> nn.Linear:
    """``linear`` keeping only the outputs (``dim`` 0) or inputs (``dim`` 1) in ``index``."""
    weight = linear.weight.detach().index_select(dim, index)
    cut = nn.Linear(weight.shape[1], weight.shape[0], bias=linear.bias is not None)
    with torch.no_grad():
        cut.weight.copy_(weight)
        if linear.bias is not None:
            bias = linear.bias.detach()
            cut.bias.copy_(bias.index_select(0, index) if dim == 0 else bias)
    cut.requires_grad_(linear.weight.requires_grad)
    return cut


def restructure(
    classifier: TransformerClassifier,
    heads: Sequence[Sequence[int]],
    ffn: Sequence[Sequence[int]],
) -> None:
    """Cut ``classifier`` in place to the attention ``heads`` and FFN neurons ``ffn`` kept in
    each layer (ids; at least one head per layer).

    Heads go by slicing the query/key/value outputs and the attention output's inputs (the
    attention infers its head count from that width), neurons by slicing the intermediate
    layer's outputs and the FFN output's inputs. Loading calls it with the recorded heads and
    ``range(n)`` neurons, so the shapes match before the stored weights overwrite the values.
    """
    layers = classifier.encoder.encoder.layer
    if len(heads) != len(layers) or len(ffn) != len(layers):
        raise ValueError(f"a structure for {len(heads)} layers, the encoder has {len(layers)}")
    for layer, kept_heads, kept_neurons in zip(layers, heads, ffn, strict=True):
        attention = layer.attention.self
        size = int(attention.attention_head_size)
        if not kept_heads or not kept_neurons:
            raise ValueError("every layer keeps at least one head and one FFN neuron")
        rows = torch.tensor([h * size + i for h in kept_heads for i in range(size)])
        for name in ("query", "key", "value"):
            setattr(attention, name, _sliced(getattr(attention, name), rows, 0))
        layer.attention.output.dense = _sliced(layer.attention.output.dense, rows, 1)
        attention.num_attention_heads = len(kept_heads)
        attention.all_head_size = len(rows)
        neurons = torch.tensor(list(kept_neurons))
        layer.intermediate.dense = _sliced(layer.intermediate.dense, neurons, 0)
        layer.output.dense = _sliced(layer.output.dense, neurons, 1)
    classifier.structure = {
        "heads": [[int(h) for h in kept] for kept in heads],
        "ffn": [len(kept) for kept in ffn],
    }


def rebuild(classifier: TransformerClassifier, structure: dict[str, Any]) -> None:
    """Give a freshly built ``classifier`` the shapes of a pruned one (its recorded
    ``structure``), ready for the pruned weights."""
    restructure(classifier, structure["heads"], [range(n) for n in structure["ffn"]])
