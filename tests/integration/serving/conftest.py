"""A real ``lifelong serve`` process on 127.0.0.1 over a project with trained models.

Each :class:`ServerProcess` (the library's, see ``lifelong.serving.process``) runs the CLI in
a subprocess on a free port and waits for ``/ready``. Without uvicorn the tests are skipped,
except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from lifelong.core.errors import LifelongError
from lifelong.registry import Registry
from lifelong.serving import process

pytestmark = pytest.mark.integration

SRC = Path(__file__).resolve().parents[3] / "src"
TOKEN = "integration-token"
FEEDBACK_TOKEN = "integration-feedback-token"


@pytest.fixture(scope="session", autouse=True)
def _server_stack() -> None:
    try:
        import uvicorn  # noqa: F401
    except ImportError as error:
        if os.environ.get("CI"):
            pytest.fail(f"uvicorn missing: cannot start a server ({error})")
        pytest.skip(f"uvicorn missing: {error}")


class ServerProcess(process.ServerProcess):
    """The library's server process with what the tests need besides: the working tree's
    source, the admin token (``token``, None for none), the feedback token, output appended to
    ``server.log`` (and shown when the server fails to start), SIGKILL, and other CLI commands
    on the project."""

    def __init__(self, project: Path, *args: str, token: str | None = TOKEN) -> None:
        token_env = {} if token is None else {"LIFELONG_ADMIN_TOKEN": token}
        token_env["LIFELONG_FEEDBACK_TOKEN"] = FEEDBACK_TOKEN
        super().__init__(project, args=args, env={"PYTHONPATH": str(SRC), **token_env})
        if token is None:
            self.env.pop("LIFELONG_ADMIN_TOKEN", None)  # not even from the test's environment
        self.token = token
        self.log = project / "server.log"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run another ``lifelong`` command on the same project."""
        command = [sys.executable, "-m", "lifelong.cli.main", "--project", str(self.project)]
        return subprocess.run(
            [*command, *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def start(self, timeout: float = 60.0) -> ServerProcess:
        with self.log.open("ab") as log:  # the child keeps its own handle on it
            self.output = log
            try:
                super().start(timeout)
            except LifelongError as error:
                pytest.fail(f"{error}:\n{self.log.read_text(errors='replace')[-4000:]}")
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what is on disk is all that survives."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

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


@pytest.fixture(scope="module")
def fuzzed_server(
    tmp_path_factory: pytest.TempPathFactory, served_registry: Callable[[str, Path], Registry]
) -> Iterator[ServerProcess]:
    """A server for generated requests: limits they reach quickly (texts of 200 characters,
    64 kB bodies) and a feedback rate they cannot (so 429 is not all they see)."""
    folder = tmp_path_factory.mktemp("fuzzed")
    url = f"sqlite:///{folder / 'reg.db'}"
    make_project(
        folder,
        url,
        max_text_chars=200,
        max_body_bytes=65_536,
        feedback_rate=1_000_000,
        feedback_burst=1_000_000,
    )
    served_registry(url, folder / "artifacts").close()
    server = ServerProcess(folder).start()
    yield server
    server.stop()
