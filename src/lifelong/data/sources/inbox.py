"""The inbox folder: annotators (or scripts) drop data files; each is ingested exactly once.

Producers must write a file under a temporary name (starting with ``.`` or ending in ``.tmp``
or ``.part``) and rename it into place when complete: a rename is atomic, so the source never
takes a half-written file. Accepted files move to ``inbox/processed/`` on ``commit``; files with
reader errors move to ``inbox/rejected/`` at once, with a ``<name>.error`` file listing why.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from lifelong.config import Columns
from lifelong.core.atomic import atomic_write_text, fsync_dir
from lifelong.core.errors import DataError, Problem
from lifelong.core.hashing import sha256_file
from lifelong.core.private import make_private, private_dir
from lifelong.data.read import read_file
from lifelong.data.sources.base import Batch, Receipt, own_receipts

PROCESSED = "processed"
REJECTED = "rejected"
_IN_PROGRESS = (".tmp", ".part")


def is_ready(path: Path) -> bool:
    """True for a complete file: not hidden, not a temporary ``.tmp`` / ``.part`` name.

    >>> is_ready(Path("day1.jsonl")), is_ready(Path(".day1.jsonl")), is_ready(Path("a.csv.part"))
    (True, False, False)
    """
    return not path.name.startswith(".") and not path.name.endswith(_IN_PROGRESS)


def free_name(folder: Path, name: str, companions: tuple[str, ...] = ()) -> Path:
    """A path in ``folder`` named ``name``, or ``stem-N.ext`` if taken (with any companion).

    ``companions`` are suffixes of files that will sit beside it (``.error``); they must be free
    too, so a rejected file and its explanation always share one name. Check-then-rename is
    safe because one cycle at a time runs (the project lock). Creates ``folder``, private
    (``0700``): the files moved there hold users' data.
    """
    private_dir(folder)
    path = Path(name)
    candidate, number = name, 0
    while any((folder / f"{candidate}{extra}").exists() for extra in ("", *companions)):
        number += 1
        candidate = f"{path.stem}-{number}{path.suffix}"
    return folder / candidate


def move(path: Path, target: Path) -> None:
    """Rename ``path`` to ``target`` (same file system: atomic), durable once it returns; the
    moved file is made private (a producer's file may be readable by anyone)."""
    os.rename(path, target)
    make_private(target)
    fsync_dir(target.parent)
    fsync_dir(path.parent)


class InboxSource:
    """Data files dropped into a folder.

    Parameters
    ----------
    inbox_dir
        The folder watched; only its top-level files are read (``processed/`` and
        ``rejected/`` live inside it).
    columns
        Column names for CSV and Parquet files.
    """

    def __init__(self, inbox_dir: Path, columns: Columns | None = None) -> None:
        self.inbox_dir = Path(inbox_dir)
        self.columns = columns or Columns()

    @property
    def name(self) -> str:
        return f"inbox:{self.inbox_dir}"

    @property
    def processed_dir(self) -> Path:
        return self.inbox_dir / PROCESSED

    @property
    def rejected_dir(self) -> Path:
        return self.inbox_dir / REJECTED

    def ready_files(self) -> list[Path]:
        """Complete files waiting in the inbox, in name order (so batches are reproducible)."""
        if not self.inbox_dir.is_dir():
            return []
        return sorted(p for p in self.inbox_dir.iterdir() if p.is_file() and is_ready(p))

    def pending(self) -> Batch:
        """Read every ready file; reject the malformed ones now, offer the rest.

        A receipt holds the file's sha256 taken *before* reading, so a file replaced under the
        same name at any point after that is not moved on commit and is read again.
        """
        batch = Batch(self.name)
        for path in self.ready_files():
            digest = sha256_file(path)
            try:
                result = read_file(path, self.columns)
            except DataError as error:
                problems = [Problem("error", "unreadable", error.message, str(path))]
            else:
                problems = result.problems
                if not result.errors:
                    batch.examples.extend(result.examples)
                    batch.problems.extend(problems)
                    batch.receipts.append(Receipt(self.name, path.name, digest))
                    continue
            batch.problems.extend(problems)
            batch.problems.append(self._reject(path, problems))
        return batch

    def commit(self, receipts: Iterable[Receipt]) -> None:
        """Move acknowledged files to ``processed/``.

        A file already gone was committed before (a retried commit); a file whose content changed
        since ``pending`` stays, to be read again. Both are no-ops, never errors.
        """
        for receipt in own_receipts(self.name, receipts):
            path = self.inbox_dir / receipt.key
            if path.is_file() and sha256_file(path) == receipt.check:
                move(path, free_name(self.processed_dir, path.name))

    def close(self) -> None:
        """Nothing to release: files are opened per read."""

    def _reject(self, path: Path, problems: list[Problem]) -> Problem:
        """Write ``rejected/<name>.error`` first, then move the file beside it.

        In that order a crash leaves either the file still in the inbox (rejected again next
        time) or the file with its explanation, never an unexplained rejected file.
        """
        target = free_name(self.rejected_dir, path.name, (".error",))
        errors = [p for p in problems if p.severity == "error"]
        lines = [
            f"{path} was rejected with {len(errors)} error(s); fix them and put the file back "
            "into the inbox.",
            *(str(p) for p in problems),
        ]
        atomic_write_text(target.with_name(target.name + ".error"), "\n".join(lines) + "\n")
        move(path, target)
        return Problem(
            "warning",
            "rejected",
            f"file rejected ({len(errors)} error(s)); moved to {target}",
            str(path),
        )
