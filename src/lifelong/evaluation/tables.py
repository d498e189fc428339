"""rich tables of reports and verdicts, for the CLI (``lifelong evaluate``, ``lifelong show``)."""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lifelong.evaluation import _format
from lifelong.evaluation.evaluate import EvalReport
from lifelong.evaluation.forgetting import ForgettingReport
from lifelong.evaluation.gate import Verdict
from lifelong.evaluation.regression import RegressionReport
from lifelong.evaluation.verdicts import AnyVerdict


def summary_table(report: EvalReport) -> Table:
    """Headline metrics: accuracy, macro-F1, calibration, latency, out-of-scope."""
    return _rich("Summary", _format.summary_rows(report))


def intent_table(report: EvalReport, *, limit: int | None = None) -> Table:
    """Per-intent precision/recall/F1, worst F1 first; ``limit`` keeps the worst few."""
    return _rich("Per intent (worst first)", _format.intent_rows(report, limit))


def confusion_table(report: EvalReport) -> Table:
    """The most frequent mistakes."""
    return _rich("Most confused", _format.confusion_rows(report))


def regression_table(report: RegressionReport) -> Table:
    """A regression model's errors: MAE, RMSE, R2, bias, error quantiles, latency."""
    return _rich("Summary", _format.regression_rows(report))


def verdict_summary(verdict: AnyVerdict) -> Group:
    """The decision's statistics as a table, then its reasons as a list at full console width.

    Reasons are sentences; inside a table cell or caption they would wrap to a narrow column.
    """
    table = _rich(f"Verdict on {verdict.challenger_version}", _format.verdict_rows(verdict))
    reasons = Text("\n".join(f"- {reason}" for reason in verdict.reasons))
    return Group(table, reasons)


def intent_delta_table(verdict: Verdict) -> Table:
    """Per-intent recall under both models, largest loss first, violations flagged."""
    return _rich("Per-intent guard", _format.delta_rows(verdict))


def forgetting_table(forgetting: ForgettingReport) -> Table:
    """Accuracy on the parent's test examples and on the new ones."""
    return _rich("Forgetting", _format.forgetting_rows(forgetting))


def _rich(title: str, content: _format.Table) -> Table:
    header, rows = content
    table = Table(title=escape(title))
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table
