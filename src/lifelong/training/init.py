"""How an update's network starts: strategy objects applied before training, never trainers.

Every strategy gets the parent network (after label surgery, so it has the new head's shape)
and a builder of a freshly initialised network of the same shape, and returns the network to
train. Only the strategies that use a fresh network build one: initialising the hashed n-gram
table (2^18 rows) costs as much as a few hundred training steps.

- :class:`WarmStart`: the parent as is. Fastest to converge; can get stuck in the parent's
  optimum and generalise worse than a cold start (the "warm-start gap").
- :class:`ShrinkPerturb`: ``theta <- shrink * theta_parent + perturb * theta_fresh`` (Ash & Adams,
  2020), which closes most of that gap while keeping most of the warm start's speed.
- :class:`ColdStart`: the fresh network; recorded as an update so lineage stays visible.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Literal, Protocol

import torch
from torch import nn

from lifelong.config import Finetune

_EMBEDDINGS = (nn.Embedding, nn.EmbeddingBag)
_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase)


class InitStrategy(Protocol):
    """Combines a parent network and a fresh one into the network an update trains."""

    name: str

    def params(self) -> dict[str, Any]:
        """JSON-safe hyperparameters, recorded in the training report."""
        ...

    def apply(
        self, parent: nn.Module, fresh: Callable[[], nn.Module], generator: torch.Generator
    ) -> nn.Module:
        """The network to train; may modify and return ``parent`` or a ``fresh()`` one."""
        ...


class WarmStart:
    """Continue from the parent's weights unchanged."""

    name = "warm"

    def params(self) -> dict[str, Any]:
        return {}

    def apply(
        self, parent: nn.Module, fresh: Callable[[], nn.Module], generator: torch.Generator
    ) -> nn.Module:
        return parent


class ColdStart:
    """Start from the fresh network, ignoring the parent's weights."""

    name = "cold"

    def params(self) -> dict[str, Any]:
        return {}

    def apply(
        self, parent: nn.Module, fresh: Callable[[], nn.Module], generator: torch.Generator
    ) -> nn.Module:
        return fresh()


class ShrinkPerturb:
    """Shrink the parent's weights toward zero and add a little fresh initialisation.

    Parameters
    ----------
    shrink
        Factor on the parent's weights (1 keeps them, 0 forgets them).
    perturb
        Factor on the fresh network's weights (``noise="fresh"``, the paper's form) or the
        standard deviation of Gaussian noise (``noise="gaussian"``).
    noise
        Where the perturbation comes from.
    exclude
        Parameter families left as the parent has them: ``"embeddings"`` (embedding tables,
        including the hashed n-gram bag) and ``"norms"`` (LayerNorm and friends).

    Examples
    --------
    With ``shrink=1, perturb=0`` it is a warm start, with ``shrink=0, perturb=1`` a cold one.
    """

    name = "shrink_perturb"

    def __init__(
        self,
        shrink: float = 0.6,
        perturb: float = 0.01,
        noise: Literal["fresh", "gaussian"] = "fresh",
        exclude: Collection[str] = (),
    ) -> None:
        self.shrink = shrink
        self.perturb = perturb
        self.noise = noise
        self.exclude = exclude

    def params(self) -> dict[str, Any]:
        return {
            "shrink": self.shrink,
            "perturb": self.perturb,
            "noise": self.noise,
            "exclude": sorted(self.exclude),
        }

    def apply(
        self, parent: nn.Module, fresh: Callable[[], nn.Module], generator: torch.Generator
    ) -> nn.Module:
        skip = excluded_parameters(parent, self.exclude)
        fresh_params = dict(fresh().named_parameters()) if self.noise == "fresh" else {}
        with torch.no_grad():
            for name, param in parent.named_parameters():
                if name in skip:
                    continue
                perturbation = (
                    fresh_params[name].detach()
                    if self.noise == "fresh"
                    else torch.randn(param.shape, generator=generator)
                )
                param.mul_(self.shrink).add_(perturbation, alpha=self.perturb)
        return parent


def excluded_parameters(model: nn.Module, exclude: Collection[str]) -> set[str]:
    """Names of the parameters in the families ``exclude`` names (embeddings, norms)."""
    kinds: tuple[type[nn.Module], ...] = ()
    if "embeddings" in exclude:
        kinds += _EMBEDDINGS
    if "norms" in exclude:
        kinds += _NORMS
    names: set[str] = set()
    for prefix, module in model.named_modules():
        if kinds and isinstance(module, kinds):
            names.update(f"{prefix}.{n}" if prefix else n for n, _ in module.named_parameters())
    return names


def make_strategy(finetune: Finetune) -> InitStrategy:
    """The strategy ``finetune.init`` names, with its hyperparameters."""
    if finetune.init == "shrink_perturb":
        return ShrinkPerturb(finetune.shrink, finetune.perturb, finetune.noise, finetune.exclude)
    if finetune.init == "cold":
        return ColdStart()
    return WarmStart()
