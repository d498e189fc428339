"""Data-parallel training under ``torchrun``: one process per core (or GPU), one model.

Every process (a *rank*) reads the same data, featurizes it, and trains on its own disjoint
shard of the training examples, chosen by each example's content hash (``int(hash, 16) %
world_size``), so a shard does not depend on file order and an example always lands on the same
rank. PyTorch's :class:`~torch.nn.parallel.DistributedDataParallel` averages the gradients of
every step across ranks, so all ranks apply the same update and keep identical weights. The
backend is gloo on CPU and NCCL when CUDA is there; the code is the same.

What keeps every rank in step (a rank waiting in an all-reduce the others never reach is the
classic DDP hang) and the result that of one process:

- **Equal steps.** Shards are padded to the size of the largest one by repeating the shard's
  own examples (:func:`shard_rows`), as :class:`~torch.utils.data.DistributedSampler` pads. No
  example is dropped; a few (at most the gap between the largest and the smallest shard) are
  seen twice per epoch on their rank.
- **Same optimization.** Each rank's batch is ``training.batch_size`` divided by the number of
  ranks (:meth:`DataParallel.rank_batch`), so a step averages the gradient of about one
  configured batch and an epoch has as many steps as in one process: the learning rates and the
  warm-up/decay schedule keep their meaning. (Keeping the per-rank batch would halve the steps
  per epoch on two ranks; in a 3-epoch run on CLINC150 that cost 0.6 pt of test accuracy.)
- **Equal early stopping.** Every rank scores the *full* validation set with identical weights,
  so every rank gets the same score and stops at the same epoch, with no extra communication.

Sparse n-gram gradients. The ``fast`` pipeline's table is an ``nn.EmbeddingBag(sparse=True)``
updated by ``SparseAdam``. On gloo, DDP all-reduces sparse gradients itself (each sparse
parameter in its own bucket, indices and values gathered, then summed). NCCL cannot all-reduce
sparse tensors, so there the table is left out of DDP and its gradient is exchanged by hand:
all ranks all-gather their (padded) indices and values, and each builds the same averaged sparse
gradient (:meth:`DataParallel.reduce_sparse`). Both keep the weights bit-identical across ranks
(tests check it); on 2 CPU cores DDP's own sparse all-reduce was slightly the faster of the
two (within the noise of a shared machine: ``bench/distributed.py``, figures in
``bench/RESULTS.md``), so gloo uses it and ``"gather"`` is the NCCL path. A dense all-reduce
of the table was not an option: 262,144 x 128 floats (128 MiB) per step for a batch that
touches a few thousand rows.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.distributed as dist
from numpy.typing import NDArray
from torch import nn
from torch.distributed.distributed_c10d import PrefixStore
from torch.distributed.rendezvous import rendezvous
from torch.nn.parallel import DistributedDataParallel

from lifelong.config import Pipeline, Training
from lifelong.core.errors import ConfigError, DataError
from lifelong.training.trainer import sparse_parameters

SparseSync = Literal["ddp", "gather"]
"""How sparse gradients are averaged: by DDP itself (gloo only) or by an all-gather (any
backend)."""


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in a ``torchrun`` job: read from the variables torchrun sets."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DistContext | None:
        """The context of a torchrun worker, or ``None`` outside torchrun (no ``WORLD_SIZE``).

        ``MASTER_ADDR`` and ``MASTER_PORT`` are read later by ``init_process_group`` itself.
        """
        env = os.environ if environ is None else environ
        if "WORLD_SIZE" not in env:
            return None
        try:
            rank, world, local = (int(env[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
        except (KeyError, ValueError):
            raise ConfigError(
                "WORLD_SIZE is set but RANK / LOCAL_RANK are missing or not integers",
                hint="start distributed runs with `lifelong train --nproc N` or torchrun",
            ) from None
        if not 0 <= rank < world:
            raise ConfigError(f"RANK={rank} is not within WORLD_SIZE={world}")
        return cls(rank, world, local, "nccl" if torch.cuda.is_available() else "gloo")

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that reads and writes the registry."""
        return self.rank == 0


def check_distributable(pipeline: Pipeline) -> None:
    """Refuse pipelines not trained data-parallel yet, before any process starts work."""
    if pipeline.name == "transformer":
        raise ConfigError(
            "pipeline.name: transformer cannot be trained with --nproc yet (only the fast and "
            "tabular pipelines are)",
            hint="train it in one process: `lifelong train` without --nproc",
        )


def shard_rows(hashes: Sequence[str], rank: int, world_size: int) -> NDArray[np.int64]:
    """Row indices of ``rank``'s shard: the rows whose hash modulo ``world_size`` is ``rank``,
    repeated cyclically up to the largest shard's size so every rank runs as many steps.

    Every rank computes every shard's size from the same list, so no communication is needed.

    >>> shard_rows(["0", "1", "2", "4"], 1, 2).tolist()  # rank 1 owns row 1; pads to 3
    [1, 1, 1]
    """
    owners = np.array([int(h, 16) % world_size for h in hashes], dtype=np.int64)
    own = np.flatnonzero(owners == rank)
    if len(own) == 0:
        raise DataError(
            f"{len(hashes)} training example(s) leave process {rank} of {world_size} without any",
            hint="use fewer processes (--nproc) or add data",
        )
    size = int(np.bincount(owners, minlength=world_size).max())
    return np.resize(own, size).astype(np.int64)


