"""The server's end of the prediction log's writer process (:mod:`lifelong.registry.log_writer`
says why the inserts run in a process of their own, and the protocol).

:class:`LogWriterProcess` has the two store methods the log's writer thread calls,
``log_predictions`` and ``prune_predictions``, and forwards them to the child; that thread is
its only caller, so requests and replies never interleave. Rows are encoded by orjson as one
list per field. A child that died is started again at the next call; the batch that was in
flight is reported as failed, like any store failure, and counted by the log. A start that
fails (the store unreachable, say) is not tried again at once: calls fail fast until a back-off
of 1 s, doubling up to 60 s, has passed, rather than starting an interpreter every flush.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy.engine import make_url

from lifelong.core.errors import RegistryError
from lifelong.registry import PredictionRecord
from lifelong.registry.log_writer import read_frame, write_frame

log = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0  # seconds before the first new start after a failed one; doubles each time
MAX_BACKOFF = 60.0


def separate_process_possible(store_url: str) -> bool:
    """Whether another process can open the store: not for an in-memory SQLite database."""
    url = make_url(store_url)
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


class LogWriterProcess:
    """A ``python -m lifelong.registry.log_writer`` child writing to the store at ``store_url``.

    Parameters
    ----------
    store_url, artifacts_dir
        The registry the child opens.
    clock
        Monotonic seconds, for the back-off after a failed start.
    """

    def __init__(
        self, store_url: str, artifacts_dir: Path, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store_url = store_url
        self.artifacts_dir = artifacts_dir
        self.clock = clock
        self._process: subprocess.Popen[bytes] | None = None
        self._backoff = 0.0
        self._next_start = 0.0

    def start(self) -> None:
        """Start the child and wait until it has opened the store."""
        command = [
            sys.executable, "-m", "lifelong.registry.log_writer",
            self.store_url, str(self.artifacts_dir),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            ready = self._reply()
        except RegistryError:
            self.close()
            raise
        if ready != "ready":
            self.close()
            raise RegistryError(f"the prediction-log writer started oddly: {ready!r}")

    def log_predictions(self, rows: Sequence[PredictionRecord]) -> None:
        if rows:
            self._call({"op": "log", "columns": list(zip(*rows, strict=True))})

    def prune_predictions(
        self, *, keep_rows: int | None = None, older_than: datetime | None = None
    ) -> int:
        deleted: int = self._call({"op": "prune", "keep_rows": keep_rows, "older_than": older_than})
        return deleted

    def close(self, timeout: float = 30.0) -> None:
        """Close the child's stdin (it finishes the request it has, then exits) and wait."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("prediction-log writer did not exit in %.0f s: killed", timeout)
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _call(self, request: dict[str, Any]) -> Any:
        if self._process is None or self._process.poll() is not None:
            self._restart()
        try:
            write_frame(self._pipe("stdin"), orjson.dumps(request))
        except OSError as error:  # the child died between the check and the write
            raise RegistryError(f"the prediction-log writer is gone: {error}") from None
        return self._reply()

    def _restart(self) -> None:
        """Start the child again, unless the last start failed less than the back-off ago."""
        wait = self._next_start - self.clock()
        if wait > 0:
            raise RegistryError(f"the prediction-log writer is down: next start in {wait:.1f} s")
        code = None if self._process is None else self._process.returncode
        log.warning("prediction-log writer not running (exit %s): starting it", code)
        self.close()
        try:
            self.start()
        except RegistryError:
            self._backoff = min(MAX_BACKOFF, max(FIRST_BACKOFF, 2 * self._backoff))
            self._next_start = self.clock() + self._backoff
            raise
        self._backoff = 0.0

    def _reply(self) -> Any:
        frame = read_frame(self._pipe("stdout"))
        if frame is None:
            assert self._process is not None
            code = self._process.wait(10.0)
            raise RegistryError(f"the prediction-log writer exited (exit {code})")
        reply = orjson.loads(frame)
        if "error" in reply:
            raise RegistryError(f"prediction log: {reply['error']}")
        return reply["ok"]

    def _pipe(self, name: str) -> IO[bytes]:
        assert self._process is not None
        pipe: IO[bytes] | None = getattr(self._process, name)
        assert pipe is not None
        return pipe
