"""Ingestion: new examples from the sources become a data file of the project, exactly once.

Examples are written to ``<first data folder>/ingested/<time>-<n>.jsonl`` atomically, so the
next snapshot holds them. Sources are committed only after that snapshot is committed (by the
caller); a crash in between redelivers them, and because examples are identified by content,
redelivered ones are recognised as already present and skipped: nothing lost, nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lifelong.core.atomic import atomic_write_text
from lifelong.core.errors import ConfigError, Problem
from lifelong.core.private import private_dir
from lifelong.core.types import Example
from lifelong.data import Snapshot
from lifelong.data.sources import Receipt, Source
from lifelong.project import Project


@dataclass
class Ingested:
    """What one ingestion found."""

    new: list[Example] = field(default_factory=list)
    already_present: int = 0
    conflicts: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    receipts: dict[str, list[Receipt]] = field(default_factory=dict)
    per_source: dict[str, int] = field(default_factory=dict)
    file: Path | None = None

    def summary(self) -> dict[str, object]:
        """JSON-safe figures for the cycle history."""
        return {
            "new": len(self.new),
            "already_present": self.already_present,
            "conflicts": self.conflicts[:20],
            "n_conflicts": len(self.conflicts),
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


def collect(sources: Sequence[Source], pool: Snapshot) -> Ingested:
    """Read every source's pending examples; keep those not already in ``pool``.

    A text already in the data (or earlier in this batch) under another label is a conflict:
    reported and skipped, never silently relabeled (the data's owner decides).
    """
    found = Ingested()
    labels_by_text = {e.text: e.label for e in pool.examples.values()}
    seen: set[str] = set()
    for source in sources:
        batch = source.pending()
        found.receipts[source.name] = list(batch.receipts)
        found.problems.extend(batch.problems)
        found.per_source[source.name] = len(batch.examples)
        for example in batch.examples:
            if example.hash in pool.examples or example.hash in seen:
                found.already_present += 1
                continue
            known = labels_by_text.get(example.text)
            if known is not None and known != example.label:
                found.conflicts.append(
                    f"{example.location}: {example.text!r} is {known!r} in the data, "
                    f"{example.label!r} here; skipped"
                )
                continue
            labels_by_text[example.text] = example.label
            seen.add(example.hash)
            found.new.append(example)
    return found


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
    for example in found.new:
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
