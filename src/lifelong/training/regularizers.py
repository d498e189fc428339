"""Anti-forgetting regularizers: extra loss terms that hold an update close to its parent.

An update that trains on new examples plus a small replay sample sees most old examples not at
all, so its weights drift away from what the parent knew. Two classic remedies, both added to
the cross-entropy of every batch:

- :class:`Distillation` (LwF, Li & Hoiem 2016): the parent's softened predictions (a
  regression: its predicted values) on the update's own training texts are a second target.
  It constrains *what the network outputs*, so it is indifferent to how the weights move, and
  it costs one inference pass of the parent over the training rows (done once, before the
  first epoch).
- :class:`ElasticWeights` (EWC, Kirkpatrick et al. 2017): a quadratic pull of every weight
  toward the parent's value, weighted by its diagonal empirical Fisher information on the
  parent's training data (the replay sample). It constrains *the weights*; a sparse embedding
  table is pulled only on the rows each batch touches, so its gradient stays sparse.

Each regularizer's :meth:`prepare` runs before training and returns a :data:`Penalty`: a
function of the network, the batch's row indices, features and logits, giving a scalar tensor
to add to the loss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from lifelong.config import Finetune
from lifelong.features import Features
from lifelong.training.trainer import Penalty, sparse_parameters


class Regularizer(Protocol):
    """Builds a :data:`Penalty` from the parent network before an update trains."""

    name: ClassVar[str]

    def params(self) -> dict[str, Any]:
        """JSON-safe hyperparameters, recorded in the training report."""
        ...

    def prepare(
        self,
        parent: nn.Module,
        features: Features,
        old_rows: Sequence[int],
        labels: NDArray[Any],
    ) -> Penalty:
        """The penalty of this update.

        Parameters
        ----------
        parent
            The parent after head surgery (its output rows are the update's labels; the rows of
            labels the parent knew give the parent's own logits). Not trained, not modified.
        features, labels
            The update's training rows and their label ids (``-1`` for none), or, for a
            regression, their standardized targets (floats).
        old_rows
            Output rows (label ids) of the labels the parent was trained on.
        """
        ...


def _logits(model: nn.Module, features: Features, batch: int = 1024) -> torch.Tensor:
    """``model``'s logits on every row of ``features``, in eval mode, without gradients."""
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        parts = [
            model(features.rows(np.arange(start, min(start + batch, len(features)))))
            for start in range(0, len(features), batch)
        ]
    model.train(was_training)
    return torch.cat(parts) if parts else torch.empty(0)


@dataclass(frozen=True)
class Distillation:
    """Learning without Forgetting: match the parent's softened predictions on old labels.

    ``weight * T^2 * KL(softmax(parent / T) || softmax(model / T))`` over the labels the parent
    knew, averaged over the batch; ``T^2`` keeps the gradient's scale independent of ``T``
    (Hinton et al. 2015). New labels are left to the cross-entropy.

    For a regression (float ``labels``: the standardized targets) the parent's prediction is
    the second target: ``weight * mean((model - parent)^2)`` on the standardized output, the
    same squared error the labels are learned with, so ``weight`` weighs the parent against
    the labels as it does for classes (1: equally). An update keeps its parent's target
    scaling, so both outputs are in the same units; there is no distribution to soften, and
    ``temperature`` is not used.

    Parameters
    ----------
    weight
        Importance of the parent's predictions relative to the labels (0 turns it off).
    temperature
        Softening of both distributions; above 1 it passes on the parent's ranking of the
        wrong labels too ("dark knowledge").
    """

    name: ClassVar[str] = "distill"
    weight: float = 1.0
    temperature: float = 2.0

    def params(self) -> dict[str, Any]:
        return asdict(self)

    def prepare(
        self,
        parent: nn.Module,
        features: Features,
        old_rows: Sequence[int],
        labels: NDArray[np.int64],
    ) -> Penalty:
        columns = torch.as_tensor(list(old_rows), dtype=torch.long)
        if labels.dtype.kind == "f":  # the one output
            return self._toward(_precomputed(_logits(parent, features)), columns, regression=True)
        return self.matching(_logits(parent, features)[:, columns], columns)

    def matching(self, teacher: torch.Tensor, columns: torch.Tensor) -> Penalty:
        """The penalty toward a teacher's logits ``teacher`` (a row per training row, a column
        per entry of ``columns``: the model's output rows they stand for).

        The parent of an update is one teacher; a model of another pipeline whose logits were
        computed on the same training texts (``lifelong compress --method distill``) is
        another: only its outputs are needed, never its features.
        """
        return self._toward(_precomputed(teacher), columns, regression=False)

    def per_batch(
        self, parent: nn.Module, theirs: Sequence[int], mine: Sequence[int], *, regression: bool
    ) -> Penalty:
        """The penalty of a streamed update, whose training rows are never all at hand: the
        parent's outputs ``theirs`` (its output rows of the labels it knew) on each batch,
        matched to the model's rows ``mine`` of the same labels. One more forward pass of the
        parent per batch and epoch, instead of one pass over all the rows before training;
        the same term otherwise. ``parent`` is read, never trained (its eval mode is set)."""
        parent.eval()
        their_columns = torch.as_tensor(list(theirs), dtype=torch.long)

        def outputs(rows: NDArray[np.int64] | None, batch: Features) -> torch.Tensor:
            with torch.no_grad():
                logits: torch.Tensor = parent(batch)
            return logits if regression else logits[:, their_columns]

        return self._toward(outputs, torch.as_tensor(list(mine), dtype=torch.long), regression)

    def _toward(
        self,
        teacher_of: Callable[[NDArray[np.int64] | None, Features], torch.Tensor],
        columns: torch.Tensor,
        regression: bool,
    ) -> Penalty:
        """The term toward the teacher's outputs on a batch, ``teacher_of(rows, batch)``: the
        softened KL over ``columns`` for classes, the squared distance of the standardized
        output for a regression."""
        t = self.temperature
        scale = self.weight * t * t

        def penalty(
            model: nn.Module, rows: NDArray[np.int64] | None, batch: Features, logits: torch.Tensor
        ) -> torch.Tensor:
            teacher = teacher_of(rows, batch)
            if regression:
                return self.weight * F.mse_loss(logits[:, 0], teacher[:, 0])
            student = F.log_softmax(logits[:, columns] / t, dim=1)
            targets = F.softmax(teacher / t, dim=1)
            return scale * F.kl_div(student, targets, reduction="batchmean")

        return penalty


def _precomputed(
    outputs: torch.Tensor,
) -> Callable[[NDArray[np.int64] | None, Features], torch.Tensor]:
    """A teacher's outputs computed before training, looked up by the batch's training rows."""

    def of(rows: NDArray[np.int64] | None, batch: Features) -> torch.Tensor:
        if rows is None:
            raise ValueError("outputs computed before training need the batches' training rows")
        return outputs[torch.from_numpy(rows)]

    return of


@dataclass(frozen=True)
class Teacher:
    """Another model's logits on every training example, for a student trained cold to match
    them (knowledge distillation, Hinton et al. 2015) as well as the labels.

    The teacher may use another pipeline (MiniLM vectors, a transformer): its logits were
    computed from its own features of the same texts, so the student only needs these numbers.
    Labels the student does not have (none, when the examples' labels are the teacher's) are
    left out of both softened distributions.
    """

    labels: tuple[str, ...]
    logits: torch.Tensor
    distillation: Distillation

    def penalty(self, labels: Sequence[str]) -> Penalty:
        """The distillation term of a student whose output rows are ``labels``."""
        index = {label: i for i, label in enumerate(labels)}
        shared = [(i, index[label]) for i, label in enumerate(self.labels) if label in index]
        mine = torch.as_tensor([i for i, _ in shared], dtype=torch.long)
        theirs = torch.as_tensor([j for _, j in shared], dtype=torch.long)
        return self.distillation.matching(self.logits[:, mine], theirs)


@dataclass(frozen=True)
class ElasticWeights:
    """Elastic weight consolidation: ``weight / 2 * sum_i F_i (theta_i - theta_parent_i)^2``.

    ``F`` is the diagonal empirical Fisher information of the parent's parameters: the mean
    squared gradient of the log-likelihood of the true label, one example at a time, over up to
    ``samples`` training rows of labels the parent knew (the replay sample, in a ``new+replay``
    update). For a regression head (float ``labels``: standardized targets) the likelihood is a
    unit-variance Gaussian around the output, whose log-likelihood gradient is that of
    ``(output - target)^2 / 2``, over up to ``samples`` training rows (every row is of the one
    output the parent knew). It is scaled to mean 1 over the entries those examples reach, so
    ``weight`` means the same for networks of any size.

    A sparse embedding table keeps only the rows the Fisher examples touched, and each batch
    pulls only the rows it touches itself (looked up with a sparse gradient): a penalty over
    the whole 2^18-row table would give it a dense gradient, and a row no batch touches does
    not move anyway.

    Parameters
    ----------
    weight
        Strength of the pull toward the parent (0 turns it off).
    samples
        Rows used to estimate the Fisher information (more: a better estimate, slower).
    """

    name: ClassVar[str] = "ewc"
    weight: float = 1.0
    samples: int = 512

    def params(self) -> dict[str, Any]:
        return asdict(self)

    def prepare(
        self,
        parent: nn.Module,
        features: Features,
        old_rows: Sequence[int],
        labels: NDArray[Any],
    ) -> Penalty:
        params = {n: p for n, p in parent.named_parameters() if p.requires_grad}
        tables = {id(p) for p in sparse_parameters(parent)}
        fisher = self._fisher(parent, features, labels, set(old_rows), params)
        dense = {
            n: (fisher[n], p.detach().clone()) for n, p in params.items() if id(p) not in tables
        }
        sparse: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        for n, p in params.items():
            if id(p) in tables:
                seen = fisher[n].abs().sum(dim=1).nonzero().flatten()
                position = torch.full((p.shape[0],), -1, dtype=torch.long)
                position[seen] = torch.arange(len(seen))
                sparse[n] = (position, fisher[n][seen], p.detach()[seen].clone())
        del fisher
        scale = 0.5 * self.weight

        def penalty(
            model: nn.Module, rows: NDArray[np.int64] | None, batch: Features, logits: torch.Tensor
        ) -> torch.Tensor:
            current = dict(model.named_parameters())
            total = logits.new_zeros(())
            for n, (f, anchor) in dense.items():
                total = total + (f * (current[n] - anchor).pow(2)).sum()
            if sparse:
                assert batch.sparse is not None, "a sparse table needs hashed n-gram features"
                buckets = torch.from_numpy(np.unique(batch.sparse.indices).astype(np.int64))
                for n, (position, f, anchor) in sparse.items():
                    at = position[buckets]
                    kept = at >= 0
                    weights = F.embedding(buckets[kept], current[n], sparse=True)
                    total = total + (f[at[kept]] * (weights - anchor[at[kept]]).pow(2)).sum()
            return scale * total

        return penalty

    def _fisher(
        self,
        parent: nn.Module,
        features: Features,
        labels: NDArray[Any],
        old: set[int],
        params: dict[str, nn.Parameter],
    ) -> dict[str, torch.Tensor]:
        """Diagonal empirical Fisher of ``params`` (tensors of their shapes), scaled to mean 1
        over its non-zero entries."""
        fisher = {n: torch.zeros_like(p) for n, p in params.items()}
        regression = labels.dtype.kind == "f"
        if regression:
            rows = list(range(min(len(labels), self.samples)))
        else:
            rows = [i for i, y in enumerate(labels.tolist()) if y in old][: self.samples]
        was_training = parent.training
        parent.eval()
        for i in rows:
            parent.zero_grad()
            logits = parent(features.rows(np.array([i])))
            loss: torch.Tensor
            if regression:
                loss = 0.5 * (logits[0, 0] - float(labels[i])) ** 2
            else:
                loss = F.cross_entropy(logits, torch.tensor([int(labels[i])]))
            loss.backward()  # type: ignore[no-untyped-call]
            for n, p in params.items():
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    grad = p.grad.coalesce()
                    fisher[n].index_add_(0, grad.indices()[0], grad.values().pow(2))
                else:
                    fisher[n] += p.grad.pow(2)
        parent.zero_grad()
        parent.train(was_training)
        entries = sum(int((f != 0).sum()) for f in fisher.values())
        total = sum(float(f.sum()) for f in fisher.values())
        if entries == 0 or total == 0.0:
            return fisher
        return {n: f * (entries / total) for n, f in fisher.items()}


def make_regularizers(finetune: Finetune) -> list[Regularizer]:
    """The regularizers ``finetune`` turns on (a weight above 0), distillation first."""
    chosen: list[Regularizer] = []
    if finetune.distill.weight > 0:
        chosen.append(Distillation(finetune.distill.weight, finetune.distill.temperature))
    if finetune.ewc.weight > 0:
        chosen.append(ElasticWeights(finetune.ewc.weight, finetune.ewc.samples))
    return chosen
