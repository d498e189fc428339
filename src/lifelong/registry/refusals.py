"""The database's refusals (a full disk, a read-only file, damaged pages) as clear errors.

One translation for both ways the registry talks to its database: the SQLAlchemy engines (see
:mod:`lifelong.registry.engine`) and the standard-library reader of the read commands (see
:mod:`lifelong.registry.sqlite_reader`). Only the standard library is imported here.
"""

from __future__ import annotations

from pathlib import Path

from lifelong.core.errors import LifelongError, RegistryError, StorageError
from lifelong.core.storage import READ_ONLY_HINT
from lifelong.registry.sqlite_file import damaged_hint


def refusal(error: BaseException, where: str) -> LifelongError | None:
    """The clear error for a driver's ``error`` on the database ``where``; ``None`` for others.

    ``error`` is what the driver raised (sqlite3's errors carry ``sqlite_errorname``,
    psycopg's ``sqlstate``); errors that are no refusal of the storage are left to the caller.
    """
    name = getattr(error, "sqlite_errorname", "")
    state = getattr(error, "sqlstate", None)
    if name.startswith("SQLITE_FULL") or state == "53100":
        return StorageError(
            f"cannot write the registry database {where}: the disk is full; the "
            "transaction was rolled back, the registry is unchanged",
            hint="free space on that disk (or move the store) and run the command again",
        )
    if name.startswith("SQLITE_READONLY") or state == "25006":
        return StorageError(
            f"cannot write the registry database {where}: it is read-only here",
            hint=READ_ONLY_HINT,
        )
    if name.startswith("SQLITE_IOERR"):
        return StorageError(
            f"the disk failed a read or write of the registry database {where} ({name})",
            hint="check that disk (full? failing? unmounted?) and run the command again",
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return RegistryError(
            f"registry database {where} is damaged: {error}", hint=damaged_hint(Path(where))
        )
    return None
