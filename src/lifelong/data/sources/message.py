"""One message of a byte transport (Kafka, NATS) turned into an example, or into the reason why not.

A message is a JSON object, UTF-8, at most ``max_bytes``: ``text``, ``intent``, optionally
``timestamp``, and any other keys kept as the example's ``meta`` (the names are configurable, as
the ``columns`` of CSV files are). In a tabular project it is one row: the columns and the
target, typed by their JSON values as a one-row file would be. The checks are the JSONL reader's
(:meth:`~lifelong.data.result.ReadResult.add_example`: missing or empty fields, a NUL, a lone
surrogate), so a message and a line of a data file are refused for the same reasons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lifelong.config import Columns
from lifelong.core.types import Example
from lifelong.data.result import ReadResult
from lifelong.data.table_read import add_record

DEFAULT_MAX_BYTES = 1_048_576


@dataclass(frozen=True)
class Decoded:
    """An example, or ``problem``: why the message cannot be one (it goes to dead letters)."""

    example: Example | None = None
    problem: str = ""


def decode_message(
    payload: bytes | None,
    *,
    source: str,
    where: str,
    fields: Columns,
    max_bytes: int = DEFAULT_MAX_BYTES,
    meta: dict[str, Any] | None = None,
) -> Decoded:
    """Decode one message.

    Parameters
    ----------
    payload
        The message's bytes (``None``: a Kafka tombstone).
    source
        The source's name, the example's ``source``.
    where
        The message's position (``topic[partition]@offset``, a stream sequence) for messages.
    fields
        Which JSON keys hold the text, the intent and the timestamp.
    max_bytes
        Larger messages are refused before parsing: one huge message must not exhaust memory.
    meta
        Added to the example's ``meta`` (the message's position, for tracing it back).
    """
    if payload is None or not payload:
        return Decoded(problem="message is empty")
    if len(payload) > max_bytes:
        return Decoded(problem=f"message has {len(payload)} bytes, over the limit of {max_bytes}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        return Decoded(problem=f"message is not UTF-8 ({error.reason} at byte {error.start})")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        return Decoded(
            problem=f"message is not JSON ({error.msg} at column {error.colno}); expected an "
            'object like {"text": "...", "intent": "..."}'
        )
    if not isinstance(record, dict):
        return Decoded(problem=f"expected a JSON object, got {type(record).__name__}")
    if fields.target is not None:
        result = ReadResult()
        add_record(result, record, fields, source, None, what=f"message {where}")
        if result.examples:
            return Decoded(example=result.examples[0])
        return Decoded(problem=result.problems[0].message)
    known = {fields.text, fields.intent, fields.timestamp}
    result = ReadResult()
    result.add_example(
        record.get(fields.text),
        record.get(fields.intent),
        source,
        None,
        timestamp=record.get(fields.timestamp),
        meta={**{k: v for k, v in record.items() if k not in known}, **(meta or {})},
        what=f"message {where}",
    )
    if result.examples:
        return Decoded(example=result.examples[0])
    return Decoded(problem=result.problems[0].message)
