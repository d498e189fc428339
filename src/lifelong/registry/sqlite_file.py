"""The registry's SQLite file: created whole, opened read-only for readers, refused when empty.

SQLite takes an empty (0-byte) file for a new database, and ``sqlite3.connect`` creates one
before writing anything, so a registry file emptied by a failing disk or a careless copy used to
become an empty registry without a word, and the next update trained a different "1.0" over the
old artifacts. To tell "new" from "lost", lifelong creates the file whole: an empty database in
WAL mode is written to a temporary file and linked into place (atomic, and it fails if another
process won), so a file lifelong created is never empty and a 0-byte file is always damage.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from pathlib import Path

from lifelong.core.atomic import TMP_PREFIX, fsync_dir
from lifelong.core.errors import RegistryError, StorageError
from lifelong.core.storage import READ_ONLY_HINT, require_writable, storage_errors

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 60.0
"""How long a connection waits for another process's lock before failing."""


def damaged_hint(path: Path) -> str:
    """What to do about a registry file that is not a usable registry."""
    return (
        f"restore {path.name} from a backup; to really start a new registry, delete {path} "
        "(the next lifelong command creates an empty one; the artifacts folder must be empty "
        "too)"
    )


def ensure_database_file(path: Path) -> None:
    """Create an empty registry database at ``path`` unless a file is there; check that one is.

    Raises
    ------
    RegistryError
        The file is empty (0 bytes) or not an SQLite database.
    StorageError
        The file (or its folder) cannot be read, written or created: permissions, a
        read-only or a full disk.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        with storage_errors(path):
            _create(path)
        return
    except PermissionError:
        raise StorageError(f"cannot read {path}: permission denied", hint=READ_ONLY_HINT) from None
    if not head:
        raise RegistryError(
            f"registry database {path} is empty (0 bytes): it was emptied or cut, not created "
            "by lifelong, and opening it would start a registry with no versions",
            hint=damaged_hint(path),
        )
    if head != SQLITE_HEADER:
        raise RegistryError(
            f"registry database {path} is not an SQLite database (damaged or another file)",
            hint=damaged_hint(path),
        )
    require_writable(path)
    require_writable(path.parent)  # WAL keeps two files beside the database


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # SQLite creates the temporary file itself, with the permissions it gives any database
    name = path.parent / f"{TMP_PREFIX}{secrets.token_hex(8)}-{path.name}"
    try:
        connection = sqlite3.connect(name)
        try:
            connection.execute("PRAGMA journal_mode = WAL")  # writes the header: never 0 bytes
        finally:
            connection.close()
        with open(name, "rb+") as handle:
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: theirs will do
            os.link(name, path)
        fsync_dir(path.parent)
    finally:
        name.unlink(missing_ok=True)


def connect_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection that cannot write ``path`` nor create anything beside it where it may not.

    ``mode=ro`` in general; ``immutable=1`` where the folder is not writable and holds no
    ``-shm`` file: reading a WAL database needs that shared-memory file, SQLite cannot create
    it there, and no writer can be at work in a folder nobody can write.
    """
    shm = path.with_name(path.name + "-shm")
    immutable = not os.access(path.parent, os.W_OK) and not shm.exists()
    uri = f"{path.resolve().as_uri()}?{'immutable=1' if immutable else 'mode=ro'}"
    return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
