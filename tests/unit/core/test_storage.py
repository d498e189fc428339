"""A full or read-only disk is a clear error naming the path, and leaves nothing half-written."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from lifelong.core.atomic import atomic_write_text
from lifelong.core.errors import StorageError
from lifelong.core.storage import refusal, storage_errors


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EDQUOT, "the disk quota is exceeded"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_an_atomic_write_the_disk_refuses_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, said: str
) -> None:
    target = tmp_path / "data" / "file.jsonl"
    atomic_write_text(target, "old\n")

    def refused(_fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", refused)
    with pytest.raises(StorageError, match=f"cannot write {target}: {said}") as caught:
        atomic_write_text(target, "new\n")
    assert caught.value.hint
    assert target.read_text() == "old\n"
    assert [p.name for p in target.parent.iterdir()] == ["file.jsonl"]  # temp file removed


def test_other_os_errors_keep_their_own_message(tmp_path: Path) -> None:
    assert refusal(OSError(errno.ENOENT, "gone"), tmp_path) is None
    with pytest.raises(FileNotFoundError), storage_errors(tmp_path):
        (tmp_path / "missing" / "x").read_text()
