"""Structured pruning of the hidden units of the fast (and tabular) network, then a short
recovery of its head.

The network is bag -> LayerNorm -> ``hidden`` Linear -> relu -> ``out`` Linear. Dropping hidden
unit ``j`` removes row ``j`` of ``hidden`` and column ``j`` of ``out``: both matrices shrink, so
the head's matrix products get cheaper and the file smaller. The n-gram table is untouched,
and it is most of the time and bytes of a prediction, which is why this saves little (the
figures are in bench/RESULTS.md).

A unit's importance is measured on the parent's training texts (a bounded sample of them):

- ``activation``: its mean relu activation times the L2 norm of its ``out`` column, i.e. how
  much it moves the logits on the data;
- ``taylor``: the first-order Taylor estimate of the loss change when the unit is removed,
  the mean over texts of ``|a_j * dL/da_j|`` (Molchanov et al., 2017).

Then ``recover_epochs`` epochs of Adam retrain ``hidden`` and ``out`` on the same sample (the
bag and LayerNorm stay frozen, so their outputs are computed once). The pruned width is stored
as the bundle's ``pipeline.hidden`` (``load`` rebuilds that shape), and as
``meta["pruned_hidden"]`` so that a later fine-tune keeps it (see
:func:`lifelong.training.compat.inherited_pipeline`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from lifelong.core.errors import ConfigError
from lifelong.core.types import Example
from lifelong.models import IntentClassifier, ModelBundle, head_inputs, table, with_bag

Criterion = Literal["activation", "taylor"]
SAMPLE_TEXTS = 50_000
"""Training texts scored and retrained on at most (a uniform sample of a larger stream): the
hidden inputs of this many texts hold 128 + 384 floats each for a 128-dim bag and one MiniLM
layer (100 MB), 128 + 6 * 384 with all six layers (``embeddings_layers``: 490 MB)."""
RECOVER_LR = 1e-3
RECOVER_BATCH = 256
SEED = 0
MIN_HIDDEN = 8
"""The narrowest hidden layer a config can ask for (``pipeline.hidden``)."""


@dataclass(frozen=True)
class HeadData:
    """The hidden layer's inputs ``x`` ``(n, d)`` for a sample of training texts and their
    class indices ``y`` ``(n,)``."""

    x: torch.Tensor
    y: torch.Tensor


def hidden_units(module: nn.Module) -> int:
    """Width of a fast or tabular network's hidden layer (0 for other networks)."""
    hidden = getattr(module, "hidden", None)
    return hidden.out_features if isinstance(hidden, nn.Linear) else 0


def sample(examples: Iterable[Example], size: int, seed: int = SEED) -> list[Example]:
    """A uniform sample of at most ``size`` of ``examples``, read once (reservoir sampling):
    a streamed project's training data may be more than memory holds."""
    rng = random.Random(seed)
    kept: list[Example] = []
    for i, example in enumerate(examples):
        if i < size:
            kept.append(example)
        else:
            j = rng.randrange(i + 1)
            if j < size:
                kept[j] = example
    return kept


def head_data(bundle: ModelBundle, examples: Iterable[Example]) -> HeadData:
    """The hidden inputs and labels of a sample of ``examples`` whose labels the model has."""
    index = {label: i for i, label in enumerate(bundle.labels)}
    kept = [e for e in sample(examples, SAMPLE_TEXTS) if e.label in index]
    if not kept:
        raise ConfigError(
            "prune-neurons: none of the version's training texts is in the current data",
            hint="hidden units are scored on the training texts: restore the data the version "
            "trained on, or compress another version",
        )
    features = bundle.featurizer.transform([e.text for e in kept])
    x = head_inputs(bundle.module, features, layer="hidden")
    return HeadData(x, torch.tensor([index[e.label] for e in kept]))


def importance(model: IntentClassifier, data: HeadData, criterion: Criterion) -> torch.Tensor:
    """Importance of each hidden unit ``(hidden,)`` on ``data`` (larger: keep)."""
    with torch.no_grad():
        activations = torch.relu(model.hidden(data.x))
    if criterion == "activation":
        scores: torch.Tensor = activations.mean(dim=0) * model.out.weight.detach().norm(dim=0)
        return scores
    activations.requires_grad_(True)
    loss = F.cross_entropy(model.out(activations), data.y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, activations)
    scores = (activations.detach() * grad).abs().mean(dim=0)
    return scores


