"""``lifelong serve`` in a subprocess on a free loopback port: for demos, scripts and tests.

Production runs ``lifelong serve`` under a supervisor; this is the same command started from
Python, waited on until ``/ready``, and stopped with SIGTERM (a graceful uvicorn shutdown).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from lifelong.core.errors import LifelongError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """A running ``lifelong --project ROOT serve --port PORT [ARGS]``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Parameters
    ----------
    project
        The project folder.
    args
        Extra ``serve`` arguments, e.g. ``["--shadow", "challenger"]``.
    output
        Where the server's stdout and stderr go (default: discarded).
    env
        Environment variables set for the server on top of this process's own (e.g. the
        admin token).
    """

    def __init__(
        self,
        project: Path,
        *,
        args: tuple[str, ...] = (),
        output: IO[Any] | int = subprocess.DEVNULL,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.project = project
        self.args = args
        self.output = output
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> ServerProcess:
        """Start the server and wait until ``/ready`` answers 200."""
        command = [
            sys.executable, "-m", "lifelong.cli.main", "--project", str(self.project),
            "serve", "--port", str(self.port), *self.args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=self.output, stderr=self.output, env=self.env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LifelongError(
                    f"the server exited at start-up (exit {self.process.returncode})"
                )
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise LifelongError(f"the server did not become ready in {timeout:.0f} s")

    def post(
        self, path: str, payload: dict[str, Any], *, token: str | None = None
    ) -> dict[str, Any]:
        """POST JSON (with ``token`` as the bearer token) and return the JSON answer; a non-2xx
        answer raises."""
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        answer = httpx.post(f"{self.url}{path}", json=payload, headers=headers, timeout=10)
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    def wait_for_version(self, version: str, timeout: float = 30.0) -> None:
        """Wait until ``/predict`` answers with ``version`` (the server follows the alias)."""
        deadline = time.monotonic() + timeout
        while self.post("/predict", {"text": "hello"}).get("version") != version:
            if time.monotonic() > deadline:
                raise LifelongError(f"the server did not switch to version {version}")
            time.sleep(0.1)

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM, wait; ``True`` when it shut down cleanly (uvicorn re-raises the signal
        after a graceful shutdown, so ``-SIGTERM`` counts as clean)."""
        if self.process is None:
            return True
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code in (0, -signal.SIGTERM)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
