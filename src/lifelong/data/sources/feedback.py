"""Feedback from serving: corrected intents appended as JSON lines, read after an offset.

The server calls :func:`append_feedback` before it answers, so an acknowledged correction is on
disk. :class:`FeedbackSource` reads the lines after the committed byte offset (kept in a small
state file beside the log, written atomically) and ``commit`` moves the offset on. The offset
only ever lands on a line boundary that a ``pending()`` read from the committed offset, so no
line is skipped, and a half-appended last line is left for the next read.
"""

from __future__ import annotations

import errno
import json
import math
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lifelong.core.atomic import atomic_write_text, fsync_dir
from lifelong.core.errors import Problem
from lifelong.core.private import PRIVATE_FILE, make_private, private_dir
from lifelong.core.storage import storage_errors
from lifelong.core.text_check import value_problem
from lifelong.core.types import Example
from lifelong.data.sources.base import Batch, Receipt, own_receipts

# One lock for every appender in this process: a single O_APPEND write is already atomic
# between processes on local file systems; the lock also orders threads and fsyncs.
_APPEND_LOCK = threading.Lock()


@dataclass(frozen=True)
class FeedbackRecord:
    """One correction: the text, its correct intent, and what the server had predicted.

    ``prediction_id`` links to the prediction log; ``predicted`` (when the server knows it) lets
    the performance trigger score right/wrong without joining the log.
    """

    text: str
    intent: str
    prediction_id: str | None = None
    predicted: str | None = None
    timestamp: str | None = None

    @property
    def correct(self) -> bool | None:
        """Whether the prediction was right; ``None`` when the prediction is unknown."""
        return None if self.predicted is None else self.predicted == self.intent

    @property
    def absolute_error(self) -> float | None:
        """A regression prediction's error, ``|predicted - intent|`` read as numbers; ``None``
        when either is unknown or not a finite number (a classifier's record, or one a server
        logged before it kept predicted values: ``predicted`` is then ``"value"``).

        >>> FeedbackRecord("r", "23.5", predicted="21.0").absolute_error
        2.5
        """
        try:
            error = abs(float(self.predicted or "nan") - float(self.intent))
        except ValueError:
            return None
        return error if math.isfinite(error) else None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> FeedbackRecord:
        """Validate a parsed JSON object.

        Raises
        ------
        ValueError
            Naming the missing or mistyped field, or the character it cannot hold (a lone
            surrogate from a JSON escape, a NUL).
        """
        for key in ("text", "intent"):
            value = raw.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"field {key!r} must be a non-empty string (got {value!r})")
        for key in ("prediction_id", "predicted", "timestamp"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise ValueError(f"field {key!r} must be a string (got {raw[key]!r})")
        for key in ("text", "intent", "prediction_id", "predicted", "timestamp"):
            problem = value_problem(raw.get(key), f"field {key!r}")
            if problem is not None:
                raise ValueError(problem)
        return cls(
            text=raw["text"],
            intent=raw["intent"],
            prediction_id=raw.get("prediction_id"),
            predicted=raw.get("predicted"),
            timestamp=raw.get("timestamp"),
        )

    def to_example(self, source: str, line: int) -> Example:
        meta = {"feedback": True, "prediction_id": self.prediction_id, "predicted": self.predicted}
        return Example.make(
            self.text, self.intent, source=source, line=line, timestamp=self.timestamp, meta=meta
        )


def append_feedback(path: Path, record: FeedbackRecord) -> None:
    """Append ``record`` as one JSON line and fsync it before returning.

    Safe for concurrent appenders: threads take a lock, processes rely on ``O_APPEND`` with the
    whole line in one ``write``. A missing ``timestamp`` is set to now (UTC). The log holds
    users' texts: it is ``0600`` (see :mod:`lifelong.core.private`).

    Raises
    ------
    ValueError
        If the record has no text or intent (nothing to learn from).
    """
    FeedbackRecord.from_mapping(asdict(record))
    if record.timestamp is None:
        record = FeedbackRecord(**{**asdict(record), "timestamp": datetime.now(UTC).isoformat()})
    fields = {k: v for k, v in asdict(record).items() if v is not None}
    line = (json.dumps(fields, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    private_dir(path.parent, tighten=False)  # a configured folder may be shared
    created = not path.exists()
    with storage_errors(path), _APPEND_LOCK:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        try:
            _append_whole(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    if created:
        fsync_dir(path.parent)
    else:
        make_private(path)  # a log from before the logs were private


def _append_whole(fd: int, line: bytes) -> None:
    """Append ``line`` or nothing: a write the disk cuts short (full) is cut off again, so the
    log never holds half a line for the next record to be glued to."""
    start = os.fstat(fd).st_size
    written = 0
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(errno.ENOSPC, "a feedback line was cut short (disk full?)")
    except OSError:
        if written and os.fstat(fd).st_size == start + written:
            os.ftruncate(fd, start)  # only our part is past ``start``: no other appender's
        raise


@dataclass(frozen=True)
class Offset:
    """Where reading resumes: a byte offset on a line boundary and the lines before it."""

    byte: int = 0
    line: int = 0


class FeedbackSource:
    """The feedback log as a source of new examples.

    Parameters
    ----------
    path
        The JSON Lines log :func:`append_feedback` writes.
    state_path
        Where the committed offset is kept; default ``<path>.offset``.
    max_lines
        Read at most this many lines per batch (``None``: all), to bound a cycle's memory.
    """

    def __init__(
        self, path: Path, state_path: Path | None = None, max_lines: int | None = None
    ) -> None:
        self.path = Path(path)
        self.state_path = state_path or self.path.with_name(self.path.name + ".offset")
        self.max_lines = max_lines

    @property
    def name(self) -> str:
        return f"feedback:{self.path}"

    def committed(self) -> Offset:
        """The committed offset (zero before the first commit)."""
        if not self.state_path.is_file():
            return Offset()
        raw = json.loads(self.state_path.read_text(encoding="utf-8"))
        return Offset(int(raw["byte"]), int(raw["line"]))

    def pending(self) -> Batch:
        """Complete lines after the committed offset; malformed lines become problems.

        A log shorter than the offset was truncated or replaced: reading restarts at its start
        (redelivery is harmless) with a warning.
        """
        batch = Batch(self.name)
        seen = self.committed()
        size = self.path.stat().st_size if self.path.is_file() else 0
        start = seen
        if size < seen.byte:
            start = Offset()
            batch.problems.append(
                Problem(
                    "warning",
                    "feedback-truncated",
                    f"log is {size} bytes, shorter than the committed offset {seen.byte}; "
                    "reading it again from the start",
                    str(self.path),
                )
            )
        if size == start.byte:
            return batch
        with self.path.open("rb") as handle:
            handle.seek(start.byte)
            data = handle.read(size - start.byte)
        lines = data[: data.rfind(b"\n") + 1].splitlines(keepends=True)
        if self.max_lines is not None:
            lines = lines[: self.max_lines]
        for number, raw in enumerate(lines, start=start.line + 1):
            self._parse(raw, number, batch)
        if lines:
            end = Offset(start.byte + sum(len(raw) for raw in lines), start.line + len(lines))
            key = f"{end.byte}:{end.line}"
            batch.receipts.append(Receipt(self.name, key, f"{seen.byte}:{seen.line}"))
        return batch

    def commit(self, receipts: Iterable[Receipt]) -> None:
        """Advance the offset to a receipt's end if the offset is still where it was read from.

        A stale or repeated receipt (the offset moved since its ``pending``) is ignored: its lines
        are either committed already or will be read again.
        """
        now = self.committed()
        for receipt in own_receipts(self.name, receipts):
            if receipt.check == f"{now.byte}:{now.line}":
                byte, line = (int(part) for part in receipt.key.split(":"))
                now = Offset(byte, line)
                atomic_write_text(self.state_path, json.dumps(asdict(now)) + "\n")

    def close(self) -> None:
        """Nothing to release: files are opened per read."""

    def _parse(self, raw: bytes, number: int, batch: Batch) -> None:
        if not raw.strip():
            return
        try:
            parsed = json.loads(raw.decode("utf-8"))
            if not isinstance(parsed, dict):
                raise ValueError(f"expected a JSON object, got {type(parsed).__name__}")
            record = FeedbackRecord.from_mapping(parsed)
        except (UnicodeDecodeError, ValueError) as error:
            batch.problems.append(
                Problem("error", "malformed-feedback", str(error), str(self.path), number)
            )
            return
        batch.examples.append(record.to_example(str(self.path), number))
