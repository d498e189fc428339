"""The prediction log's writer as a process of its own: ``python -m lifelong.registry.log_writer
URL ARTIFACTS``.

A server logs every prediction it makes. In the server's own process the inserts' Python work
(converting and binding every row's parameters) competes for the one interpreter lock with
parsing, scoring and answering requests, and there it cost two to three times what the same
inserts cost alone: a server with its log switched off answered 1.2 to 1.3 times as many texts
per second (``bench/serve.py --baseline``). In a child process the inserts run on another core
under a lock of their own; the server only encodes the rows and waits for the reply, a blocking
read that holds no lock.

Protocol: the parent writes requests to the child's stdin and reads one reply per request from
its stdout. Each message is a 4-byte big-endian length, then a JSON object:

- ``{"op": "log", "columns": [...]}``: rows as one list per field of
  :class:`~lifelong.registry.PredictionRecord`, in field order, times as ISO 8601 strings;
  the reply is ``{"ok": rows written}``.
- ``{"op": "prune", "keep_rows": n or null, "older_than": ISO 8601 or null}``: the reply is
  ``{"ok": rows deleted}``.
- A store failure is replied as ``{"error": message}``, and the child goes on.

At start the child replies ``{"ok": "ready"}`` once the store is open (or ``{"error": ...}``,
then exits). It exits when its stdin closes, and ignores SIGINT and SIGTERM: a Ctrl-C or a
service manager signals the whole process group, and the server, which then still flushes its
last rows, closes the child's stdin once they are written.
"""

from __future__ import annotations

import json
import signal
import struct
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy.exc import SQLAlchemyError

from lifelong.core.errors import LifelongError
from lifelong.registry.entities import PredictionRecord
from lifelong.registry.registry import open_registry
from lifelong.registry.store import RegistryStore

_LENGTH = struct.Struct(">I")


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    """Write one message (length, then ``payload``) and flush it."""
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next message's payload, or ``None`` at the end of the stream (or a cut message)."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    payload = stream.read(size)
    return payload if len(payload) == size else None


def rows_from_columns(columns: Sequence[list[Any]]) -> list[PredictionRecord]:
    """The rows of a ``log`` request; each distinct time string is parsed once (a flush's rows
    share one per request)."""
    fields = [list(column) for column in columns]
    at = PredictionRecord._fields.index("at")
    times = {value: datetime.fromisoformat(value) for value in set(fields[at])}
    fields[at] = [times[value] for value in fields[at]]
    return list(map(PredictionRecord._make, zip(*fields, strict=True)))


def handle(store: RegistryStore, request: dict[str, Any]) -> int:
    """Carry out one request on ``store``; returns its count (rows written or deleted)."""
    if request["op"] == "log":
        rows = rows_from_columns(request["columns"])
        store.log_predictions(rows)
        return len(rows)
    if request["op"] == "prune":
        older = request["older_than"]
        return store.prune_predictions(
            keep_rows=request["keep_rows"],
            older_than=None if older is None else datetime.fromisoformat(older),
        )
    raise ValueError(f"unknown prediction-log request {request['op']!r}")


def serve(store: RegistryStore, requests: IO[bytes], replies: IO[bytes]) -> None:
    """Answer requests until ``requests`` ends."""
    while (frame := read_frame(requests)) is not None:
        try:
            reply: dict[str, Any] = {"ok": handle(store, json.loads(frame))}
        except (SQLAlchemyError, LifelongError) as error:
            reply = {"error": error.message if isinstance(error, LifelongError) else str(error)}
        write_frame(replies, json.dumps(reply).encode())


def main(argv: Sequence[str]) -> int:
    """Open the store at ``argv[0]`` (artifacts ``argv[1]``) and serve the parent's requests."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    replies = sys.stdout.buffer
    sys.stdout = sys.stderr  # the channel is the parent's alone: stray prints go to stderr
    url, artifacts = argv
    try:
        registry = open_registry(url, Path(artifacts))
    except LifelongError as error:
        write_frame(replies, json.dumps({"error": error.message}).encode())
        return 1
    write_frame(replies, json.dumps({"ok": "ready"}).encode())
    with registry:
        serve(registry.store, sys.stdin.buffer, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
