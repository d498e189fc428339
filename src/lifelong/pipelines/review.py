"""The review queue: incoming examples that no one vouched for wait here for a person.

Ingestion (:mod:`lifelong.pipelines.ingest`) holds relabels, feedback with an unknown intent, and
new intents too small to train; nothing held trains. :func:`accept` writes the chosen items into
the data through the same path as ingestion, one JSONL file under ``data/ingested/``, after
checking that the data stays trainable; :func:`reject` keeps them, marked, for the audit.

An accepted relabel is written with ``"review": {"id": N, "replaces": OLD}``; the dataset reader
(:func:`lifelong.data.validate.apply_reviewed_relabels`) then drops the old label of that text,
so the next model trains on the new one only and the snapshot diff records it as ``relabeled``.

The queue lives in the registry store, so projects, servers and loops sharing a PostgreSQL
registry share one queue, and each decision is one transaction.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lifelong.core.atomic import atomic_write_text
from lifelong.core.errors import DataError, NotFound
from lifelong.core.hashing import sha256_text
from lifelong.core.private import private_dir
from lifelong.data import check_trainable, load_dataset
from lifelong.data.stream import project_source, scan_trainable, streams
from lifelong.pipelines.data_view import with_files
from lifelong.pipelines.ingest import RELABEL, Ingested, ingest_folder
from lifelong.pipelines.lock import cycle_lock
from lifelong.project import Project
from lifelong.registry import Registry, ReviewItem, ReviewStatus


@dataclass(frozen=True)
class Decision:
    """What :func:`accept` or :func:`reject` did: the items decided, the ids left alone (already
    decided before), and the data file the accepted ones went into."""

    decided: list[ReviewItem]
    skipped: list[ReviewItem] = field(default_factory=list)
    file: Path | None = None

    def summary(self) -> dict[str, object]:
        """The JSON object ``lifelong review accept|reject --json`` prints."""
        return {
            "decided": [item.id for item in self.decided],
            "skipped": [{"id": item.id, "status": item.status} for item in self.skipped],
            "file": None if self.file is None else str(self.file),
        }


def hold(registry: Registry, found: Ingested) -> None:
    """Queue what ingestion held (idempotent: an example already queued is not queued again).

    Call before the sources are committed: a crash in between redelivers, and the queue
    recognises the redelivered examples by content.
    """
    found.newly_held = len(registry.store.hold_for_review(found.held))


def items(registry: Registry, status: ReviewStatus | None = "pending") -> list[ReviewItem]:
    """Queued items, oldest first: the pending ones by default, every one with ``None``."""
    return registry.store.review_items(status=status)


def _chosen(
    registry: Registry, ids: Sequence[int] | None
) -> tuple[list[ReviewItem], list[ReviewItem]]:
    """(pending, already decided) among ``ids``; every pending item when ``ids`` is ``None``.

    Raises
    ------
    NotFound
        An id the queue never had: nothing is decided then.
    """
    if ids is None:
        return items(registry), []
    found = registry.store.review_items(ids=ids)
    missing = sorted(set(ids) - {item.id for item in found})
    if missing:
        raise NotFound(
            f"no review item {', '.join(map(str, missing))}",
            hint="`lifelong review list --status all` shows every item and its id",
        )
    return [i for i in found if i.status == "pending"], [i for i in found if i.status != "pending"]


def _record(item: ReviewItem) -> str:
    review: dict[str, object] = {"id": item.id}
    if item.reason == RELABEL and item.current is not None:
        review["replaces"] = item.current
    record = {"text": item.text, "intent": item.intent, "source": item.source, "review": review}
    return json.dumps(record, ensure_ascii=False) + "\n"


def _check_still_trainable(project: Project, content: str) -> None:
    """Refuse an acceptance after which training would refuse the data."""
    private_dir(project.state_dir)
    with tempfile.TemporaryDirectory(prefix=".tmp-review-", dir=project.state_dir) as tmp:
        preview = Path(tmp) / "accepted.jsonl"
        preview.write_text(content, encoding="utf-8")
        try:
            if streams(project):  # one bounded pass over the data and the preview
                source, _ = project_source(project)
                scan_trainable(project, with_files(source, [*source.files, preview]))
            else:
                check_trainable(
                    load_dataset(project, extra=[preview]).splits, kind=project.config.columns.kind
                )
        except DataError as error:
            raise DataError(
                f"accepting these items would leave data that cannot train: {error.message}",
                hint="accept them together with enough examples of their intent (or add some "
                "to the inbox first), or reject them",
            ) from None


def accept(
    project: Project, registry: Registry, ids: Sequence[int] | None, *, note: str = ""
) -> Decision:
    """Write the pending items among ``ids`` (all pending with ``None``) into the data, once.

    The file is named by the ids it holds, so running the same acceptance again after a crash
    between writing it and recording the decision writes nothing twice. If another reviewer
    decided some of the items meanwhile, the file is rewritten with only those this call
    accepted, so a rejected item never trains. It runs under the cycle lock, so a cycle never
    reads the data half-way through an acceptance.

    Raises
    ------
    NotFound
        An unknown id.
    DataError
        The data would not be trainable afterwards (e.g. one example of a new intent).
    LockHeld
        A cycle is running; accept again when it is done.
    """
    with cycle_lock(project, registry):
        pending, skipped = _chosen(registry, ids)
        if not pending:
            return Decision([], skipped)
        content = "".join(_record(item) for item in pending)
        _check_still_trainable(project, content)
        chosen = [item.id for item in pending]
        digest = sha256_text(",".join(map(str, chosen)))[:12]
        folder = private_dir(ingest_folder(project))  # as the loop's ingested files
        path = folder / f"review-{chosen[0]}-{chosen[-1]}-{digest}.jsonl"
        if not path.exists():
            atomic_write_text(path, content)
        note = f"{note} (into {path.name})" if note else f"into {path.name}"
        decided = registry.store.decide_review(chosen, "accepted", note=note)
        if len(decided) < len(pending):
            # Decided by someone else meanwhile: keep only what this call accepted.
            mine = {item.id for item in decided}
            atomic_write_text(path, "".join(_record(item) for item in pending if item.id in mine))
        return Decision(decided, skipped, path)


def reject(registry: Registry, ids: Sequence[int] | None, *, note: str = "") -> Decision:
    """Mark the pending items among ``ids`` (all pending with ``None``) rejected: kept for the
    audit, never trained, never queued again.

    Raises
    ------
    NotFound
        An unknown id.
    """
    pending, skipped = _chosen(registry, ids)
    decided = registry.store.decide_review([item.id for item in pending], "rejected", note=note)
    return Decision(decided, skipped)
