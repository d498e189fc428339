"""A Markdown report with plots, written next to a version's artifacts.

``report.md`` is meant for a pull request, an issue or a model card: plain tables, the gate's
reasons verbatim, and two PNGs (the most confused intents, the reliability diagram).
``report.json`` holds the same results in machine-readable form.

Figures are plain :class:`matplotlib.figure.Figure` objects saved as PNG (rendered by Agg), so
writing a report never touches pyplot's global state or needs a display.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lifelong.core.atomic import atomic_write_bytes, atomic_write_text
from lifelong.evaluation import _format
from lifelong.evaluation.evaluate import EvalReport
from lifelong.evaluation.forgetting import ForgettingReport
from lifelong.evaluation.gate import Verdict
from lifelong.evaluation.metrics import Calibration, Confusion

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORT_FILE = "report.md"
JSON_FILE = "report.json"
CONFUSION_PNG = "confusion.png"
RELIABILITY_PNG = "reliability.png"


def write_report(
    report: EvalReport,
    directory: Path,
    *,
    title: str = "Evaluation report",
    verdict: Verdict | None = None,
    forgetting: ForgettingReport | None = None,
) -> Path:
    """Write ``report.md``, ``report.json`` and the plots into ``directory``; return the .md path.

    The confusion plot is skipped when the model made no mistakes and the reliability diagram
    when the report has no probabilities; the Markdown says so instead of linking a missing file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    sections = [f"# {title}", _section("Summary", _format.summary_rows(report))]
    if verdict is not None:
        reasons = "\n".join(f"- {reason}" for reason in verdict.reasons)
        sections += [
            _section(f"Gate verdict: {verdict.decision}", _format.verdict_rows(verdict)),
            f"### Reasons\n\n{reasons}",
        ]
        if verdict.intent_deltas:
            sections.append(_section("Per-intent guard", _format.delta_rows(verdict), level=3))
    if forgetting is not None:
        sections.append(_section("Forgetting", _format.forgetting_rows(forgetting)))
    sections.append(_section("Per intent (worst F1 first)", _format.intent_rows(report)))
    if report.confused_pairs:
        _save(_confusion_figure(report.confusion), directory / CONFUSION_PNG)
        plot = f"![confusion matrix of the most confused intents]({CONFUSION_PNG})"
        sections.append(
            f"{_section('Most confused intents', _format.confusion_rows(report))}\n\n{plot}"
        )
    else:
        sections.append("## Most confused intents\n\nNo mistakes on the test set.")
    if report.calibration is not None:
        _save(_reliability_figure(report.calibration), directory / RELIABILITY_PNG)
        sections.append(f"## Calibration\n\n![reliability diagram]({RELIABILITY_PNG})")
    else:
        sections.append("## Calibration\n\nNo probabilities were given; calibration not measured.")
    results = {
        "report": report.to_dict(),
        "verdict": None if verdict is None else verdict.to_dict(),
        "forgetting": None if forgetting is None else forgetting.to_dict(),
    }
    atomic_write_text(directory / JSON_FILE, json.dumps(results, indent=2) + "\n")
    path = directory / REPORT_FILE
    atomic_write_text(path, "\n\n".join(sections) + "\n")
    return path


def _section(heading: str, content: _format.Table, level: int = 2) -> str:
    header, rows = content
    lines = [_md_row(header), _md_row(tuple("---" for _ in header)), *map(_md_row, rows)]
    return f"{'#' * level} {heading}\n\n" + "\n".join(lines)


def _md_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _confusion_figure(confusion: Confusion) -> Figure:
    from matplotlib.figure import Figure  # slow to import; only report writing needs it

    counts = np.array(confusion.counts)
    size = 2.5 + 0.45 * len(confusion.labels)
    figure = Figure(figsize=(size + 1.5, size))
    axes = figure.add_subplot()
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes, label="test examples")
    ticks = range(len(confusion.labels))
    axes.set_xticks(ticks, confusion.labels, rotation=45, ha="right")
    axes.set_yticks(ticks, confusion.labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("Most confused intents")
    threshold = counts.max() / 2
    for (row, col), value in np.ndenumerate(counts):
        color = "white" if value > threshold else "black"
        axes.text(col, row, str(value), ha="center", va="center", color=color, fontsize=8)
    figure.tight_layout()
    return figure


def _reliability_figure(calibration: Calibration) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 5))
    axes = figure.add_subplot()
    width = 1.0 / calibration.n_bins
    lowers = [b.lower for b in calibration.bins]
    accuracy = np.array([b.accuracy for b in calibration.bins])
    confidence = np.array([b.confidence for b in calibration.bins])
    axes.bar(lowers, accuracy, width=width, align="edge", edgecolor="black", label="accuracy")
    axes.bar(
        lowers,
        np.abs(confidence - accuracy),
        width=width,
        bottom=np.minimum(confidence, accuracy),
        align="edge",
        fill=False,
        hatch="//",
        edgecolor="tab:red",
        label="gap to mean confidence",
    )
    axes.plot([0, 1], [0, 1], "k--", label="perfect calibration")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("confidence (top-class probability)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"Reliability diagram (ECE {calibration.ece:.3f})")
    axes.legend(loc="upper left")
    figure.tight_layout()
    return figure


def _save(figure: Figure, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic_write_bytes(path, buffer.getvalue())
