"""The monitoring page: traffic, confidences, drift against the thresholds, feedback accuracy
and shadow agreement over one window of the prediction log.

The window is the last ``days`` before the newest logged prediction, cut to the newest
``rows`` rows: every figure is then a ``GROUP BY`` over a bounded range of the log's time
index, so the page answers in the same time with a million rows logged as with a thousand.
Drift is computed as the loop's trigger computes it (:mod:`lifelong.monitoring`): the
champion's newest predictions in the window against the reference window its gate recorded,
under the thresholds of the champion's own ``policy.triggers.drift``. A regression champion's
predictions are numbers, not confidences and intents: its predicted values are tested against
its values on the test split, and its feedback is drawn as a rolling MAE beside its test MAE
(the performance trigger's yardstick), not as a right/wrong accuracy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lifelong.config import DriftTrigger
from lifelong.data.sources import FeedbackRecord
from lifelong.monitoring import DriftResult, chi_square_labels, ks_test, psi
from lifelong.monitoring.feature_drift import value_drift
from lifelong.registry import ModelVersion, Registry
from lifelong.ui import charts

BUCKETS = 60
HISTOGRAM_BINS = 20
DRIFT_WINDOW = 1000
FEEDBACK_WINDOW = 100
FEEDBACK_TAIL_BYTES = 1 << 20


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    total: int
    days: float
    rows: int


@dataclass(frozen=True)
class Monitoring:
    window: Window
    served: int
    figures: dict[str, charts.Figure]
    drift: list[DriftResult]
    drift_note: str
    drift_samples: int
    champion: str | None
    regression: bool
    """The champion predicts numbers: drift of its values, feedback as errors."""
    feedback_note: str
    shadow_pairs: int
    shadow_agreed: int


def window(registry: Registry, days: float, rows: int) -> Window | None:
    span = registry.store.prediction_span(newest=rows)
    if span is None:
        return None
    first, last, total = span
    since = max(first, last - timedelta(days=days))
    return Window(since, last, total, days, rows)


def _drift_policy(champion: ModelVersion) -> DriftTrigger:
    raw = champion.config.get("policy", {}).get("triggers", {}).get("drift")
    try:
        return DriftTrigger.model_validate(raw) if isinstance(raw, dict) else DriftTrigger()
    except ValidationError:
        return DriftTrigger()


def drift(
    registry: Registry, champion: ModelVersion, since: datetime
) -> tuple[list[DriftResult], str, int]:
    """The drift tests the loop's trigger runs, with a note when they cannot run."""
    policy = _drift_policy(champion)
    reference = champion.metrics.get("reference", {})
    ref_conf = reference.get("confidences", [])
    ref_counts = reference.get("label_counts", {})
    served = [
        p
        for p in registry.store.recent_predictions(
            limit=DRIFT_WINDOW, since=since, version=champion.label
        )
        if p.shadow_of is None
    ]
    ref_values = reference.get("values", [])
    if ref_values:  # a regression champion: its predicted values, as the trigger tests them
        served = [p for p in served if p.value is not None]
    elif not ref_conf or not ref_counts:
        return [], f"version {champion.label} has no reference window (judged before it)", 0
    if len(served) < policy.min_samples:
        return (
            [],
            f"{len(served)} predictions of {champion.label} in the window, fewer than "
            f"policy.triggers.drift.min_samples={policy.min_samples}: not tested",
            len(served),
        )
    if ref_values:
        values = value_drift(
            ref_values,
            [p.value for p in served if p.value is not None],
            psi_threshold=policy.psi,
            alpha=policy.ks_alpha,
            bins=policy.bins,
            min_samples=policy.min_samples,
        )
        return list(values.tests), "", len(served)
    confidences = [p.confidence for p in served]
    counts: dict[str, int] = {}
    for p in served:
        counts[p.intent] = counts.get(p.intent, 0) + 1
    results = []
    if policy.psi is not None:
        results.append(psi(ref_conf, confidences, bins=policy.bins, threshold=policy.psi))
    if policy.ks_alpha is not None:
        results.append(ks_test(ref_conf, confidences, alpha=policy.ks_alpha))
    if policy.chi2_alpha is not None:
        results.append(chi_square_labels(ref_counts, counts, alpha=policy.chi2_alpha))
    return results, "", len(served)


def feedback_outcomes(
    path: Path | None, since: datetime, *, regression: bool = False
) -> list[tuple[datetime, float]]:
    """(time, score) of the feedback records in the window that say what was predicted: 1.0
    for a right answer and 0.0 for a wrong one, or, with ``regression``, the absolute error
    (records whose numbers do not parse are skipped).

    Only the file's last ``FEEDBACK_TAIL_BYTES`` are read (the log is appended in time order,
    and a page must not parse years of corrections); lines that are not well-formed records
    are skipped, as the feedback source reports them when the loop ingests the file.
    """
    if path is None or not path.is_file():
        return []
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - FEEDBACK_TAIL_BYTES))
        tail = handle.read().decode("utf-8", errors="replace").splitlines()
    if size > FEEDBACK_TAIL_BYTES:
        tail = tail[1:]  # the first line was cut
    found = []
    for line in tail:
        try:
            raw = json.loads(line)
            predicted, intent = raw.get("predicted"), raw.get("intent")
            at = datetime.fromisoformat(raw.get("timestamp"))
        except (ValueError, TypeError, AttributeError):
            continue
        known = isinstance(predicted, str) and isinstance(intent, str)
        if not known or at.tzinfo is None or at < since:
            continue
        if not regression:
            found.append((at, float(predicted == intent)))
            continue
        error = FeedbackRecord(intent, intent, predicted=predicted).absolute_error
        if error is not None:
            found.append((at, error))
    return sorted(found)


