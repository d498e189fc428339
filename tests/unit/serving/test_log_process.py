"""The prediction log's writer process: rows round-trip exactly, failures are reported, a dead
child is replaced, and a server whose writer cannot start logs from its own thread."""

from __future__ import annotations

import io
import logging
import os
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lifelong.config import Server
from lifelong.core.errors import RegistryError
from lifelong.registry import PredictionRecord, open_registry
from lifelong.registry.log_writer import read_frame, write_frame
from lifelong.serving import log_process
from lifelong.serving.log_process import LogWriterProcess, separate_process_possible
from lifelong.serving.services import _start_log_writer
from lifelong.serving.settings import ServeSettings

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _rows(start: int, count: int) -> list[PredictionRecord]:
    return [
        PredictionRecord(
            prediction_id=str(uuid.UUID(int=n)),
            at=T0 + timedelta(seconds=n // 3),  # several rows per time, as a batch's share one
            text_hash=f"{n:064x}",
            version="1.0",
            intent="alarm" if n % 2 else "météo ☀",
            confidence=1 / (n + 3),
            latency_ms=0.1 + n,
            text=None if n % 3 else f"text {n} ünïcode",
            shadow_of=None if n % 4 else str(uuid.UUID(int=n + 10_000)),
            value=None if n % 5 else n / 7 - 2.5,  # a regression model's number, or none
        )
        for n in range(start, start + count)
    ]


@pytest.fixture
def writer(store_url: str, tmp_path: Path) -> Iterator[LogWriterProcess]:
    open_registry(store_url, tmp_path / "artifacts").close()  # the server migrates first
    process = LogWriterProcess(store_url, tmp_path / "artifacts")
    process.start()
    yield process
    process.close()


def _logged(store_url: str, tmp_path: Path) -> list[PredictionRecord]:
    with open_registry(store_url, tmp_path / "artifacts") as registry:
        return registry.store.recent_predictions()


def test_rows_round_trip_exactly_and_retention_runs_in_the_child(
    writer: LogWriterProcess, store_url: str, tmp_path: Path
) -> None:
    rows = _rows(0, 30)
    writer.log_predictions(rows[:20])
    writer.log_predictions(rows[20:])
    writer.log_predictions([])
    assert _logged(store_url, tmp_path) == rows  # times, floats, None and Unicode unchanged
    assert writer.prune_predictions(keep_rows=10) == 20
    assert writer.prune_predictions(older_than=T0 + timedelta(seconds=9)) == 7
    assert _logged(store_url, tmp_path) == rows[27:]


def test_a_store_error_is_reported_and_the_child_goes_on(
    writer: LogWriterProcess, store_url: str, tmp_path: Path
) -> None:
    writer.log_predictions(_rows(0, 2))
    with pytest.raises(RegistryError, match="prediction log: "):
        writer.log_predictions(_rows(1, 2))  # id 1 again: the unique index refuses the batch
    writer.log_predictions(_rows(5, 1))
    assert [r.prediction_id for r in _logged(store_url, tmp_path)] == [
        str(uuid.UUID(int=n)) for n in (0, 1, 5)
    ]


def test_a_killed_child_is_replaced_at_the_next_call(
    writer: LogWriterProcess, store_url: str, tmp_path: Path
) -> None:
    writer.log_predictions(_rows(0, 1))
    assert writer._process is not None
    os.kill(writer._process.pid, signal.SIGKILL)
    writer._process.wait()
    writer.log_predictions(_rows(1, 1))
    assert len(_logged(store_url, tmp_path)) == 2


def test_failed_starts_back_off_instead_of_retrying_every_flush(tmp_path: Path) -> None:
    now = [100.0]
    writer = LogWriterProcess(
        "postgresql+psycopg://127.0.0.1:1/test", tmp_path / "artifacts", clock=lambda: now[0]
    )
    starts: list[float] = []
    start = writer.start

    def counted() -> None:
        starts.append(now[0])
        start()

    writer.start = counted  # type: ignore[method-assign]
    for _ in range(3):  # a failed start, then two fast failures within the back-off
        with pytest.raises(RegistryError):
            writer.log_predictions(_rows(0, 1))
    assert starts == [100.0]
    now[0] += log_process.FIRST_BACKOFF
    for _ in range(2):
        with pytest.raises(RegistryError):
            writer.log_predictions(_rows(0, 1))
    assert starts == [100.0, 101.0]  # one more start, and the next back-off is twice as long
    now[0] += 2 * log_process.FIRST_BACKOFF - 0.1
    with pytest.raises(RegistryError, match=r"next start in 0\.1 s"):
        writer.log_predictions(_rows(0, 1))
    assert len(starts) == 2


def test_the_child_ignores_sigterm_and_exits_when_its_input_closes(
    writer: LogWriterProcess, store_url: str, tmp_path: Path
) -> None:
    process = writer._process
    assert process is not None
    process.send_signal(signal.SIGTERM)  # what a service manager sends the process group
    writer.log_predictions(_rows(0, 3))  # the server's last flush still lands
    writer.close()
    assert process.returncode == 0
    assert len(_logged(store_url, tmp_path)) == 3


def test_a_writer_that_cannot_start_leaves_the_log_to_the_server_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed = "postgresql+psycopg://127.0.0.1:1/test"  # nothing listens on port 1
    with pytest.raises(RegistryError, match="cannot open the registry"):
        LogWriterProcess(closed, tmp_path / "artifacts").start()
    settings = ServeSettings(store_url=closed, artifacts_dir=tmp_path / "artifacts")
    with caplog.at_level(logging.ERROR):
        assert _start_log_writer(settings) is None
    assert "writing it from the server's own thread" in caplog.text
    off = ServeSettings(
        store_url=f"sqlite:///{tmp_path / 'r.db'}",
        artifacts_dir=tmp_path / "artifacts",
        server=Server(log_process=False),
    )
    assert _start_log_writer(off) is None


def test_in_memory_sqlite_cannot_be_shared_with_a_child() -> None:
    assert not separate_process_possible("sqlite://")
    assert not separate_process_possible("sqlite:///:memory:")
    assert separate_process_possible("sqlite:///state/registry.db")
    assert separate_process_possible("postgresql+psycopg://127.0.0.1/test")


def test_frames_end_cleanly_at_the_end_or_a_cut_of_the_stream() -> None:
    stream = io.BytesIO()
    write_frame(stream, b'{"op": "log"}')
    write_frame(stream, b"")
    whole = stream.getvalue()
    stream.seek(0)
    assert [read_frame(stream), read_frame(stream), read_frame(stream)] == [
        b'{"op": "log"}',
        b"",
        None,
    ]
    assert read_frame(io.BytesIO(whole[:7])) is None  # a message cut short is not a message
