"""Temperature scaling (Guo et al. 2017): confidences that mean what they say.

A classifier trained with label smoothing is under-confident by design (150 intents at
smoothing 0.1 cap a confident answer near 0.9), and early stopping leaves it wherever the valid
accuracy peaked. One scalar ``T`` fitted on the validation split, dividing the logits, fixes
most of that: the predicted class never changes (argmax is scale-free), so accuracy and the
gate's paired tests are untouched, while the confidences the server returns, the OOS threshold
and the confidence drift statistics become calibrated. The temperature is stored in the bundle
(``meta["temperature"]``: :data:`~lifelong.models.objective.TEMPERATURE`) and applied by
:meth:`~lifelong.models.ModelBundle.proba_normalized`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from scipy.optimize import minimize_scalar
from torch import nn
from torch.nn import functional as F

from lifelong.config import Training
from lifelong.evaluation.metrics import calibration
from lifelong.features import Features
from lifelong.models.objective import Classification, Objective, model_outputs

MIN_EXAMPLES = 30
"""Fewer valid examples than this (with a known label) fit nothing: ``T`` stays 1."""
BOUNDS = (0.05, 20.0)


@dataclass(frozen=True)
class Temperature:
    """A fitted temperature and the valid split's ECE before and after it."""

    value: float
    ece_before: float | None
    ece_after: float | None
    n_valid: int

    def to_dict(self) -> dict[str, Any]:
        def rounded(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "temperature": round(self.value, 4),
            "valid_ece_before": rounded(self.ece_before),
            "valid_ece_after": rounded(self.ece_after),
            "n_valid": self.n_valid,
        }


def _ece(logits: torch.Tensor, targets: torch.Tensor, temperature: float) -> float:
    proba = torch.softmax(logits / temperature, dim=1)
    confidence, predicted = proba.max(dim=1)
    return calibration(confidence.numpy(), (predicted == targets).numpy()).ece


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor) -> Temperature:
    """The temperature minimizing the negative log-likelihood of ``targets`` (class indices;
    ``-1``, an intent the model lacks, is left out) under ``softmax(logits / T)``.

    A bounded 1-D search over ``log T`` (scipy's Brent): the NLL is smooth and unimodal in it,
    and a search needs no learning rate. Too few examples keep ``T = 1``.
    """
    known = targets >= 0
    logits, targets = logits[known].double(), targets[known]
    if len(targets) < MIN_EXAMPLES:
        return Temperature(1.0, None, None, len(targets))

    def nll(log_t: float) -> float:
        return float(F.cross_entropy(logits / math.exp(log_t), targets))

    found = minimize_scalar(nll, bounds=tuple(map(math.log, BOUNDS)), method="bounded")
    value = float(math.exp(found.x)) if found.success else 1.0
    return Temperature(
        value, _ece(logits, targets, 1.0), _ece(logits, targets, value), len(targets)
    )


def calibrated(
    model: nn.Module,
    objective: Objective,
    training: Training,
    features: Features,
    targets: torch.Tensor,
) -> Temperature | None:
    """The temperature of a freshly trained classifier on its valid split (features and class
    indices); ``None`` for a regression model or with ``training.calibrate_confidence`` off."""
    if not isinstance(objective, Classification) or not training.calibrate_confidence:
        return None
    return fit_temperature(model_outputs(model, features), targets)
