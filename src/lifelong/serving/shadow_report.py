"""``lifelong shadow-report``: how often the shadow agrees with the champion, and who was right.

Shadow rows in the prediction log name the primary prediction they mirror (``shadow_of``), so
pairs are found without the texts. Feedback records carry the ``prediction_id`` the client was
given (the primary's); where one exists, the pair is judged against the corrected intent.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong.data.sources import FeedbackRecord
from lifelong.registry import PredictionRecord


@dataclass(frozen=True)
class ShadowReport:
    """Agreement of shadow and primary predictions, and correctness where feedback exists.

    ``versions`` counts pairs by (primary version, shadow version); ``judged`` pairs have
    feedback, of which ``primary_right`` / ``shadow_right`` had the corrected intent.
    """

    pairs: int = 0
    agreed: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    judged: int = 0
    primary_right: int = 0
    shadow_right: int = 0
    both_right: int = 0

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.pairs if self.pairs else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "agreed": self.agreed,
            "agreement": self.agreement,
            "versions": self.versions,
            "judged": self.judged,
            "primary_right": self.primary_right,
            "shadow_right": self.shadow_right,
            "both_right": self.both_right,
        }


def shadow_report(
    predictions: Sequence[PredictionRecord], feedback: Iterable[FeedbackRecord]
) -> ShadowReport:
    """Pair shadow rows with their primaries and judge the pairs that have feedback.

    The latest feedback for a prediction id wins (a user may correct a correction).

    >>> from datetime import datetime
    >>> def p(pid, intent, version, of=None):
    ...     return PredictionRecord(pid, datetime.now(), "h", version, intent, 0.9, 1.0, None, of)
    >>> rows = [p("a", "x", "1.0"), p("b", "y", "1.1", of="a"), p("c", "x", "1.0")]
    >>> report = shadow_report(rows, [FeedbackRecord("t", "y", prediction_id="a")])
    >>> report.pairs, report.agreed, report.primary_right, report.shadow_right
    (1, 0, 0, 1)
    """
    primaries = {p.prediction_id: p for p in predictions if p.shadow_of is None}
    truth = {f.prediction_id: f.intent for f in feedback if f.prediction_id is not None}
    pairs = agreed = judged = primary_right = shadow_right = both = 0
    versions: Counter[str] = Counter()
    for shadow in predictions:
        primary = primaries.get(shadow.shadow_of) if shadow.shadow_of is not None else None
        if primary is None:
            continue
        pairs += 1
        agreed += primary.intent == shadow.intent
        versions[f"{primary.version} vs {shadow.version}"] += 1
        correct = truth.get(primary.prediction_id)
        if correct is not None:
            judged += 1
            primary_right += primary.intent == correct
            shadow_right += shadow.intent == correct
            both += primary.intent == correct and shadow.intent == correct
    return ShadowReport(pairs, agreed, dict(versions), judged, primary_right, shadow_right, both)


def read_feedback(path: Path | None) -> list[FeedbackRecord]:
    """Every well-formed record of a feedback log (malformed lines are skipped here: the
    feedback source reports them when the loop ingests the log)."""
    if path is None or not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            raw = json.loads(line)
            records.append(FeedbackRecord.from_mapping(raw))
        except (ValueError, AttributeError):
            continue
    return records