class DataParallel:
    """The trainer's hook: wraps the model in DDP and averages what DDP does not.

    Parameters
    ----------
    context
        This process's rank and world.
    sparse_sync
        ``"ddp"`` (DDP all-reduces sparse gradients; gloo only) or ``"gather"``; by default
        ``"ddp"`` on gloo, ``"gather"`` elsewhere (see the module docstring).
    """

    def __init__(self, context: DistContext, sparse_sync: SparseSync | None = None) -> None:
        self.context = context
        if sparse_sync is None:
            sparse_sync = "ddp" if context.backend == "gloo" else "gather"
        if sparse_sync == "ddp" and context.backend != "gloo":
            raise ConfigError(f"sparse gradients cannot be all-reduced on {context.backend}")
        self.sparse_sync: SparseSync = sparse_sync
        self._gathered: list[torch.Tensor] = []

    def summary(self) -> dict[str, object]:
        """What a version's training record says about the run (JSON-safe)."""
        return {
            "world_size": self.context.world_size,
            "backend": self.context.backend,
            "sparse_sync": self.sparse_sync,
        }

    def rank_batch(self, training: Training) -> int:
        """Each rank's batch: ``batch_size`` split over the ranks (rounded up), so one step
        averages about ``batch_size`` examples and an epoch has as many steps as in one
        process; the learning rates and schedule then mean what they mean without ``--nproc``.
        """
        return max(1, math.ceil(training.batch_size / self.context.world_size))

    def shard(self, hashes: Sequence[str]) -> NDArray[np.int64]:
        """This rank's rows of the training examples with these hashes (see :func:`shard_rows`)."""
        return shard_rows(hashes, self.context.rank, self.context.world_size)

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` under DDP, its weights made rank 0's on every rank."""
        self._gathered = sparse_parameters(model) if self.sparse_sync == "gather" else []
        if self._gathered:
            names = {id(p): name for name, p in model.named_parameters()}
            DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(  # type: ignore[no-untyped-call]
                model, [names[id(p)] for p in self._gathered]
            )
            for parameter in self._gathered:  # DDP broadcasts only what it manages
                dist.broadcast(parameter.data, src=0)
        return DistributedDataParallel(model)

    def reduce_sparse(self) -> None:
        """Average the sparse gradients left out of DDP (after ``backward``, before ``step``).

        Each rank's coalesced gradient is padded to the largest one's row count and
        all-gathered; every rank then sums the same pieces in the same order, so the
        averaged gradient (and the weights after the step) are identical everywhere.
        """
        world = self.context.world_size
        for parameter in self._gathered:
            if parameter.grad is None:
                continue
            grad = parameter.grad.coalesce()
            rows, values = grad.indices()[0], grad.values()
            counts = [torch.zeros(1, dtype=torch.long) for _ in range(world)]
            dist.all_gather(counts, torch.tensor([len(rows)]))
            width = int(max(int(c) for c in counts))
            padded_rows = torch.zeros(width, dtype=rows.dtype)
            padded_rows[: len(rows)] = rows
            padded_values = values.new_zeros((width, *values.shape[1:]))
            padded_values[: len(rows)] = values
            all_rows = [torch.empty_like(padded_rows) for _ in range(world)]
            all_values = [torch.empty_like(padded_values) for _ in range(world)]
            dist.all_gather(all_rows, padded_rows)
            dist.all_gather(all_values, padded_values)
            keep = [int(c) for c in counts]
            index = torch.cat([r[:k] for r, k in zip(all_rows, keep, strict=True)])
            value = torch.cat([v[:k] for v, k in zip(all_values, keep, strict=True)])
            parameter.grad = torch.sparse_coo_tensor(
                index.unsqueeze(0), value / world, grad.shape, check_invariants=True
            ).coalesce()


@contextmanager
def process_group(
    context: DistContext, sparse_sync: SparseSync | None = None
) -> Iterator[DataParallel]:
    """Join the job's process group for the ``with`` block (training only) and leave it.

    The group is left before rank 0 evaluates and registers, so the other ranks can exit and
    nothing waits on them. Its keys in torchrun's store are prefixed with the restart count:
    torchrun keeps one store across restarts, and a restarted rank that read the address a
    killed rank published before would wait on a dead port.
    """
    store, _, _ = next(rendezvous("env://", rank=context.rank, world_size=context.world_size))
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    dist.init_process_group(
        context.backend,
        store=PrefixStore(f"lifelong/attempt-{attempt}/", store),
        rank=context.rank,
        world_size=context.world_size,
    )
    try:
        yield DataParallel(context, sparse_sync)
    finally:
        dist.destroy_process_group()
