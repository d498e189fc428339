"""JSON Lines reader: one ``{"text", "intent", "timestamp"?, "source"?}`` object per line."""

from __future__ import annotations

import json
from pathlib import Path

from lifelong.data.result import ReadResult
from lifelong.data.text_io import read_data_text

_KNOWN = {"text", "intent", "timestamp", "source"}


def read_jsonl(path: Path) -> ReadResult:
    """Read a ``.jsonl`` file; blank lines are allowed, anything else must be an object."""
    result = ReadResult(files=[str(path)])
    text = read_data_text(path, result)
    if text is None:
        return result
    source = str(path)
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            result.error(
                "malformed-json",
                f"malformed JSON at column {error.colno} ({error.msg}); expected one object "
                'per line like {"text": "...", "intent": "..."}',
                source,
                number,
            )
            continue
        if not isinstance(record, dict):
            result.error(
                "malformed-json",
                f"expected a JSON object, got {type(record).__name__}",
                source,
                number,
            )
            continue
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
