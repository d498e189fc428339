"""``SparseAdam``'s update, computed on the rows a batch touched only.

:class:`torch.optim.SparseAdam` (lazy Adam: only the rows with a gradient move) reads the
moments of those rows through ``sparse_mask`` and writes them back as sparse additions. On the
n-gram table (262,144 x 128) those two sparse-tensor kernels took half of a fast-pipeline
training step on 2 CPU cores (cProfile of an epoch of CLINC150: ``sparse_mask`` and sparse
``add_`` 1.6 s of 3.7 s). :class:`RowAdam` keeps SparseAdam's state, arithmetic and order of
operations, so its weights equal SparseAdam's bit for bit (a test checks it), by one of two
paths:

- compiled (``_ngrams.row_adam_moments`` and ``row_adam_apply``, taken for float32 tables in
  contiguous memory): torch coalesces the gradient and takes the square root, and each touched
  row of both moments, then of the table, is read and written once in C++ without the GIL;
- torch, the reference and the fallback (no compiled module, another dtype or layout): the
  gradient coalesced by ``coalesce``, the rows read and written with ``index_select`` /
  ``index_copy_`` / ``index_add_``.

On CLINC150's batches of 64 (7,000 n-gram occurrences on 3,000 rows) the torch path's
whole-batch kernels and their temporaries took 3.9 ms of a 7.3 ms training step on one thread;
the compiled path keeps torch's ``coalesce`` and square root (the weights stay bit for bit
torch's) and made the whole step 1.45x faster (``bench/RESULTS.md``, "Throughput floor").
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from lifelong.training.eager import Eager

try:  # built with the featurizer's core (setup.py); absent in a source tree never built, or
    # built before these kernels (an ImportError too: the names are imported, not the module)
    from lifelong.features._ngrams import row_adam_apply, row_adam_moments

    COMPILED = True
except ImportError:
    COMPILED = False


class RowAdam(Eager, torch.optim.SparseAdam):
    """:class:`torch.optim.SparseAdam` with row updates instead of sparse masks (same
    parameters, state and results; ``maximize`` is not supported), without importing
    torch._dynamo (see :mod:`lifelong.training.eager`).

    ``compiled=False`` takes the torch path even where the compiled one could run (the tests
    compare the two).
    """

    def __init__(self, params: object, *args: object, compiled: bool = True, **kwargs: object):
        super().__init__(params, *args, **kwargs)  # type: ignore[arg-type]
        self.compiled = compiled and COMPILED

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            if group.get("maximize", False):
                raise ValueError("RowAdam does not maximize; use torch.optim.SparseAdam")
            beta1, beta2 = group["betas"]
            lr, eps = float(group["lr"]), group["eps"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                if not param.grad.is_sparse:
                    raise RuntimeError("RowAdam takes sparse gradients; use Adam for dense ones")
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(param)
                    state["exp_avg_sq"] = torch.zeros_like(param)
                state["step"] += 1
                step = state["step"]
                step_size = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
                tensors = (param, state["exp_avg"], state["exp_avg_sq"])
                if self.compiled and all(_compiled_layout(t) for t in (*tensors, param.grad)):
                    _compiled_step(param.grad, *tensors, (beta1, beta2, eps, step_size))
                else:
                    _torch_step(param.grad, *tensors, (beta1, beta2, eps, step_size))
        return loss


def _compiled_layout(tensor: torch.Tensor) -> bool:
    """Whether the compiled path can update ``tensor`` in place through a numpy view."""
    if tensor.is_sparse:  # a gradient: its values are copied to contiguous memory if need be
        return tensor.dtype == torch.float32 and tensor.dim() == 2
    return tensor.dtype == torch.float32 and tensor.dim() == 2 and tensor.is_contiguous()


def _compiled_step(
    grad: torch.Tensor,
    param: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    constants: tuple[float, float, float, float],
) -> None:
    """The update by ``_ngrams.row_adam_moments`` and ``row_adam_apply``, with torch's
    ``coalesce`` before them (it sums a row's repeated entries in an order of its own sort,
    which the weights must keep) and torch's square root between them (MKL's, not correctly
    rounded: IEEE's would move weights by an ulp now and then)."""
    beta1, beta2, eps, step_size = constants
    grad = grad.coalesce()
    rows, values = grad._indices()[0].contiguous(), grad._values().contiguous()
    if values.numel() == 0:
        return
    numer, square = torch.empty_like(values), torch.empty_like(values)
    row_adam_moments(
        rows.numpy(),
        values.numpy(),
        exp_avg.numpy(),
        exp_avg_sq.numpy(),
        1 - beta1,
        1 - beta2,
        numer.numpy(),
        square.numpy(),
    )
    root = square.sqrt_()
    row_adam_apply(
        rows.numpy(), numer.numpy(), root.numpy(), param.detach().numpy(), eps, -step_size
    )


def _torch_step(
    grad: torch.Tensor,
    param: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    constants: tuple[float, float, float, float],
) -> None:
    """The update by torch's gather, scatter and element-wise kernels."""
    beta1, beta2, eps, step_size = constants
    grad = grad.coalesce()  # the update is non-linear: unique rows
    rows, values = grad._indices()[0], grad._values()
    if values.numel() == 0:
        return
    # old <- b * old + (1 - b) * new, as old += (1 - b) * (new - old)
    old_avg = exp_avg.index_select(0, rows)
    numer = values.sub(old_avg).mul_(1 - beta1).add_(old_avg)
    exp_avg.index_copy_(0, rows, numer)
    old_sq = exp_avg_sq.index_select(0, rows)
    new_sq = values.pow(2).sub_(old_sq).mul_(1 - beta2).add_(old_sq)
    exp_avg_sq.index_copy_(0, rows, new_sq)
    denom = new_sq.sqrt_().add_(eps)
    param.index_add_(0, rows, -step_size * numer.div_(denom))
