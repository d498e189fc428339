"""A real ``lifelong serve`` process on 127.0.0.1 over a project with trained models.

Each :class:`ServerProcess` runs the CLI in a subprocess on a free port and waits for
``/ready``. Without uvicorn the tests are skipped, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from lifelong.registry import Registry

pytestmark = pytest.mark.integration

SRC = Path(__file__).resolve().parents[3] / "src"
TOKEN = "integration-token"


@pytest.fixture(scope="session", autouse=True)
def _server_stack() -> None:
    try:
        import uvicorn  # noqa: F401
    except ImportError as error:
        if os.environ.get("CI"):
            pytest.fail(f"uvicorn missing: cannot start a server ({error})")
        pytest.skip(f"uvicorn missing: {error}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """``lifelong --project DIR serve`` in a subprocess; its output goes to ``server.log``."""

    def __init__(self, project: Path, *args: str, token: str | None = TOKEN) -> None:
        self.project = project
        self.args = args
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = project / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        env.pop("LIFELONG_ADMIN_TOKEN", None)
        if self.token is not None:
            env["LIFELONG_ADMIN_TOKEN"] = self.token
        return env

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "lifelong.cli.main", "--project", str(self.project), *args]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run another ``lifelong`` command on the same project."""
        return subprocess.run(
            self._command(*args), env=self._env(), capture_output=True, text=True, timeout=120
        )

    def start(self, timeout: float = 60.0) -> ServerProcess:
        command = self._command("serve", "--port", str(self.port), *self.args)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self._env()
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        pytest.fail(f"server not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what is on disk is all that survives."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_project(folder: Path, store_url: str, **server: object) -> Path:
    """A project folder whose config points at ``store_url`` and polls the alias quickly."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "store": {"url": store_url, "artifacts": str(folder / "artifacts")},
        "server": {"poll_interval": 0.1, "log_flush_ms": 20, "max_batch": 16, **server},
    }
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    return folder


StartServer = Callable[..., ServerProcess]


ServedProject = tuple[Path, Registry]


@contextmanager
def served_project(
    folder: Path, served_registry: Callable[[str, Path], Registry], store_url: str | None = None
) -> Iterator[ServedProject]:
    """A project (SQLite unless ``store_url``) holding 1.0, 1.1, 2.0 (champion 1.0), with its
    open registry."""
    url = store_url or f"sqlite:///{folder / 'reg.db'}"
    make_project(folder, url)
    registry = served_registry(url, folder / "artifacts")
    try:
        yield folder, registry
    finally:
        registry.close()


@pytest.fixture
def project(
    tmp_path: Path, served_registry: Callable[[str, Path], Registry]
) -> Iterator[ServedProject]:
    with served_project(tmp_path / "project", served_registry) as found:
        yield found


@pytest.fixture
def store_project(
    tmp_path: Path, store_url: str, served_registry: Callable[[str, Path], Registry]
) -> Iterator[ServedProject]:
    """Like ``project``, once on SQLite and once on PostgreSQL."""
    with served_project(tmp_path / "project", served_registry, store_url) as found:
        yield found


@pytest.fixture(scope="module")
def shared_server(
    tmp_path_factory: pytest.TempPathFactory, served_registry: Callable[[str, Path], Registry]
) -> Iterator[ServerProcess]:
    """One server for the tests that only read (module-wide, to save start-up time)."""
    with served_project(tmp_path_factory.mktemp("shared"), served_registry) as (folder, _):
        server = ServerProcess(folder).start()
        yield server
        server.stop()


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """``start_server(project_dir, *cli_args, token=...)``: started; stopped after the test."""
    started: list[ServerProcess] = []

    def start(project: Path, *args: str, token: str | None = TOKEN) -> ServerProcess:
        server = ServerProcess(project, *args, token=token).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


WaitFor = Callable[..., None]


def _wait_for(check: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def wait_for() -> WaitFor:
    """``wait_for(check, what, timeout=20)``: poll until ``check()`` is truthy, else fail."""
    return _wait_for
