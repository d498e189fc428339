"""One exception hierarchy for the whole package.

Every error a user can cause derives from :class:`LifelongError`, carries a message that says what
was wrong and where, and optionally a ``hint`` saying what to do. The CLI prints these without a
traceback and exits non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class LifelongError(Exception):
    """Base class of every expected, user-facing error.

    Parameters
    ----------
    message
        What was wrong, and where (file:line, key path, version).
    hint
        What to do about it, e.g. the command that fixes it.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  hint: {self.hint}"


class ConfigError(LifelongError):
    """config.yml (or an override) is missing, malformed or has an unknown key."""


@dataclass(frozen=True)
class Problem:
    """One finding of data validation, located as precisely as the format allows.

    ``severity`` is ``"error"`` (blocks any write) or ``"warning"`` (reported, data still used).
    """

    severity: str
    code: str
    message: str
    source: str | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        if self.source is None:
            return "-"
        return self.source if self.line is None else f"{self.source}:{self.line}"

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message} [{self.code}]"


class DataError(LifelongError):
    """A data file cannot be read at all (missing path, unknown format, unreadable bytes)."""


class ValidationFailed(DataError):
    """Validation found errors; nothing was written. ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem], *, hint: str | None = None) -> None:
        errors = [p for p in problems if p.severity == "error"]
        shown = "\n".join(f"  {p}" for p in errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(
            f"data validation failed with {len(errors)} error(s):\n{shown}{more}", hint=hint
        )
        self.problems = problems


class RegistryError(LifelongError):
    """The model registry cannot do what was asked."""


class NotFound(RegistryError):
    """A version, alias, snapshot or artifact does not exist."""


class AlreadyExists(RegistryError):
    """Something that must be unique exists already."""


class SchemaMismatch(RegistryError):
    """The store's schema is newer than this code (or otherwise unusable)."""


class ArtifactCorrupt(RegistryError):
    """An artifact on disk is missing or its sha256 does not match the manifest."""


class StorageError(LifelongError):
    """The disk refused a write: it is full, over quota, read-only or not ours to write."""


class IncompatibleModel(LifelongError):
    """A model cannot be fine-tuned into the requested configuration."""


class LockHeld(LifelongError):
    """Another process holds the project's lock (e.g. a training cycle is running)."""

    exit_code = 3


class PortInUse(LifelongError):
    """``lifelong serve`` cannot listen: another process holds the address and port."""

    exit_code = 4


class NoChampion(LifelongError):
    """``lifelong serve`` has nothing to serve: no version is the champion yet."""

    exit_code = 5
