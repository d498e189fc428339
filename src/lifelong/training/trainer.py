"""The training loop: one readable function over batches.

Batches come from a :class:`Batches` source: :class:`ArrayBatches` slices features computed
once per run (each epoch shuffles row indices with a seeded generator); a streamed source
(:mod:`lifelong.training.stream`) featurizes batches read from files as they come. Each batch
steps two optimizers: ``SparseAdam`` for sparse embedding tables (only the rows a batch
touched are updated; computed by :class:`~lifelong.training.row_adam.RowAdam`, the same update
through row gathers) and ``AdamW`` for the dense rest. Both follow one
schedule: linear warmup, then linear decay to zero. After each epoch the model is scored on the
validation set; the best epoch's weights are restored at the end and training stops early after
``patience`` epochs without improvement (``keep: best``), or every epoch runs and the last
weights (``keep: last``) or the mean of the second half's epochs' weights (``keep: average``)
are the result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from numpy.typing import NDArray
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from lifelong.config import Training
from lifelong.core.crashpoint import crash_point
from lifelong.features import Features
from lifelong.models.objective import Classification, Objective
from lifelong.training.checkpoint import Checkpointer
from lifelong.training.eager import AdamW
from lifelong.training.row_adam import RowAdam

if TYPE_CHECKING:
    from lifelong.training.distributed import DataParallel

Penalty = Callable[[nn.Module, NDArray[np.int64] | None, Features, torch.Tensor], torch.Tensor]
"""``penalty(model, batch_rows, batch_features, batch_logits) -> scalar`` added to a batch's
loss (``batch_rows`` index the training rows of an in-memory run, ``None`` for a streamed
batch: a penalty for streams reads only the batch itself)."""

Batch = tuple[NDArray[np.int64] | None, Features, torch.Tensor]
"""``(rows, features, targets)`` of one batch; ``rows`` index the training rows of an
in-memory run (penalties read them), ``None`` for a streamed batch."""


class Batches(Protocol):
    """Where an epoch's batches come from."""

    def steps(self) -> int:
        """Batches per epoch (the learning-rate schedule is planned from it)."""
        ...

    def epoch(self, generator: torch.Generator, skip: int = 0) -> Iterator[Batch]:
        """One pass over the training data in a shuffled order drawn from ``generator``, less
        its first ``skip`` batches (a resumed run trained them before it was stopped)."""
        ...


@dataclass(frozen=True)
class ArrayBatches:
    """Batches of features held in memory, in a fresh random order each epoch."""

    features: Features
    targets: torch.Tensor
    batch_size: int

    def steps(self) -> int:
        return math.ceil(len(self.targets) / self.batch_size)

    def epoch(self, generator: torch.Generator, skip: int = 0) -> Iterator[Batch]:
        permutation = torch.randperm(len(self.targets), generator=generator)
        for batch in torch.split(permutation, self.batch_size)[skip:]:
            index = batch.numpy()
            yield index, self.features.rows(index), self.targets[batch]


