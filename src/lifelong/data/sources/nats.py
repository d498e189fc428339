"""A NATS JetStream stream read by a durable pull consumer, acked only after the snapshot.

JetStream keeps a durable consumer's progress on the server: a delivered message stays pending
until acknowledged, and is delivered again ``ack_wait`` after its delivery (or after its last
in-progress ack) when it is not. ``pending()`` fetches up to ``count`` messages and acks none;
``commit(receipts)``, called once the snapshot holding them is committed, publishes the
malformed ones to the dead-letter subject (each with ``Nats-Msg-Id: <stream>:<sequence>``, so
the server keeps one copy however often a redelivery dead-letters it again) and then acks them
all.

A cycle longer than ``ack_wait``: between ``pending()`` and ``commit()`` a private event loop in
a helper thread sends in-progress acks (``+WPI``) for the held messages every ``ack_wait / 3``,
so JetStream does not redeliver them while the cycle runs; a killed cycle stops sending them and
its messages come back ``ack_wait`` later. A message delivered to this reader twice (an
answer to a fetch that had already timed out here waits in the subscription, then the server
redelivers it) is offered once, acked through its latest delivery. Were a message redelivered
to another reader anyway (a stalled process), the snapshot's content hashes make the second
copy harmless.

nats-py is asyncio; the source's own loop runs in one thread it starts at the first read and
stops (loop closed, thread joined) in ``close()``, so it works the same in synchronous code and
under an application's running loop. Needs the ``nats`` extra (``pip install lifelong[nats]``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Coroutine, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from lifelong.config import Columns
from lifelong.core.crashpoint import crash_point
from lifelong.core.errors import ConfigError, Problem
from lifelong.data.sources.base import Batch, Receipt, SourceUnavailable, own_receipts
from lifelong.data.sources.message import DEFAULT_MAX_BYTES, decode_message

T = TypeVar("T")
_FETCH = 256
_ACK = b"+ACK"
_IN_PROGRESS = b"+WPI"
DEAD_LETTER_WINDOW = 24 * 3600.0  # seconds the dead-letter stream remembers message ids


class _LoopThread:
    """An asyncio loop of the source's own in a daemon thread; ``run`` waits for a coroutine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="lifelong-nats", daemon=True
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            if future.done():  # the coroutine's own TimeoutError, not the wait's
                raise
            future.cancel()
            raise TimeoutError(f"no answer within {timeout:g} s") from None

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class NatsSource:
    """New examples published to a JetStream stream.

    Parameters
    ----------
    url
        ``nats://host:port``.
    stream
        The JetStream stream holding the messages (it must exist).
    subject
        Subject (filter) the consumer reads within the stream.
    durable
        Durable consumer name; created (explicit acks, from the stream's start) if missing.
    dead_letter
        Subject receiving malformed messages; default ``lifelong.rejected.<stream>``. If no
        stream captures it, a stream ``<stream>_REJECTED`` is created for it.
    ack_wait
        Seconds before the server redelivers an unacknowledged message.
    fields, count, max_bytes
        JSON keys of text, intent and timestamp; messages per batch; largest message.
    timeout
        Seconds to connect and for each request before a clear error.
    connect_options
        Credentials for ``nats.connect`` (``user``/``password``, ``token``,
        ``user_credentials``), already read from the environment.
    """

    def __init__(
        self,
        url: str,
        stream: str,
        subject: str,
        durable: str = "lifelong",
        *,
        dead_letter: str | None = None,
        ack_wait: float = 30.0,
        fields: Columns | None = None,
        count: int = 1000,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = 10.0,
        connect_options: dict[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.dead_letter = dead_letter or f"lifelong.rejected.{stream}"
        self.ack_wait = ack_wait
        self.fields = fields or Columns()
        self.count = count
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.connect_options = dict(connect_options or {})
        self._thread: _LoopThread | None = None
        self._nc: Any = None
        self._sub: Any = None
        # stream sequence -> its latest delivery, not acked; a message delivered twice (a
        # fetch that timed out here after the server had answered it, then a redelivery) is
        # one message, acked (and kept in progress) through its latest delivery
        self._held: dict[int, Any] = {}
        self._dead: dict[int, str] = {}  # stream sequence -> problem
        self._keepalive: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return f"nats:{self.stream}"

    def pending(self) -> Batch:
        """Up to ``count`` messages: redelivered ones first (JetStream's order), then new ones.

        Raises
        ------
        SourceUnavailable
            The server did not answer within ``timeout``, or the stream does not exist.
        """
        return self._run(self._pending())

    def commit(self, receipts: Iterable[Receipt]) -> None:
        """Dead-letter the batch's malformed messages, then ack every message of the batch."""
        mine = own_receipts(self.name, receipts)
        if mine:
            self._run(self._commit([int(r.key) for r in mine]))

    def close(self) -> None:
        """Stop the in-progress acks, close the connection, stop the loop and its thread."""
        if self._thread is None:
            return
        with contextlib.suppress(TimeoutError):
            self._thread.run(self._close(), self.timeout)
        self._thread.stop()
        self._thread = None

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._thread is None:
            self._thread = _LoopThread()
        return self._thread.run(coroutine)  # each request inside has its own timeout

    async def _connect(self) -> Any:
        if self._nc is not None:
            return self._nc
        import nats
        import nats.js.api as api
        import nats.js.errors as js_errors

        async def quiet(_error: Exception) -> None:  # the source raises its own clear errors
            return None

        try:
            # wait_for: nats-py keeps retrying a refused connection despite the settings
            nc = await asyncio.wait_for(
                nats.connect(
                    self.url,
                    connect_timeout=max(1, round(self.timeout)),
                    allow_reconnect=False,
                    max_reconnect_attempts=0,
                    error_cb=quiet,
                    **self.connect_options,
                ),
                self.timeout,
            )
        except Exception as error:
            raise SourceUnavailable(
                f"NATS server at {self.url} did not answer within {self.timeout:g} s "
                f"({type(error).__name__}: {error})",
                hint="check `url` (and the credentials) of this nats source and that the "
                "server runs with JetStream (-js); nothing was read, the next cycle retries",
            ) from None
        js = nc.jetstream(timeout=self.timeout)
        try:
            await js.stream_info(self.stream)
        except js_errors.NotFoundError:
            await nc.close()
            raise SourceUnavailable(
                f"JetStream stream {self.stream!r} does not exist on {self.url}",
                hint=f"create it (nats stream add {self.stream} --subjects '{self.subject}') "
                "or fix `stream` of this nats source; `lifelong publish` creates it too",
            ) from None
        config = api.ConsumerConfig(
            durable_name=self.durable,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_ack_pending=-1,
            filter_subject=self.subject,
        )
        self._sub = await js.pull_subscribe(
            self.subject, durable=self.durable, stream=self.stream, config=config
        )
        self._nc = nc
        return nc

    async def _pending(self) -> Batch:
        await self._connect()
        await self._stop_keepalive()
        batch = Batch(self.name)
        # messages this object already holds come first (a second read before commit)
        taken: dict[int, Any] = dict(self._held)
        while len(taken) < self.count:
            wanted = min(_FETCH, self.count - len(taken))
            try:
                messages = await self._sub.fetch(wanted, timeout=1.0)
            except TimeoutError:  # nats-py raises its own subclass, or asyncio's (this one)
                break
            for message in messages:
                taken[message.metadata.sequence.stream] = message  # the latest delivery
            if len(messages) < wanted:
                break
        for message in taken.values():
            self._take(message, batch)
        if self._held:
            self._keepalive = asyncio.create_task(self._keep_alive())
        return batch

    def _take(self, message: Any, batch: Batch) -> None:
        sequence = message.metadata.sequence.stream
        where = f"{self.stream}#{sequence}"
        decoded = decode_message(
            message.data,
            source=self.name,
            where=where,
            fields=self.fields,
            max_bytes=self.max_bytes,
            meta={"nats": where},
        )
        self._held[sequence] = message
        batch.receipts.append(Receipt(self.name, str(sequence)))
        if decoded.example is not None:
            batch.examples.append(decoded.example)
            return
        self._dead[sequence] = decoded.problem
        batch.problems.append(
            Problem(
                "error",
                "malformed-message",
                f"message {where}: {decoded.problem}; dead-lettered to subject "
                f"{self.dead_letter!r} when the batch is committed",
                self.name,
            )
        )

    async def _keep_alive(self) -> None:
        """In-progress acks for the held messages until the commit (or the process) ends."""
        while True:
            await asyncio.sleep(self.ack_wait / 3)
            for message in list(self._held.values()):
                await self._nc.publish(message.reply, _IN_PROGRESS)
            await self._nc.flush(timeout=self.timeout)

    async def _stop_keepalive(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
            self._keepalive = None

    async def _commit(self, sequences: list[int]) -> None:
        nc = await self._connect()
        await self._stop_keepalive()
        held = [self._held[s] for s in sequences if s in self._held]
        for message in held:
            sequence = message.metadata.sequence.stream
            if sequence in self._dead:
                await self._send_dead_letter(message, self._dead[sequence])
        crash_point("source-commit")
        for message in held:
            await nc.publish(message.reply, _ACK)
        await nc.flush(timeout=self.timeout)
        for sequence in sequences:
            self._held.pop(sequence, None)
            self._dead.pop(sequence, None)
        if self._held:
            self._keepalive = asyncio.create_task(self._keep_alive())

    async def _send_dead_letter(self, message: Any, problem: str) -> None:
        import nats.js.errors as js_errors

        js = self._nc.jetstream(timeout=self.timeout)
        sequence = message.metadata.sequence.stream
        headers = {
            "Nats-Msg-Id": f"{self.stream}:{sequence}",
            "Lifelong-Problem": problem.encode("ascii", "backslashreplace").decode(),
            "Lifelong-Stream": self.stream,
            "Lifelong-Sequence": str(sequence),
            "Lifelong-Subject": message.subject,
        }
        try:
            await js.publish(self.dead_letter, message.data, headers=headers)
        except js_errors.NoStreamResponseError:
            await js.add_stream(
                name=f"{self.stream}_REJECTED",
                subjects=[self.dead_letter],
                duplicate_window=DEAD_LETTER_WINDOW,
            )
            await js.publish(self.dead_letter, message.data, headers=headers)

    async def _close(self) -> None:
        await self._stop_keepalive()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()
            self._nc = None
            self._sub = None


def nats_connect_options(
    user: str | None,
    password_env: str | None,
    token_env: str | None,
    creds: str | None,
    where: str,
) -> dict[str, Any]:
    """``nats.connect`` credentials, secrets read from the environment variables named.

    Raises
    ------
    ConfigError
        A named variable is not set: missing credentials are an error, not an anonymous login.
    """

    def secret(variable: str, key: str) -> str:
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(
                f"{where}.{key}: environment variable {variable} is not set",
                hint=f"export {variable}=... before the cycle",
            )
        return value

    options: dict[str, Any] = {}
    if user is not None:
        options["user"] = user
    if password_env is not None:
        options["password"] = secret(password_env, "password_env")
    if token_env is not None:
        options["token"] = secret(token_env, "token_env")
    if creds is not None:
        options["user_credentials"] = creds
    return options
