"""torch's optimizers without their torch.compile guards, which import torch._dynamo.

:class:`torch.optim.Optimizer` wraps ``add_param_group``, ``zero_grad``, ``state_dict`` and
``load_state_dict`` in ``torch._disable_dynamo``, and Adam's ``step`` in graph breaks; each
imports ``torch._dynamo`` on its first call. That import was 1.0 s of CPU (1.5-4 s of wall on a
loaded host) in every ``lifelong train``, the largest fixed cost of an update after importing
torch itself, and this package never runs an optimizer under ``torch.compile``, where alone the
guards act. The classes here call the methods the guards wrap (their ``__wrapped__``), so
parameters, state and arithmetic are torch's own, bit for bit (a test checks it, and that a
training leaves ``torch._dynamo`` unimported).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer

_ADD_PARAM_GROUP = inspect.unwrap(Optimizer.add_param_group)
_ZERO_GRAD = inspect.unwrap(Optimizer.zero_grad)
_STATE_DICT = inspect.unwrap(Optimizer.state_dict)
_LOAD_STATE_DICT = inspect.unwrap(Optimizer.load_state_dict)
# Adam's step under its grad-mode and graph-break wrapper (and the profiler's step hook, once an
# Adam has been built): the undecorated body, run below under no_grad as the wrapper would
_ADAM_STEP = inspect.unwrap(torch.optim.Adam.step)


class Eager(Optimizer):
    """The :class:`~torch.optim.Optimizer` methods, unguarded; put it first in the bases of a
    subclass of a torch optimizer."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        _ADD_PARAM_GROUP(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _ZERO_GRAD(self, set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return dict(_STATE_DICT(self))

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _LOAD_STATE_DICT(self, state_dict)


class AdamW(Eager, torch.optim.AdamW):
    """:class:`torch.optim.AdamW` (same arguments), without importing torch._dynamo."""

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss: float | None = _ADAM_STEP(self, closure)
        return loss


class LBFGS(Eager, torch.optim.LBFGS):
    """:class:`torch.optim.LBFGS` (same arguments), without importing torch._dynamo."""
