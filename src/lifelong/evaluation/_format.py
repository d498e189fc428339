"""Rows of text shared by the Markdown report and the CLI's rich tables.

Each function returns ``(header, rows)`` of strings, so both renderers show the same numbers
formatted the same way and neither can drift from the other.
"""

from __future__ import annotations

from collections.abc import Sequence

from lifelong.evaluation.evaluate import EvalReport
from lifelong.evaluation.forgetting import ForgettingReport
from lifelong.evaluation.gate import Verdict
from lifelong.evaluation.regression import RegressionReport, RegressionVerdict

Table = tuple[tuple[str, ...], Sequence[tuple[str, ...]]]


def rate(value: float | None) -> str:
    """A rate as a percentage with one decimal, or ``-`` when unknown."""
    return "-" if value is None else f"{100 * value:.1f}%"


def pts(value: float | None) -> str:
    """A difference of rates in signed percentage points, or ``-``."""
    return "-" if value is None else f"{100 * value:+.1f} pts"


def report_headline(report: EvalReport | RegressionReport) -> str:
    """A report's headline figures in a few words, for a console line."""
    if isinstance(report, RegressionReport):
        return f"test MAE {report.mae:.4g}, RMSE {report.rmse:.4g}, R2 {report.r2:.3f}"
    return f"test accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}"


def regression_rows(report: RegressionReport) -> Table:
    rows = [
        ("test examples", str(report.n_examples)),
        ("MAE", f"{report.mae:.4g}"),
        ("RMSE", f"{report.rmse:.4g}"),
        ("R2", f"{report.r2:.3f}"),
        ("bias (mean error)", f"{report.bias:+.4g}"),
        ("absolute error median / p90 / max", _errors(report)),
    ]
    if report.latency_ms_per_example is not None:
        rows.append(("latency", f"{report.latency_ms_per_example:.2f} ms/example"))
    return ("metric", "value"), rows


def _errors(report: RegressionReport) -> str:
    quantiles = (report.median_absolute_error, report.p90_absolute_error)
    return " / ".join(f"{q:.4g}" for q in (*quantiles, report.max_absolute_error))


def summary_rows(report: EvalReport) -> Table:
    rows = [
        ("test examples", str(report.n_examples)),
        ("accuracy", rate(report.accuracy)),
        ("macro-F1", rate(report.macro_f1)),
        ("intents", str(len(report.labels))),
    ]
    if report.calibration is not None:
        rows.append((f"ECE ({report.calibration.n_bins} bins)", f"{report.calibration.ece:.3f}"))
    if report.latency_ms_per_example is not None:
        rows.append(("latency", f"{report.latency_ms_per_example:.2f} ms/example"))
    if report.oos is not None:
        oos = report.oos
        threshold = "model's own class" if oos.threshold is None else f"{oos.threshold:.3f}"
        rows += [
            (f"{oos.label!r} threshold", threshold),
            (f"{oos.label!r} recall", rate(oos.recall)),
            (f"{oos.label!r} precision", rate(oos.precision)),
            ("in-scope accuracy", rate(oos.in_scope_accuracy)),
        ]
    return ("metric", "value"), rows


def intent_rows(report: EvalReport, limit: int | None = None) -> Table:
    """Per-intent scores, worst F1 first (ties: most support first), where attention is due."""
    ranked = sorted(report.per_intent, key=lambda m: (m.f1, -m.support, m.label))[:limit]
    rows = [
        (m.label, rate(m.precision), rate(m.recall), rate(m.f1), str(m.support)) for m in ranked
    ]
    return ("intent", "precision", "recall", "F1", "support"), rows


def confusion_rows(report: EvalReport) -> Table:
    rows = [(p.true_label, p.predicted_label, str(p.count)) for p in report.confused_pairs]
    return ("true intent", "predicted as", "count"), rows