def kept_units(scores: torch.Tensor, fraction: float) -> torch.Tensor:
    """Sorted indices of the ``ceil(fraction * n)`` units of highest score.

    >>> kept_units(torch.tensor([0.3, 0.1, 0.9, 0.5]), 0.5).tolist()
    [2, 3]
    """
    n_keep = math.ceil(fraction * len(scores))
    return torch.sort(torch.topk(scores, n_keep).indices).values


def narrowed(model: IntentClassifier, units: torch.Tensor) -> IntentClassifier:
    """A copy of ``model`` with only hidden ``units`` (rows of ``hidden``, columns of ``out``);
    the n-gram table is shared, not copied (pruning never changes it)."""
    bag = table(model)
    assert bag is not None
    copy = with_bag(model, bag)
    assert isinstance(copy, IntentClassifier)
    hidden = nn.Linear(model.hidden.in_features, len(units))
    out = nn.Linear(len(units), model.out.out_features)
    with torch.no_grad():
        hidden.weight.copy_(model.hidden.weight[units])
        hidden.bias.copy_(model.hidden.bias[units])
        out.weight.copy_(model.out.weight[:, units])
        out.bias.copy_(model.out.bias)
    copy.hidden, copy.out = hidden, out
    return copy


def recover(
    model: IntentClassifier, data: HeadData, epochs: int, label_smoothing: float
) -> list[float]:
    """Retrain ``hidden`` and ``out`` in place for ``epochs`` on ``data`` (dropout on, as in
    training); the mean loss of each epoch.

    Seeded (the order and the dropout masks), so the same parent and options give the same
    network; torch's global generator is restored after, for the caller's own draws.
    """
    parameters = [*model.hidden.parameters(), *model.out.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=RECOVER_LR)
    generator = torch.Generator().manual_seed(SEED)
    losses = []
    model.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)  # dropout draws from the global generator
        try:
            for _ in range(epochs):
                losses.append(_epoch(model, data, optimizer, generator, label_smoothing))
        finally:
            model.eval()
    return losses


def _epoch(
    model: IntentClassifier,
    data: HeadData,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    label_smoothing: float,
) -> float:
    """One pass over ``data`` in shuffled batches; its mean loss."""
    order = torch.randperm(len(data.y), generator=generator)
    total = 0.0
    for start in range(0, len(order), RECOVER_BATCH):
        batch = order[start : start + RECOVER_BATCH]
        logits = model.out(model.dropout(torch.relu(model.hidden(data.x[batch]))))
        loss = F.cross_entropy(logits, data.y[batch], label_smoothing=label_smoothing)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        total += float(loss.detach()) * len(batch)
    return total / len(order)


def prune_neurons(
    bundle: ModelBundle,
    examples: Iterable[Example],
    fraction: float,
    criterion: Criterion,
    recover_epochs: int,
) -> tuple[IntentClassifier, list[float]]:
    """``bundle``'s network keeping the ``fraction`` most important hidden units, recovered;
    and the recovery's loss per epoch.

    Raises
    ------
    ConfigError
        The fraction leaves fewer than :data:`MIN_HIDDEN` units.
    """
    model = bundle.module
    assert isinstance(model, IntentClassifier)
    width = model.hidden.out_features
    if math.ceil(fraction * width) < MIN_HIDDEN:
        raise ConfigError(
            f"prune-neurons: neurons={fraction} keeps {math.ceil(fraction * width)} of "
            f"{width} hidden units, fewer than {MIN_HIDDEN}",
            hint=f"use neurons >= {MIN_HIDDEN / width:.3g}",
        )
    data = head_data(bundle, examples)
    units = kept_units(importance(model, data, criterion), fraction)
    pruned = narrowed(model, units)
    losses = recover(pruned, data, recover_epochs, bundle.pipeline.label_smoothing)
    return pruned, losses
