"""Evaluation and the champion/challenger gate, computed from predictions.

Nothing here loads or runs a model: callers pass true labels, predicted labels and (optionally)
probabilities, so the same code judges any classifier and is tested without one.
scikit-learn, SciPy and matplotlib are imported only by the functions that compute with them, so
reading a stored verdict stays quick.
"""

from lifelong.evaluation._format import report_headline
from lifelong.evaluation._records import EvaluationError
from lifelong.evaluation.backward import SliceCheck, SliceName
from lifelong.evaluation.evaluate import EvalReport, IntentMetrics, evaluate_predictions
from lifelong.evaluation.forgetting import ForgettingReport, measure_forgetting
from lifelong.evaluation.gate import (
    LatencyCheck,
    Verdict,
    decide,
    first_model_verdict,
    rank_challengers,
)
from lifelong.evaluation.intent_guard import IntentAbsorption, IntentDelta
from lifelong.evaluation.metrics import (
    Calibration,
    CalibrationBin,
    ConfusedPair,
    Confusion,
    calibration,
    correctness,
)
from lifelong.evaluation.oos import OosMetrics, ThresholdChoice, apply_threshold, choose_threshold
from lifelong.evaluation.regression import (
    RegressionReport,
    RegressionSlice,
    RegressionVerdict,
    WilcoxonResult,
    decide_regression,
    evaluate_regression,
    first_regression_verdict,
    wilcoxon_errors,
)
from lifelong.evaluation.report import write_report
from lifelong.evaluation.screen import ScreenedIntent, Screening, screen_batch
from lifelong.evaluation.stats import (
    BootstrapInterval,
    McNemarResult,
    mcnemar_exact,
    paired_bootstrap,
)
from lifelong.evaluation.tables import (
    confusion_table,
    forgetting_table,
    intent_delta_table,
    intent_table,
    regression_table,
    summary_table,
    verdict_summary,
)
from lifelong.evaluation.verdicts import AnyVerdict, verdict_from_dict

__all__ = [
    "AnyVerdict",
    "BootstrapInterval",
    "Calibration",
    "CalibrationBin",
    "ConfusedPair",
    "Confusion",
    "EvalReport",
    "EvaluationError",
    "ForgettingReport",
    "IntentAbsorption",
    "IntentDelta",
    "IntentMetrics",
    "LatencyCheck",
    "McNemarResult",
    "OosMetrics",
    "RegressionReport",
    "RegressionSlice",
    "RegressionVerdict",
    "ScreenedIntent",
    "Screening",
    "SliceCheck",
    "SliceName",
    "ThresholdChoice",
    "Verdict",
    "WilcoxonResult",
    "apply_threshold",
    "calibration",
    "choose_threshold",
    "confusion_table",
    "correctness",
    "decide",
    "decide_regression",
    "evaluate_predictions",
    "evaluate_regression",
    "first_model_verdict",
    "first_regression_verdict",
    "forgetting_table",
    "intent_delta_table",
    "intent_table",
    "mcnemar_exact",
    "measure_forgetting",
    "paired_bootstrap",
    "rank_challengers",
    "regression_table",
    "report_headline",
    "screen_batch",
    "summary_table",
    "verdict_from_dict",
    "verdict_summary",
    "wilcoxon_errors",
    "write_report",
]
