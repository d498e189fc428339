"""A Redis Stream read through a consumer group: at-least-once delivery made exactly-once.

Each message carries ``text``, ``intent`` and optionally ``timestamp`` (other fields go to the
example's ``meta``). Redis keeps every delivered, unacknowledged message in the group's pending
list, so ``pending()`` first re-reads this consumer's own pending messages (a crash before
``commit`` loses nothing) and then new ones; ``commit`` acknowledges (``XACK``) them. A malformed
message is copied with its problem to a dead-letter stream and acknowledged in one transaction,
and reported in the batch: set aside with a record, never silently dropped.

Needs the ``redis`` extra (``pip install lifelong[redis]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lifelong.config import Columns
from lifelong.core.crashpoint import crash_point
from lifelong.core.errors import Problem
from lifelong.core.text_check import value_problem
from lifelong.core.types import Example
from lifelong.data.result import ReadResult
from lifelong.data.sources.base import Batch, Receipt, own_receipts
from lifelong.data.table_read import add_record

_OWN_PENDING = "0"
_NEW = ">"


class RedisStreamSource:
    """New examples published to a Redis Stream.

    Parameters
    ----------
    url
        ``redis://host:port/db``.
    stream
        The stream key producers ``XADD`` to.
    group
        Consumer group; created (with the stream, from its first entry) if missing.
    consumer
        This reader's name in the group; a restarted reader must reuse it to get its pending
        messages back.
    count
        At most this many messages per batch.
    dead_letter
        Stream receiving malformed messages with their problem; default ``<stream>:rejected``.
    """

    def __init__(
        self,
        url: str,
        stream: str,
        group: str,
        consumer: str = "lifelong",
        *,
        count: int = 1000,
        dead_letter: str | None = None,
        rows: Columns | None = None,
    ) -> None:
        self.rows = rows
        self.url = url
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.count = count
        self.dead_letter = dead_letter or f"{stream}:rejected"
        self._redis: Any = None

    @property
    def name(self) -> str:
        return f"redis:{self.stream}"

    def pending(self) -> Batch:
        """This consumer's unacknowledged messages first, then new ones, ``count`` at most."""
        client = self._client()
        self._ensure_group(client)
        batch = Batch(self.name)
        messages = self._read(client, _OWN_PENDING, self.count)
        if len(messages) < self.count:
            messages += self._read(client, _NEW, self.count - len(messages))
        for message_id, fields in messages:
            self._take(client, message_id, fields, batch)
        return batch

    def commit(self, receipts: Iterable[Receipt]) -> None:
        """``XACK`` the acknowledged messages (acking twice is harmless)."""
        ids = [receipt.key for receipt in own_receipts(self.name, receipts)]
        crash_point("source-commit")
        if ids:
            self._client().xack(self.stream, self.group, *ids)

    def close(self) -> None:
        """Close the connection pool (pending messages stay in the group's pending list)."""
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    def _client(self) -> Any:
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.url)
        return self._redis

    def _ensure_group(self, client: Any) -> None:
        """Create the group (and stream) reading from the stream's start; exists already: fine."""
        import redis

        try:
            client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def _read(self, client: Any, start: str, count: int) -> list[tuple[str, dict[bytes, bytes]]]:
        reply = client.xreadgroup(self.group, self.consumer, {self.stream: start}, count=count)
        entries = reply[0][1] if reply else []
        return [(message_id.decode(), fields or {}) for message_id, fields in entries]

    def _take(self, client: Any, message_id: str, fields: dict[bytes, bytes], batch: Batch) -> None:
        """Turn one message into an example, or dead-letter it and report why."""
        problem: str | None
        try:
            decoded = {key.decode(): value.decode() for key, value in fields.items()}
        except UnicodeDecodeError as error:
            decoded, problem = {}, f"a field is not UTF-8 ({error.reason})"
        else:
            problem = _problem_of(decoded) if self.rows is None else self._row(decoded, batch)
            if self.rows is not None and problem is None:  # a tabular row, taken
                batch.receipts.append(Receipt(self.name, message_id))
                return
        if problem is None:
            meta: dict[str, Any] = {
                k: v for k, v in decoded.items() if k not in ("text", "intent", "timestamp")
            }
            meta["message_id"] = message_id
            batch.examples.append(
                Example.make(
                    decoded["text"],
                    decoded["intent"],
                    source=self.name,
                    timestamp=decoded.get("timestamp"),
                    meta=meta,
                )
            )
            batch.receipts.append(Receipt(self.name, message_id))
            return
        record = {**fields, b"_id": message_id.encode(), b"_problem": problem.encode()}
        with client.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead_letter, record)
            pipe.xack(self.stream, self.group, message_id)
            pipe.execute()
        batch.problems.append(
            Problem(
                "error",
                "malformed-message",
                f"message {message_id}: {problem}; moved to stream {self.dead_letter!r}",
                self.name,
            )
        )

    def _row(self, fields: dict[str, str], batch: Batch) -> str | None:
        """Take a tabular project's message (one row: its columns and the target) into
        ``batch``; ``None`` when taken, else why not."""
        assert self.rows is not None
        if not fields:
            return "message is empty (deleted from the stream?)"
        result = ReadResult()
        add_record(result, fields, self.rows, self.name, None, what="message")
        if not result.examples:
            return result.problems[0].message
        batch.examples.append(result.examples[0])
        return None


def _problem_of(fields: dict[str, str]) -> str | None:
    """What makes a decoded message unusable, or ``None``."""
    if not fields:
        return "message is empty (deleted from the stream?)"
    for key in ("text", "intent"):
        if not fields.get(key, "").strip():
            return f"field {key!r} is missing or empty"
    return value_problem(fields, "message")  # UTF-8 has no surrogates, but may carry a NUL
