"""Watching the served model: drift statistics, online detectors, and the triggers that decide
when the continual loop trains.

>>> from datetime import UTC, datetime, timedelta
>>> now = datetime(2024, 1, 2, tzinfo=UTC)
>>> trigger = any_of(TimeTrigger(timedelta(hours=24)), VolumeTrigger(min_count=100))
>>> result = trigger.evaluate(
...     TriggerContext(now=now, last_trained_at=now - timedelta(hours=3), n_new_examples=250)
... )
>>> result.fired, result.fired_names()
(True, ['volume'])
"""

from lifelong.monitoring.detectors import AdwinDetector, Detector, RollingAccuracy
from lifelong.monitoring.drift import DriftResult, chi_square_labels, ks_test, psi
from lifelong.monitoring.factory import build_trigger
from lifelong.monitoring.feature_drift import ColumnDrift, FeatureDriftReport, feature_drift
from lifelong.monitoring.triggers import (
    Combined,
    DriftTrigger,
    PerformanceTrigger,
    TimeTrigger,
    Trigger,
    TriggerContext,
    TriggerResult,
    VolumeTrigger,
    all_of,
    any_of,
)

__all__ = [
    "AdwinDetector",
    "ColumnDrift",
    "Combined",
    "Detector",
    "DriftResult",
    "DriftTrigger",
    "FeatureDriftReport",
    "PerformanceTrigger",
    "RollingAccuracy",
    "TimeTrigger",
    "Trigger",
    "TriggerContext",
    "TriggerResult",
    "VolumeTrigger",
    "all_of",
    "any_of",
    "build_trigger",
    "chi_square_labels",
    "feature_drift",
    "ks_test",
    "psi",
]
