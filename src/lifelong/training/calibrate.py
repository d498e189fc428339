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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from lifelong.config import Training
from lifelong.core.types import Example
from lifelong.evaluation.metrics import calibration
from lifelong.features import Features
from lifelong.models import ModelBundle
from lifelong.models.objective import TEMPERATURE, Classification, Objective, model_outputs
from lifelong.training.eager import LBFGS

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

    L-BFGS over ``log T`` (as in Guo et al.'s reference code): the NLL is convex in ``1 / T``,
    so the one minimum is found in a few steps. torch's optimizer rather than scipy's: importing
    ``scipy.optimize`` would cost every ``lifelong train`` about a second. Too few examples
    keep ``T = 1``.
    """
    known = targets >= 0
    logits, targets = logits[known].double(), targets[known]
    if len(targets) < MIN_EXAMPLES:
        return Temperature(1.0, None, None, len(targets))
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = LBFGS([log_t], max_iter=100, line_search_fn="strong_wolfe")

    def nll() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    with torch.enable_grad():
        optimizer.step(nll)  # type: ignore[no-untyped-call]
    found = float(log_t.detach().exp())
    value = min(max(found, BOUNDS[0]), BOUNDS[1]) if math.isfinite(found) else 1.0
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


def recalibrated(
    bundle: ModelBundle, valid: Sequence[Example]
) -> tuple[ModelBundle, Temperature | None]:
    """``bundle`` with its temperature fitted again on ``valid``, for a network whose logits
    changed after its training calibrated them (a compressed or pruned copy: a narrower head
    retrained for a few epochs is as over- or under-confident as any fresh one).

    Only a bundle that carries a temperature is refitted (its training had
    ``calibrate_confidence`` on, and it is a classifier); others come back as they are, with
    ``None``. Too few valid examples to fit keep the temperature it has (the record says how
    few). Accuracy cannot change: a temperature never moves the argmax.
    """
    if TEMPERATURE not in bundle.spec.meta or bundle.regression is not None:
        return bundle, None
    targets = Classification().targets([e.label for e in valid], bundle.labels)
    fitted = fit_temperature(bundle.logits_normalized([e.text for e in valid]), targets)
    if fitted.ece_before is None:
        return bundle, fitted
    spec = replace(bundle.spec, meta={**bundle.spec.meta, TEMPERATURE: fitted.value})
    return ModelBundle(spec, bundle.module, bundle.featurizer, bundle.replay), fitted
