"""Output-layer surgery: the head follows the label set as intents appear and vanish.

Rows of intents kept are copied unchanged (so their logits are unchanged before training),
rows of vanished intents are dropped, and new intents get small random rows and a bias at the
mean of the kept ones, so they start neither dominant nor unreachable.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

NEW_ROW_STD = 0.01


def remap_head(
    model: nn.Module, old: Sequence[str], new: Sequence[str], generator: torch.Generator
) -> None:
    """Replace ``model.out`` (an ``nn.Linear`` over ``old`` labels) by one over ``new`` labels.

    Parameters
    ----------
    model
        A network whose last layer is the attribute ``out``.
    old, new
        Label lists in row order before and after.
    generator
        Seeded source of the new rows' values.
    """
    head = model.out
    assert isinstance(head, nn.Linear)
    row = {label: i for i, label in enumerate(old)}
    fresh = nn.Linear(head.in_features, len(new))
    kept = [(i, row[label]) for i, label in enumerate(new) if label in row]
    with torch.no_grad():
        fresh.weight.normal_(0.0, NEW_ROW_STD, generator=generator)
        bias_start = head.bias[[j for _, j in kept]].mean() if kept else torch.tensor(0.0)
        fresh.bias.fill_(float(bias_start))
        for i, j in kept:
            fresh.weight[i] = head.weight[j]
            fresh.bias[i] = head.bias[j]
    model.out = fresh
