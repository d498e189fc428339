"""Atomic file writes: write a temporary file in the target's folder, fsync, rename.

A reader (or a process that crashed mid-write) never sees a half-written file: it sees the old
content or the new one. Temporary files start with ``.tmp-`` so cleanup code can find leftovers.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lifelong.core.storage import storage_errors

TMP_PREFIX = ".tmp-"


def fsync_dir(path: Path) -> None:
    """fsync a directory so a rename inside it survives a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (file and folder fsynced).

    Raises
    ------
    StorageError
        The disk is full or read-only; the temporary file is removed, ``path`` is unchanged.
    """
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))