@dataclass
class FitResult:
    """What a run of :meth:`Trainer.fit` did (JSON-safe through :meth:`to_dict`)."""

    epochs_run: int = 0
    best_epoch: int = 0
    valid_score: float | None = None
    metric: str = "accuracy"
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    setup_seconds: float = 0.0
    examples_trained: int = 0
    resumed_from_step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """``valid_<metric>`` is ``valid_accuracy`` for classes, ``valid_rmse`` for a number;
        ``examples_trained`` counts batch rows over every epoch (once each, resumed or not)."""
        return {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            f"valid_{self.metric}": self.valid_score,
            "history": self.history,
            "examples_trained": self.examples_trained,
            "resumed_from_step": self.resumed_from_step,
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
            AdamW(
                dense,
                lr=self.dense_lr or self.training.lr,
                weight_decay=self.training.weight_decay,
            )
        ]
        if sparse:
            optimizers.append(RowAdam(sparse, lr=self.training.sparse_lr))
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
        checkpoint: Checkpointer | None = None,
        distributed: DataParallel | None = None,
    ) -> FitResult:
        """Train ``model`` in place on features held in memory (see :meth:`fit_batches`)."""
        batches = ArrayBatches(train, targets, self.training.batch_size)
        return self.fit_batches(
            model,
            batches,
            valid,
            epochs=epochs,
            penalties=penalties,
            checkpoint=checkpoint,
            distributed=distributed,
        )

    def fit_batches(
        self,
        model: nn.Module,
        batches: Batches,
        valid: tuple[Features, torch.Tensor] | None = None,
        *,
        epochs: int | None = None,
        penalties: Sequence[Penalty] = (),
        checkpoint: Checkpointer | None = None,
        distributed: DataParallel | None = None,
    ) -> FitResult:
        """Train ``model`` in place for up to ``epochs`` (default ``training.epochs``) passes
        over ``batches``.

        ``valid`` (features and labels) drives early stopping; without it (or when empty)
        every epoch runs and the last weights are kept. Each of ``penalties`` (see
        :mod:`lifelong.training.regularizers`) adds its term to every batch's loss. With a
        ``checkpoint``, the run starts from its latest checkpoint if there is one and saves
        one every ``checkpoint.every`` steps (see :mod:`lifelong.training.checkpoint`). With
        ``distributed`` (see :mod:`lifelong.training.distributed`) ``batches`` are this rank's
        shard, the forward pass runs under DDP and every step averages gradients across ranks;
        ``valid`` is the full set on every rank, so all ranks stop at the same epoch.
        """
        cfg = self.training
        epochs = epochs or cfg.epochs
        started = time.perf_counter()
        torch.manual_seed(cfg.seed)
        order = torch.Generator().manual_seed(cfg.seed)
        total = epochs * batches.steps()
        warmup = int(cfg.warmup * total)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total - step) / max(total - warmup, 1))

        # the optimizers' set-up (state tables; torch's own optimizers imported torch._dynamo
        # here, 1.5 s, until lifelong.training.eager): timed apart so that seconds per epoch
        # compare between short and long runs
        optimizers = self._optimizers(model)
        setup_seconds = time.perf_counter() - started
        forward = model if distributed is None else distributed.wrap(model)
        schedulers = [torch.optim.lr_scheduler.LambdaLR(o, schedule) for o in optimizers]
        objective = self.objective
        key = f"valid_{objective.metric}"
        if valid is not None and len(valid[1]) == 0:
            valid = None
        result = FitResult(metric=objective.metric)
        best_state: dict[str, torch.Tensor] | None = None
        best: float | None = None
        average: dict[str, torch.Tensor] | None = None  # keep: average, epochs averaged so far
        averaged = 0
        start_epoch, skip, step, resumed_losses = 1, 0, 0, []
        saved = None if checkpoint is None else checkpoint.load()
        if saved is not None:
            model.load_state_dict(saved["model"])
            for optimizer, state in zip(optimizers, saved["optimizers"], strict=True):
                optimizer.load_state_dict(state)
            for scheduler, state in zip(schedulers, saved["schedulers"], strict=True):
                scheduler.load_state_dict(state)
            start_epoch, skip, step = saved["epoch"], saved["batches_done"], saved["step"]
            order.set_state(saved["order_state"])
            torch.set_rng_state(saved["rng_state"])
            resumed_losses = list(saved["losses"])
            result.history = list(saved["history"])
            result.best_epoch = saved["best_epoch"]
            result.examples_trained = saved["examples_trained"]
            result.resumed_from_step = step
            best, best_state = saved["best"], saved["best_state"]
            average, averaged = saved.get("average"), saved.get("averaged", 0)
        with _progress_bar(self.progress) as bar:
            task = bar.add_task(f"epoch {start_epoch}", total=total, completed=step)
            for epoch in range(start_epoch, epochs + 1):
                model.train()
                epoch_order = order.get_state()
                resuming = epoch == start_epoch
                losses: list[float] = resumed_losses if resuming else []
                done = skip if resuming else 0
                for index, inputs, batch_targets in batches.epoch(order, skip=done):
                    logits = forward(inputs)
                    loss = objective.loss(logits, batch_targets)
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
                    step, done = step + 1, done + 1
                    result.examples_trained += len(batch_targets)
                    bar.advance(task)
                    if checkpoint is not None and checkpoint.due(step):
                        checkpoint.save(
                            {
                                "model": model.state_dict(),
                                "optimizers": [o.state_dict() for o in optimizers],
                                "schedulers": [s.state_dict() for s in schedulers],
                                "epoch": epoch,
                                "batches_done": done,
                                "step": step,
                                "order_state": epoch_order,
                                "rng_state": torch.get_rng_state(),
                                "losses": losses,
                                "history": result.history,
                                "best_epoch": result.best_epoch,
                                "examples_trained": result.examples_trained,
                                "best": best,
                                "best_state": best_state,
                                "average": average,
                                "averaged": averaged,
                            }
                        )
                    crash_point(f"step:{step}")
                record: dict[str, Any] = {"epoch": epoch, "loss": float(np.mean(losses))}
                if valid is not None:
                    record[key] = objective.score(model, *valid)
                result.history.append(record)
                result.epochs_run = epoch
                shown = f"{record[key]:.4f}" if valid is not None else "-"
                bar.update(
                    task, description=f"epoch {epoch} loss {record['loss']:.4f} valid {shown}"
                )
                if cfg.keep == "average" and epoch > epochs // 2:
                    average, averaged = _averaged(model, average, averaged), averaged + 1
                if valid is None or cfg.keep != "best":  # the whole schedule runs
                    result.best_epoch = epoch
                    best = None if valid is None else record[key]
                elif objective.better(record[key], best):
                    best, result.best_epoch = record[key], epoch
                    best_state = _keep(model, best_state)
                elif epoch - result.best_epoch > cfg.patience:
                    break
        if best_state is not None:
            model.load_state_dict(best_state)
        if average is not None:
            model.load_state_dict(average)
            if valid is not None:  # what the averaged weights score, not the last epoch's
                best = objective.score(model, *valid)
        result.valid_score = None if valid is None else best
        result.train_seconds = time.perf_counter() - started
        result.setup_seconds = setup_seconds
        return result


def _averaged(
    model: nn.Module, average: dict[str, torch.Tensor] | None, count: int
) -> dict[str, torch.Tensor]:
    """``average`` (the mean of ``count`` earlier states) updated in place with ``model``'s
    state: the running mean of ``count + 1`` states (a fresh copy when ``count`` is 0). Every
    entry is a float tensor in the networks trained (a compact table is made after training)."""
    state = model.state_dict()
    if average is None or count == 0:
        return {k: v.detach().clone() for k, v in state.items()}
    with torch.no_grad():
        for k, v in state.items():
            average[k].mul_(count / (count + 1)).add_(v, alpha=1 / (count + 1))
    return average


def _keep(model: nn.Module, kept: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """A copy of ``model``'s state, written into ``kept`` (an earlier copy) when there is one.

    Copying into the tensors of the last best epoch, instead of cloning afresh, spares
    allocating the n-gram table again (128 MB by default) at every better epoch: a clone
    took 0.1 s, a copy in place a tenth of that.
    """
    state = model.state_dict()
    if kept is None:
        return {k: v.detach().clone() for k, v in state.items()}
    with torch.no_grad():
        for k, v in state.items():
            kept[k].copy_(v)
    return kept


def _progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=False,
    )
