"""JSON Lines reader: one ``{"text", "intent", "timestamp"?, "source"?}`` object per line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lifelong.data.result import ReadResult
from lifelong.data.text_io import read_data_text

_KNOWN = {"text", "intent", "timestamp", "source"}


EXPECTED_OBJECT = 'like {"text": "...", "intent": "..."}'


def jsonl_records(
    path: Path, result: ReadResult, expected: str = EXPECTED_OBJECT
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of a ``.jsonl`` file as ``(line, object)``; blank lines are allowed, a line
    that is not a JSON object is an error in ``result`` (``expected`` says what one looks
    like)."""
    text = read_data_text(path, result)
    if text is None:
        return
    for number, raw in enumerate(text.splitlines(), start=1):
        record = jsonl_object(raw, str(path), number, result, expected)
        if record is not None:
            yield number, record


def jsonl_object(
    raw: str, source: str, line: int, result: ReadResult, expected: str = EXPECTED_OBJECT
) -> dict[str, Any] | None:
    """The JSON object of one line; ``None`` for a blank line or after recording why the line
    is not an object (shared by the whole-file and the streamed readers)."""
    if not raw.strip():
        return None
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as error:
        result.error(
            "malformed-json",
            f"malformed JSON at column {error.colno} ({error.msg}); expected one object "
            f"per line {expected}",
            source,
            line,
        )
        return None
    if not isinstance(record, dict):
        result.error(
            "malformed-json", f"expected a JSON object, got {type(record).__name__}", source, line
        )
        return None
    return record


def read_jsonl(path: Path) -> ReadResult:
    """Read a text project's ``.jsonl`` file (see :func:`jsonl_records`)."""
    result = ReadResult(files=[str(path)])
    source = str(path)
    for number, record in jsonl_records(path, result):
        meta = {k: v for k, v in record.items() if k not in _KNOWN}
        if isinstance(record.get("source"), str):
            meta["origin"] = record["source"]
        result.add_example(
            record.get("text"),
            record.get("intent"),
            source,
            number,
            timestamp=record.get("timestamp"),
            meta=meta,
        )
    return result
