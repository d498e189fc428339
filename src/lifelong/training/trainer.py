"""The training loop: one readable function over precomputed features.

Features are computed once per run; each epoch shuffles row indices (a seeded generator), slices
the features into batches and steps two optimizers: ``SparseAdam`` for sparse embedding tables
(only the rows a batch touched are updated) and ``AdamW`` for the dense rest. Both follow one
schedule: linear warmup, then linear decay to zero. After each epoch the model is scored on the
validation set; the best epoch's weights are restored at the end and training stops early after
``patience`` epochs without improvement.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import NDArray
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from lifelong.config import Training
from lifelong.features import Features
from lifelong.models.objective import Classification, Objective

if TYPE_CHECKING:
    from lifelong.training.distributed import DataParallel

Penalty = Callable[[nn.Module, NDArray[np.int64], Features, torch.Tensor], torch.Tensor]
"""``penalty(model, batch_rows, batch_features, batch_logits) -> scalar`` added to a batch's
loss (``batch_rows`` index the training rows)."""


@dataclass
class FitResult:
    """What a run of :meth:`Trainer.fit` did (JSON-safe through :meth:`to_dict`)."""

    epochs_run: int = 0
    best_epoch: int = 0
    valid_score: float | None = None
    metric: str = "accuracy"
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """``valid_<metric>`` is ``valid_accuracy`` for classes, ``valid_rmse`` for a number."""
        return {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            f"valid_{self.metric}": self.valid_score,
            "history": self.history,
        }


def sparse_parameters(model: nn.Module) -> list[torch.Tensor]:
    """Weights of embedding tables built with ``sparse=True`` (they get sparse gradients)."""
    return [
        module.weight
        for module in model.modules()
        if isinstance(module, nn.Embedding | nn.EmbeddingBag)
        and module.sparse
        and module.weight.requires_grad
    ]


class Trainer:
    """Fits a network on features and integer labels.

    Parameters
    ----------
    training
        Epochs, batch size, learning rates, weight decay, warmup, seed, patience.
    objective
        The loss and validation score (see :mod:`lifelong.models.objective`); classification
        by default.
    dense_lr
        Learning rate of the dense parameters; defaults to ``training.lr`` (the transformer
        pipeline passes its own, much smaller, encoder rate).
    progress
        Show a rich progress bar (epoch, loss, valid accuracy).
    """

    def __init__(
        self,
        training: Training,
        *,
        objective: Objective | None = None,
        dense_lr: float | None = None,
        progress: bool = True,
    ) -> None:
        self.training = training
        self.objective: Objective = objective or Classification()
        self.dense_lr = dense_lr
        self.progress = progress

    def _optimizers(self, model: nn.Module) -> list[torch.optim.Optimizer]:
        sparse = sparse_parameters(model)
        sparse_ids = {id(p) for p in sparse}
        dense = [p for p in model.parameters() if p.requires_grad and id(p) not in sparse_ids]
        optimizers: list[torch.optim.Optimizer] = [
            torch.optim.AdamW(
                dense,
                lr=self.dense_lr or self.training.lr,
                weight_decay=self.training.weight_decay,
            )
        ]
        if sparse:
            optimizers.append(torch.optim.SparseAdam(sparse, lr=self.training.sparse_lr))
        return optimizers

    def fit(
        self,
        model: nn.Module,
        train: Features,
        targets: torch.Tensor,
        valid: tuple[Features, torch.Tensor] | None = None,
        *,
        epochs: int | None = None,
        penalties: Sequence[Penalty] = (),
        distributed: DataParallel | None = None,
    ) -> FitResult:
        """Train ``model`` in place for up to ``epochs`` (default ``training.epochs``).

        ``valid`` (features and labels) drives early stopping; without it (or when empty)
        every epoch runs and the last weights are kept. Each of ``penalties`` (see
        :mod:`lifelong.training.regularizers`) adds its term to every batch's loss. With
        ``distributed`` (see :mod:`lifelong.training.distributed`) ``train`` is this rank's
        shard, the forward pass runs under DDP and every step averages gradients across ranks;
        ``valid`` is the full set on every rank, so all ranks stop at the same epoch.
        """
        cfg = self.training
        epochs = epochs or cfg.epochs
        started = time.perf_counter()
        torch.manual_seed(cfg.seed)
        order = torch.Generator().manual_seed(cfg.seed)
        steps_per_epoch = math.ceil(len(targets) / cfg.batch_size)
        total = epochs * steps_per_epoch
        warmup = int(cfg.warmup * total)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total - step) / max(total - warmup, 1))

        optimizers = self._optimizers(model)
        forward = model if distributed is None else distributed.wrap(model)
        schedulers = [torch.optim.lr_scheduler.LambdaLR(o, schedule) for o in optimizers]
        objective = self.objective
        key = f"valid_{objective.metric}"
        if valid is not None and len(valid[1]) == 0:
            valid = None
        result = FitResult(metric=objective.metric)
        best_state: dict[str, torch.Tensor] | None = None
        best: float | None = None
        with _progress_bar(self.progress) as bar:
            task = bar.add_task("epoch 1", total=total)
            for epoch in range(1, epochs + 1):
                model.train()
                losses = []
                permutation = torch.randperm(len(targets), generator=order)
                for batch in torch.split(permutation, cfg.batch_size):
                    index = batch.numpy()
                    inputs = train.rows(index)
                    logits = forward(inputs)
                    loss = objective.loss(logits, targets[batch])
                    for penalty in penalties:
                        loss = loss + penalty(model, index, inputs, logits)
                    for optimizer in optimizers:
                        optimizer.zero_grad()
                    loss.backward()  # type: ignore[no-untyped-call]
                    if distributed is not None:
                        distributed.reduce_sparse()
                    for optimizer, scheduler in zip(optimizers, schedulers, strict=True):
                        optimizer.step()
                        scheduler.step()
                    losses.append(loss.item())
                    bar.advance(task)
                record: dict[str, Any] = {"epoch": epoch, "loss": float(np.mean(losses))}
                if valid is not None:
                    record[key] = objective.score(model, *valid)
                result.history.append(record)
                result.epochs_run = epoch
                shown = f"{record[key]:.4f}" if valid is not None else "-"
                bar.update(
                    task, description=f"epoch {epoch} loss {record['loss']:.4f} valid {shown}"
                )
                if valid is None:  # nothing to select on: the last weights are the result
                    result.best_epoch = epoch
                elif objective.better(record[key], best):
                    best, result.best_epoch = record[key], epoch
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                elif epoch - result.best_epoch > cfg.patience:
                    break
        if best_state is not None:
            model.load_state_dict(best_state)
        result.valid_score = None if valid is None else best
        result.train_seconds = time.perf_counter() - started
        return result


def _progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=False,
    )
