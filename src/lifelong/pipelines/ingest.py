"""Ingestion: new examples from the sources become a data file of the project, exactly once.

Examples are written to ``<first data folder>/ingested/<time>-<n>.jsonl`` atomically, so the
next snapshot holds them. Sources are committed only after that snapshot is committed (by the
caller); a crash in between redelivers them, and because examples are identified by content,
redelivered ones are recognised as already present and skipped: nothing lost, nothing twice.

What training would refuse, or what no one vouched for, is *held* for review
(:mod:`lifelong.pipelines.review`) instead of entering the data or being dropped:

- a relabel (a text the data has under another label), from any source;
- feedback (untrusted: whoever holds the feedback token) with an intent the data does not have;
- a new intent from a trusted source (the inbox, a stream) with too few examples to be split
  and trained (:func:`~lifelong.data.untrainable_intents`), which would otherwise make every
  later training fail.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from lifelong.core.atomic import atomic_write_text
from lifelong.core.errors import ConfigError, Problem
from lifelong.core.private import private_dir
from lifelong.core.types import Example
from lifelong.data import Dataset, Snapshot, split_examples, untrainable_intents
from lifelong.data.schema import ValueProblem, canonical_row, conform, parse_row
from lifelong.data.sources import Batch, Receipt, Source
from lifelong.data.table_read import table_record
from lifelong.features import infer_columns
from lifelong.project import Project
from lifelong.registry import ReviewSpec

RELABEL, UNKNOWN_INTENT, TOO_FEW = "relabel", "unknown-intent", "too-few-examples"
MISTYPED = "column-mismatch"
TYPE_SAMPLE = 2000
"""Rows of the data read to learn its column types (the first, in hash order)."""
SUSPICIOUS = "suspicious"


@dataclass
class Ingested:
    """What one ingestion found."""

    new: list[Example] = field(default_factory=list)
    already_present: int = 0
    held: list[ReviewSpec] = field(default_factory=list)
    newly_held: int = 0
    problems: list[Problem] = field(default_factory=list)
    receipts: dict[str, list[Receipt]] = field(default_factory=dict)
    per_source: dict[str, int] = field(default_factory=dict)
    source_of: dict[str, str] = field(default_factory=dict)
    file: Path | None = None

    def summary(self) -> dict[str, object]:
        """JSON-safe figures for the cycle history."""
        return {
            "new": len(self.new),
            "already_present": self.already_present,
            "held": len(self.held),
            "newly_held": self.newly_held,
            "held_reasons": dict(sorted(Counter(h.reason for h in self.held).items())),
            "problems": [str(p) for p in self.problems[:20]],
            "per_source": self.per_source,
            "file": None if self.file is None else str(self.file),
        }


def ingest_folder(project: Project) -> Path:
    """Where ingested examples are written: ``ingested/`` in the first data folder."""
    for path in project.data_paths:
        if path.is_dir():
            return path / "ingested"
    raise ConfigError(
        "the continual loop needs a folder in `data:` to add ingested examples to",
        hint="add a folder to `data:` in config.yml, e.g. data: [data]",
    )


def _untrusted(example: Example) -> bool:
    """Feedback is untrusted: anyone with the feedback token wrote it, no annotator checked it."""
    return example.meta.get("feedback") is True


def review_spec(
    example: Example, source: str, reason: str, current: str | None, why: str
) -> ReviewSpec:
    """What the review queue keeps of a held example: its text, label, source and why."""
    detail: dict[str, object] = {"message": why, "location": example.location}
    for key in ("prediction_id", "predicted"):
        if example.meta.get(key) is not None:
            detail[key] = example.meta[key]
    return ReviewSpec(
        text=example.original or example.text,
        intent=example.label,
        example_hash=example.hash,
        reason=reason,
        source=source,
        current=current,
        detail=detail,
    )


def collect(
    sources: Sequence[Source], pool: Snapshot, *, allow_conflicts: bool = False
) -> Ingested:
    """Read every source's pending examples; keep those not already in ``pool``.

    A text already in the data (or earlier in this batch) under another label is a relabel:
    held for review, never applied silently and never lost. With ``allow_conflicts`` a trusted
    source's other label is added beside the old one (the deliberate multi-label use that
    setting allows in the data); feedback's relabels are held all the same. Feedback naming an
    intent the data does not have is held too.
    """
    pending = [(source.name, source.pending()) for source in sources]
    return collect_pending(pending, pool, set(pool.label_counts), allow_conflicts=allow_conflicts)


def collect_pending(
    pending: Sequence[tuple[str, Batch]],
    pool: Snapshot,
    intents: Collection[str] | None,
    *,
    allow_conflicts: bool = False,
) -> Ingested:
    """:func:`collect` on batches already read (source name, batch), against the data's
    ``intents``. ``pool`` needs to hold only the data's examples whose texts the batches bring:
    a streamed project passes those (found in one pass), not all its data.

    ``intents`` is ``None`` for a regression project: its targets are numbers, not a set of
    classes, so feedback with a value the data does not have yet is an ordinary new row (held
    as unknown it would send almost every correction to review, and the regression gate's
    error tests are what judge its effect)."""
    found = Ingested()
    labels_by_text = {e.text: e.label for e in pool.examples.values()}
    seen: set[str] = set()
    for name, batch in pending:
        found.receipts[name] = list(batch.receipts)
        found.problems.extend(batch.problems)
        found.per_source[name] = len(batch.examples)
        for example in batch.examples:
            if example.hash in pool.examples or example.hash in seen:
                found.already_present += 1
                continue
            seen.add(example.hash)
            found.source_of[example.hash] = name
            known = labels_by_text.get(example.text)
            relabel = known is not None and known != example.label
            if relabel and (_untrusted(example) or not allow_conflicts):
                why = f"the data has this text as {known!r}"
                found.held.append(review_spec(example, name, RELABEL, known, why))
                continue
            labels_by_text.setdefault(example.text, example.label)
            found.new.append(example)
    if intents is None:
        return found
    # Known: in the data, or brought by a trusted source in this very batch (whose own
    # trainability hold_untrainable then checks), whatever the order of the sources.
    known_intents = {*intents, *(e.label for e in found.new if not _untrusted(e))}
    kept = []
    for example in found.new:
        if _untrusted(example) and example.label not in known_intents:
            why = "feedback names an intent the data does not have"
            origin = found.source_of[example.hash]
            found.held.append(review_spec(example, origin, UNKNOWN_INTENT, None, why))
        else:
            kept.append(example)
    found.new = kept
    return found


def conform_rows(found: Ingested, before: Dataset) -> None:
    """Fit a tabular project's new rows to the data's column types, holding for review the
    rows that cannot fit (a non-number in a numeric column, a column the data lacks).

    A message is typed by its own values (one row tells little: a code ``"12"`` reads as a
    number), so without this a single odd message would make the ingested file disagree with
    the data and stop every later cycle at validation.
    """
    sample = [parse_row(e.text) for e in before.pool.sorted_examples()[:TYPE_SAMPLE]]
    types = {key: kind for key, kind in infer_columns(sample) if kind is not None}
    if not types:
        return
    kept = []
    for example in found.new:
        try:
            text = canonical_row(conform(parse_row(example.text), types))
        except ValueProblem as error:
            origin = found.source_of.get(example.hash, "-")
            found.held.append(review_spec(example, origin, MISTYPED, None, str(error)))
            continue
        if text != example.text:
            origin = found.source_of.pop(example.hash, "-")
            example = replace(example, text=text, original=text)
            found.source_of[example.hash] = origin
        kept.append(example)
    found.new = kept


def hold_untrainable(
    found: Ingested, before: Dataset, project: Project, intents: Collection[str] | None = None
) -> None:
    """Move the examples of new intents that could not train (too few for the splits, or none
    in the training split) from ``found.new`` to ``found.held``.

    Splits are a function of each example's content, so adding examples never makes an intent
    the data already trains untrainable: only intents this batch introduces (not among the
    data's ``intents``, by default those of ``before.pool``) are checked, and all their
    examples are in the batch. A regression target has no intents: a value the data does not
    have yet is no new class.
    """
    if project.config.columns.kind == "regression":
        return
    known = set(before.pool.label_counts) if intents is None else set(intents)
    fresh = {e.label for e in found.new} - known
    if not fresh:
        return
    test = None if before.test is None else before.test.sorted_examples()
    grown = split_examples([e for e in found.new if e.label in fresh], project.config.splits, test)
    why = {label: reason for label, reason in untrainable_intents(grown).items() if label in fresh}
    if not why:
        return
    kept = []
    for example in found.new:
        if example.label in why:
            reason = f"new intent with {why[example.label]}"
            origin = found.source_of.get(example.hash, "-")
            found.held.append(review_spec(example, origin, TOO_FEW, None, reason))
        else:
            kept.append(example)
    found.new = kept


def write_ingested(project: Project, found: Ingested, now: datetime | None = None) -> Path | None:
    """Write the new examples as one JSONL data file (atomically); ``None`` if there are none."""
    if not found.new:
        return None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    folder = private_dir(ingest_folder(project))  # the file itself is 0600 (atomic write)
    path = folder / f"{stamp}-{len(found.new)}.jsonl"
    counter = 1
    while path.exists():
        counter += 1
        path = folder / f"{stamp}-{len(found.new)}-{counter}.jsonl"
    lines = []
    columns = project.config.columns
    for example in found.new:
        if columns.target is not None:  # a tabular row, written as one
            record = table_record(example, columns)
        else:
            record = example.to_record()
            record.pop("line", None)  # the line in the source file, not in this one
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    atomic_write_text(path, "".join(lines))
    found.file = path
    return path


def commit_sources(sources: Sequence[Source], found: Ingested) -> None:
    """Acknowledge what was read; call only once a snapshot holding it is committed."""
    for source in sources:
        source.commit(found.receipts.get(source.name, []))
