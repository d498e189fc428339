"""Atomic file writes: write a temporary file in the target's folder, fsync, rename.

A reader (or a process that crashed mid-write) never sees a half-written file: it sees the old
content or the new one. Temporary files start with ``.tmp-`` so cleanup code can find leftovers.
The files are ``0600`` (``mkstemp``'s mode, kept by the rename): see :mod:`lifelong.core.private`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


def _write_temporary(folder: Path, data: bytes) -> str:
    """A durable ``.tmp-*`` file in ``folder`` holding ``data``; its name."""
    fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return tmp_name


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (file and folder fsynced).

    Raises
    ------
    StorageError
        The disk is full or read-only; the temporary file is removed, ``path`` is unchanged.
    """
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_name = _write_temporary(path.parent, data)
        try:
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)


def atomic_create_bytes(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists; never overwrites. True if created.

    The complete file is hard-linked into place, and a link fails if the name is taken, so
    of processes racing to create it exactly one wins and no reader ever sees it half-written
    (``O_EXCL`` alone would show the winner's file empty until it is written).
    """
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_name = _write_temporary(path.parent, data)
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return False
        finally:
            Path(tmp_name).unlink(missing_ok=True)
        fsync_dir(path.parent)
        return True


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_folder(dest: Path) -> Iterator[Path]:
    """Fill a temporary folder beside ``dest``, then rename it to ``dest`` in one step.

    ``dest`` must be missing or an empty folder (callers check and say so). Readers see no
    folder or the whole one; on any failure the temporary folder is removed and ``dest`` is
    left as it was.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=dest.parent))
    try:
        yield tmp
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
