"""Evaluation and the champion/challenger gate, computed from predictions.

Nothing here loads or runs a model: callers pass true labels, predicted labels and (optionally)
probabilities, so the same code judges any classifier and is tested without one.
"""

from lifelong.evaluation._records import EvaluationError
from lifelong.evaluation.evaluate import EvalReport, IntentMetrics, evaluate_predictions
from lifelong.evaluation.forgetting import ForgettingReport, measure_forgetting
from lifelong.evaluation.gate import (
    IntentDelta,
    LatencyCheck,
    Verdict,
    decide,
    first_model_verdict,
    rank_challengers,
)
from lifelong.evaluation.metrics import (
    Calibration,
    CalibrationBin,
    ConfusedPair,
    Confusion,
    calibration,
    correctness,
)
from lifelong.evaluation.oos import OosMetrics, ThresholdChoice, apply_threshold, choose_threshold
from lifelong.evaluation.stats import (
    BootstrapInterval,
    McNemarResult,
    mcnemar_exact,
    paired_bootstrap,
)

__all__ = [
    "BootstrapInterval",
    "Calibration",
    "CalibrationBin",
    "ConfusedPair",
    "Confusion",
    "EvalReport",
    "EvaluationError",
    "ForgettingReport",
    "IntentDelta",
    "IntentMetrics",
    "LatencyCheck",
    "McNemarResult",
    "OosMetrics",
    "ThresholdChoice",
    "Verdict",
    "apply_threshold",
    "calibration",
    "choose_threshold",
    "correctness",
    "decide",
    "evaluate_predictions",
    "first_model_verdict",
    "mcnemar_exact",
    "measure_forgetting",
    "paired_bootstrap",
    "rank_challengers",
]
