"""Output-layer surgery: the head follows the label set as intents appear and vanish.

Rows of intents kept are copied unchanged (so their logits are unchanged before training),
rows of vanished intents are dropped, and new intents get small random rows and a bias at the
mean of the kept ones, so they start neither dominant nor unreachable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from lifelong.features import Features

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


def head_inputs(
    model: nn.Module, features: Features, batch_size: int = 1024, layer: str = "out"
) -> torch.Tensor:
    """What ``model.out`` (or the Linear ``layer`` names: ``hidden`` for neuron pruning)
    receives for each row of ``features`` (eval mode: no dropout)."""
    head = getattr(model, layer)
    assert isinstance(head, nn.Linear)
    captured: list[torch.Tensor] = []

    def keep(_module: nn.Module, args: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
        captured.append(args[0].detach())

    hook = head.register_forward_hook(keep)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(features), batch_size):
                model(features.rows(np.arange(start, min(start + batch_size, len(features)))))
    finally:
        hook.remove()
        model.train(was_training)
    return torch.cat(captured) if captured else torch.zeros((0, head.in_features))


def imprint_rows(
    model: nn.Module,
    means: Mapping[int, torch.Tensor],
    center: torch.Tensor,
    keep: Sequence[int],
) -> None:
    """Point the head rows ``means`` names along their examples' mean head input.

    Weight imprinting (Qi, Brown & Lowe 2018): a new intent's row starts along the direction
    that sets its own examples apart in the network's last hidden layer, ``mean - center``
    (``center`` the mean over all training examples: after a ReLU every input shares a large
    common direction, and a row along the raw mean would claim every text), scaled to the mean
    norm of the ``keep`` rows (the intents the parent knew). Its logits are then of the old
    intents' size from the first step instead of near zero. The bias stays as
    :func:`remap_head` set it.
    """
    head = model.out
    assert isinstance(head, nn.Linear)
    with torch.no_grad():
        scale = head.weight[list(keep)].norm(dim=1).mean() if keep else torch.tensor(1.0)
        for row, mean in means.items():
            direction = mean - center
            norm = direction.norm()
            if float(norm) > 0.0:
                head.weight[row] = direction / norm * scale
