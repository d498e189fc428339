"""What a network is trained to output: classes or a number.

The trainer, ``train()`` and the bundle's predictions differ between classification and
regression only through an :class:`Objective`: how labels become targets, the loss, the
validation score early stopping selects on, and how outputs decode. Everything else (the
network body, init strategies, replay, snapshots) is shared.

A regression network outputs one value: the target standardized with the training targets'
mean and standard deviation (stored in the bundle), so learning rates and the warm start
behave as they do on a classification head whatever the target's units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.nn import functional as F

from lifelong.config import Pipeline
from lifelong.features import Features

REGRESSION_OUTPUT = "value"
"""The one label of a regression model: its output's name."""

TARGET_STATS = "target_stats"
"""Key of ``BundleSpec.meta`` holding a regression target's ``mean`` and ``std``."""
TEMPERATURE = "temperature"
"""Key of ``BundleSpec.meta`` holding a classifier's fitted temperature (absent: 1): the
bundle's probabilities are ``softmax(logits / T)`` (see :mod:`lifelong.training.calibrate`)."""


class Objective(Protocol):
    """The task-specific part of training (see the module docstring)."""

    @property
    def name(self) -> str: ...

    @property
    def metric(self) -> str:
        """Name of the validation score (``accuracy``, ``rmse``), recorded as
        ``valid_<metric>``."""
        ...

    def targets(self, labels: Sequence[str], classes: Sequence[str]) -> torch.Tensor:
        """Training targets of examples with ``labels``; ``classes`` name the outputs."""
        ...

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor: ...

    def score(self, model: nn.Module, features: Features, targets: torch.Tensor) -> float:
        """The validation score of ``model``."""
        ...

    def better(self, score: float, best: float | None) -> bool:
        """Whether ``score`` improves on ``best`` (``None``: nothing yet)."""
        ...


def model_outputs(model: nn.Module, features: Features, batch: int = 1024) -> torch.Tensor:
    """``model``'s outputs on ``features`` in eval mode, a batch at a time."""
    model.eval()
    with torch.inference_mode():
        parts = [
            model(features.rows(np.arange(start, min(start + batch, len(features)))))
            for start in range(0, len(features), batch)
        ]
    return torch.cat(parts) if parts else torch.zeros((0, 1))


@dataclass(frozen=True)
class Classification:
    """Cross-entropy over classes, scored by accuracy; labels outside ``classes`` count as
    wrong (a validation example of an intent the model does not have)."""

    label_smoothing: float = 0.0
    name: str = "classification"
    metric: str = "accuracy"

    def targets(self, labels: Sequence[str], classes: Sequence[str]) -> torch.Tensor:
        index = {label: i for i, label in enumerate(classes)}
        return torch.tensor([index.get(label, -1) for label in labels], dtype=torch.int64)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets, label_smoothing=self.label_smoothing)

    def score(self, model: nn.Module, features: Features, targets: torch.Tensor) -> float:
        predicted = model_outputs(model, features).argmax(dim=1)
        return float((predicted == targets).float().mean()) if len(targets) else 0.0

    def better(self, score: float, best: float | None) -> bool:
        return best is None or score > best


@dataclass(frozen=True)
class Regression:
    """Mean squared error on the standardized target, scored by RMSE in the target's units."""

    mean: float = 0.0
    std: float = 1.0
    name: str = "regression"
    metric: str = "rmse"

    @classmethod
    def fitted(cls, labels: Sequence[str]) -> Regression:
        """Standardized by the mean and standard deviation of ``labels`` (numbers)."""
        values = np.array([float(label) for label in labels], dtype=np.float64)
        std = float(values.std()) if len(values) else 1.0
        return cls(float(values.mean()) if len(values) else 0.0, std if std > 1e-12 else 1.0)

    def targets(self, labels: Sequence[str], classes: Sequence[str]) -> torch.Tensor:
        values = np.array([float(label) for label in labels], dtype=np.float64)
        return torch.from_numpy(((values - self.mean) / self.std).astype(np.float32))

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(outputs[:, 0], targets)

    def score(self, model: nn.Module, features: Features, targets: torch.Tensor) -> float:
        errors = (model_outputs(model, features)[:, 0] - targets) * self.std
        return float(errors.pow(2).mean().sqrt()) if len(targets) else 0.0

    def better(self, score: float, best: float | None) -> bool:
        return best is None or score < best

    def decode(self, outputs: NDArray[np.float32]) -> NDArray[np.float64]:
        """Network outputs ``(n, 1)`` as predictions in the target's units."""
        return outputs[:, 0].astype(np.float64) * self.std + self.mean

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std}


def is_regression(pipeline: Pipeline) -> bool:
    """Whether ``pipeline`` predicts a number (a tabular pipeline of kind ``regression``)."""
    return pipeline.name == "tabular" and pipeline.tabular.kind == "regression"
