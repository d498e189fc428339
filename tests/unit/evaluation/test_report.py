"""The Markdown report, its plots and the CLI's rich tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from lifelong.config import Gate
from lifelong.evaluation import (
    EvalReport,
    Verdict,
    confusion_table,
    decide,
    evaluate_predictions,
    forgetting_table,
    intent_delta_table,
    intent_table,
    measure_forgetting,
    summary_table,
    verdict_summary,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def results() -> tuple[EvalReport, Verdict]:
    rng = np.random.default_rng(0)
    labels = ["book|flight", "cancel", "greet", "oos"]
    truth = [labels[i] for i in rng.integers(0, 4, 400)]
    champion = [t if rng.uniform() < 0.8 else labels[rng.integers(0, 4)] for t in truth]
    challenger = [t if rng.uniform() < 0.9 else "cancel" for t in truth]
    probs = rng.dirichlet(np.ones(3), 400)
    report = evaluate_predictions(
        truth, challenger, probs, labels[:3], oos_label="oos", latency_ms_per_example=1.5
    )
    verdict = decide(
        champion, challenger, truth, Gate(), champion_version="1.0", challenger_version="1.1"
    )
    return report, verdict


def test_report_writes_markdown_json_and_plots(
    tmp_path: Path, results: tuple[EvalReport, Verdict]
) -> None:
    report, verdict = results
    forgetting = measure_forgetting({"h0"}, ["h0", "h1"], ["a", "b"], ["a", "b"], ["a", "a"])
    path = write_report(report, tmp_path / "out", verdict=verdict, forgetting=forgetting)
    assert path == tmp_path / "out" / "report.md"
    text = path.read_text()
    assert text.startswith("# Evaluation report\n")
    assert f"## Gate verdict: {verdict.decision}" in text
    assert f"- {verdict.reasons[0]}" in text
    assert "| book\\|flight |" in text  # pipes in intent names do not break the table
    assert "## Forgetting" in text
    assert "![reliability diagram](reliability.png)" in text
    for png in ("confusion.png", "reliability.png"):
        assert (tmp_path / "out" / png).read_bytes().startswith(PNG_MAGIC)
    stored = json.loads((tmp_path / "out" / "report.json").read_text())
    assert EvalReport.from_dict(stored["report"]) == report
    assert Verdict.from_dict(stored["verdict"]) == verdict


def test_report_without_probabilities_or_mistakes_says_so(tmp_path: Path) -> None:
    report = evaluate_predictions(["a", "b"], ["a", "b"], None, ["a", "b"])
    text = write_report(report, tmp_path, title="1.0").read_text()
    assert "No mistakes on the test set." in text
    assert "calibration not measured" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]


def test_rich_tables_render_the_numbers(results: tuple[EvalReport, Verdict]) -> None:
    report, verdict = results
    console = Console(width=200, record=True)
    for table in (
        summary_table(report),
        intent_table(report, limit=2),
        confusion_table(report),
        verdict_summary(verdict),
        intent_delta_table(verdict),
        forgetting_table(measure_forgetting(set(), ["h"], ["a"], ["a"], ["a"])),
    ):
        console.print(table)
    out = console.export_text()
    assert f"{100 * report.accuracy:.1f}%" in out
    assert "'oos' recall" in out
    flat = " ".join(out.split())  # long reasons wrap at the console's width
    assert all(" ".join(f"- {reason}".split()) in flat for reason in verdict.reasons)
    worst = min(report.per_intent, key=lambda m: (m.f1, -m.support, m.label))
    assert worst.label in out
    assert len(intent_table(report, limit=2).rows) == 2