def verdict_rows(verdict: Verdict | RegressionVerdict) -> Table:
    if isinstance(verdict, RegressionVerdict):
        return _regression_verdict_rows(verdict)
    rows = [
        ("decision", verdict.decision),
        ("challenger", f"{verdict.challenger_version}: {rate(verdict.challenger_accuracy)}"),
    ]
    if verdict.champion_version is not None:
        rows += [
            ("champion", f"{verdict.champion_version}: {rate(verdict.champion_accuracy)}"),
            ("difference", pts(verdict.difference)),
        ]
    if verdict.mcnemar is not None:
        rows.append(("McNemar p", f"{verdict.mcnemar.p_value:.3g}"))
    if verdict.bootstrap is not None:
        ci = verdict.bootstrap
        rows.append(
            (f"{100 * ci.confidence:.0f}% bootstrap interval", f"[{pts(ci.low)}, {pts(ci.high)}]")
        )
    rows.append(("test examples", str(verdict.n_examples)))
    for check in verdict.slices:
        state = "VIOLATED" if check.violated else "ok" if check.checked else "not a veto"
        rows.append(
            (
                f"{check.name} examples",
                f"{check.n_examples}: {rate(check.champion_accuracy)} -> "
                f"{rate(check.challenger_accuracy)}, {check.negative_flips} broken, "
                f"{check.positive_flips} fixed ({state})",
            )
        )
    return ("statistic", "value"), rows


def _regression_verdict_rows(verdict: RegressionVerdict) -> Table:
    def figures(report: RegressionReport) -> str:
        return f"MAE {report.mae:.4g}, RMSE {report.rmse:.4g}, R2 {report.r2:.3f}"

    rows = [
        ("decision", verdict.decision),
        ("challenger", f"{verdict.challenger_version}: {figures(verdict.challenger)}"),
    ]
    if verdict.champion is not None:
        rows.append(("champion", f"{verdict.champion_version}: {figures(verdict.champion)}"))
    if verdict.wilcoxon is not None:
        test = verdict.wilcoxon
        rows += [
            ("Wilcoxon p (worse / better)", f"{test.p_worse:.3g} / {test.p_better:.3g}"),
            ("closer: challenger / champion", f"{test.challenger_closer} / {test.champion_closer}"),
        ]
    rows.append(("test examples", str(verdict.n_examples)))
    for check in verdict.slices:
        state = "VIOLATED" if check.violated else "ok" if check.checked else "not a veto"
        rows.append(
            (
                f"{check.name} examples",
                f"{check.n_examples}: MAE {check.champion_mae:.4g} -> {check.challenger_mae:.4g}, "
                f"p = {check.p_worse:.3g} ({state})",
            )
        )
    return ("statistic", "value"), rows


def delta_rows(verdict: Verdict) -> Table:
    """Per-intent recall changes, largest loss first."""
    ranked = sorted(verdict.intent_deltas, key=lambda d: (d.change, d.label))
    rows = [
        (
            d.label,
            rate(d.champion_recall),
            rate(d.challenger_recall),
            pts(d.change),
            "VIOLATED" if d.violated else "ok",
            str(d.support),
        )
        for d in ranked
    ]
    return ("intent", "champion recall", "challenger recall", "change", "guard", "support"), rows


def forgetting_rows(forgetting: ForgettingReport) -> Table:
    rows = [
        ("old test examples", str(forgetting.n_old)),
        ("parent accuracy on old", rate(forgetting.parent_accuracy_old)),
        ("child accuracy on old", rate(forgetting.child_accuracy_old)),
        ("backward transfer", pts(forgetting.backward_transfer)),
        ("new test examples", str(forgetting.n_new)),
        ("parent accuracy on new", rate(forgetting.parent_accuracy_new)),
        ("child accuracy on new", rate(forgetting.child_accuracy_new)),
    ]
    if forgetting.n_old_missing:
        rows.append(("old examples no longer in the test set", str(forgetting.n_old_missing)))
    return ("measure", "value"), rows