def _rolling(outcomes: list[tuple[datetime, float]]) -> tuple[list[str], list[float]]:
    """The mean of the last ``FEEDBACK_WINDOW`` scores at (at most ~300 of) their times."""
    times, values, window_sum = [], [], 0.0
    step = max(1, len(outcomes) // 300)  # at most ~300 points drawn
    for i, (at, score) in enumerate(outcomes):
        window_sum += score
        if i >= FEEDBACK_WINDOW:
            window_sum -= outcomes[i - FEEDBACK_WINDOW][1]
        if i % step == 0 or i == len(outcomes) - 1:
            times.append(at.isoformat())
            values.append(window_sum / min(i + 1, FEEDBACK_WINDOW))
    return times, values


def monitoring(
    registry: Registry, span: Window, alias: str, feedback_log: Path | None
) -> Monitoring:
    width = max((span.until - span.since) / BUCKETS, timedelta(seconds=1))
    traffic = registry.store.prediction_traffic(since=span.since, width=width)
    starts = sorted({b.start for b in traffic})
    versions = sorted({b.version for b in traffic})
    counts = {(b.start, b.version): b.predictions for b in traffic}
    moves = [
        (m.at.isoformat(), f"{alias} {m.kind} {m.to_version or '-'}")
        for m in registry.store.alias_history(alias)
        if span.since <= m.at <= span.until + width
    ]
    seen: set[str] = set()
    for b in traffic:  # where each version starts answering, as the log saw it
        if b.version not in seen and seen:
            moves.append((b.start.isoformat(), f"→ {b.version}"))
        seen.add(b.version)
    shapes, notes = charts.time_marks(moves)
    figures: dict[str, Any] = {
        "traffic": charts.bars(
            f"Served predictions per {_duration(width)}, by version (dotted: version changes)",
            [s.isoformat() for s in starts],
            {v: [counts.get((s, v), 0) for s in starts] for v in versions},
            x_type="date",
            shapes=shapes,
            annotations=notes,
        )
    }
    histogram = registry.store.confidence_histogram(since=span.since, bins=HISTOGRAM_BINS)
    figures["confidence"] = charts.bars(
        "Confidence of served predictions",
        [f"{i / HISTOGRAM_BINS:.2f}-{(i + 1) / HISTOGRAM_BINS:.2f}" for i in range(HISTOGRAM_BINS)],
        {"predictions": histogram},
    )
    champion_label = registry.store.aliases().get(alias)
    results: list[DriftResult] = []
    note, samples = f"no {alias}: nothing to test", 0
    regression, test_mae = False, None  # a regression champion's feedback: scored by errors
    if champion_label is not None:
        champion = registry.store.get_version(champion_label)
        results, note, samples = drift(registry, champion, span.since)
        regression = bool(champion.metrics.get("reference", {}).get("values"))
        mae = champion.metrics.get("mae")
        test_mae = float(mae) if regression and isinstance(mae, int | float) else None
    outcomes = feedback_outcomes(feedback_log, span.since, regression=regression)
    feedback_note = "" if outcomes else "no feedback with a known prediction in the window"
    if outcomes:
        times, rolling = _rolling(outcomes)
        if regression:
            series: dict[str, Sequence[float | None]] = {"feedback MAE": rolling}
            if test_mae is not None:  # the performance trigger's yardstick
                series[f"test MAE of {champion_label}"] = [test_mae] * len(times)
            figures["feedback"] = charts.lines(
                f"Feedback MAE (rolling, last {FEEDBACK_WINDOW} corrections)",
                times,
                series,
                x_type="date",
                shapes=shapes,
            )
        else:
            figures["feedback"] = charts.lines(
                f"Feedback accuracy (rolling, last {FEEDBACK_WINDOW} corrections)",
                times,
                {"accuracy": rolling},
                x_type="date",
                y_range=(0, 1.02),
                shapes=shapes,
            )
    shadow = registry.store.shadow_agreement(since=span.since, width=width)
    if shadow:
        figures["shadow"] = charts.lines(
            "Shadow agreement with the served model",
            [b.start.isoformat() for b in shadow],
            {"agreement": [b.agreed / b.pairs for b in shadow]},
            x_type="date",
            y_range=(0, 1.02),
            shapes=shapes,
        )
    return Monitoring(
        window=span,
        served=sum(b.predictions for b in traffic),
        figures=figures,
        drift=results,
        drift_note=note,
        drift_samples=samples,
        champion=champion_label,
        regression=regression,
        feedback_note=feedback_note,
        shadow_pairs=sum(b.pairs for b in shadow),
        shadow_agreed=sum(b.agreed for b in shadow),
    )


def _duration(width: timedelta) -> str:
    seconds = width.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}s"
    return f"{seconds:.3g} s"
