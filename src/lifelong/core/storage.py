"""The disk's refusals to write, as errors that say which path and what to do.

A full disk, a quota, a read-only mount or missing permissions otherwise reach the user as an
``OSError`` traceback from deep inside a copy or an append. Every writer of the store, the data
and the feedback log wraps its writes in :func:`storage_errors`; the writes themselves are
atomic (:mod:`lifelong.core.atomic`), so a refused write leaves the old content in place.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lifelong.core.errors import StorageError

FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})

_SPACE_HINT = (
    "free space on that disk (or point store.url, store.artifacts or the data folders at "
    "another one) and run the command again; nothing was half-written"
)
READ_ONLY_HINT = (
    "writing commands (train, update, models promote/rm/gc, data snapshot, serving's "
    "/feedback) need write access there; read-only commands (models list/show, lineage, "
    "history, data validate, serve) work as it is"
)


def refusal(error: OSError, path: Path | str) -> StorageError | None:
    """The :class:`StorageError` for a write to ``path`` the disk refused; ``None`` for any
    other ``OSError`` (a bug or a missing file, which keep their own message)."""
    if error.errno in FULL:
        what = "the disk is full" if error.errno == errno.ENOSPC else "the disk quota is exceeded"
        return StorageError(f"cannot write {path}: {what}", hint=_SPACE_HINT)
    if error.errno in READ_ONLY:
        what = "read-only file system" if error.errno == errno.EROFS else "permission denied"
        return StorageError(f"cannot write {path}: {what}", hint=READ_ONLY_HINT)
    return None


def require_writable(path: Path) -> None:
    """Raise the :class:`StorageError` a write to ``path`` would meet, before starting one
    (for writers such as SQLite whose own refusal would not say which file or why)."""
    if not os.access(path, os.W_OK):
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
        translated = refusal(OSError(errno.EROFS if read_only else errno.EACCES, ""), path)
        assert translated is not None, "EROFS and EACCES are refusals"
        raise translated


@contextmanager
def storage_errors(path: Path | str) -> Iterator[None]:
    """Turn a refused write inside the block into a :class:`StorageError` naming ``path``."""
    try:
        yield
    except OSError as error:
        translated = refusal(error, path)
        if translated is None:
            raise
        raise translated from error
