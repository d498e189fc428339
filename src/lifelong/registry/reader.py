"""The registry as the read commands see it: versions, aliases, lineage, cycles; no writes.

:class:`RegistryReader` resolves labels and aliases and walks the lineage over any
:class:`ReadStore`; :class:`~lifelong.registry.registry.Registry` is one that also writes.
:func:`open_reader` opens an SQLite store with the standard library alone (see
:mod:`lifelong.registry.sqlite_reader`) and anything else as a read-only :class:`Registry`, so
``models list`` and its kin start without importing SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from lifelong.core.errors import NotFound
from lifelong.registry import lineage
from lifelong.registry.entities import ModelVersion, is_version_label
from lifelong.registry.sqlite_reader import open_sqlite_reader
from lifelong.registry.store import ReadStore


def open_reader(url: str, artifacts_dir: Path) -> RegistryReader:
    """The registry at ``url`` opened for reading only.

    An SQLite file at this code's schema is read through sqlite3; any other store (PostgreSQL,
    or an SQLite file that is new, older, newer or damaged) is opened as
    ``open_registry(url, artifacts_dir, read_only=True)`` opens it, with the same errors.
    """
    reader = open_sqlite_reader(url)
    if reader is not None:
        return RegistryReader(reader)
    from lifelong.registry.registry import open_registry  # SQLAlchemy: only when needed

    return open_registry(url, artifacts_dir, read_only=True)


class RegistryReader:
    """Versions, aliases, lineage and cycles of one project, read from ``store``."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    def resolve(self, ref: str) -> ModelVersion:
        """The version named by a label (``1.2``) or an alias (``champion``)."""
        if is_version_label(ref):
            return self.store.get_version(ref)
        label = self.store.aliases().get(ref)
        if label is None:
            raise NotFound(
                f"{ref!r} is neither a version (MAJOR.MINOR) nor an alias",
                hint="`lifelong models list` shows versions and aliases",
            )
        return self.store.get_version(label)

    def versions(self, *, include_deleted: bool = False) -> list[ModelVersion]:
        """Versions in (major, minor) order, without ``rm``-ed tombstones unless asked."""
        found = self.store.list_versions()
        return found if include_deleted else [v for v in found if v.status != "deleted"]

    def ancestors(self, ref: str) -> list[ModelVersion]:
        return lineage.ancestors(self.store.list_versions(), self.resolve(ref).label)

    def descendants(self, ref: str) -> list[ModelVersion]:
        return lineage.descendants(self.store.list_versions(), self.resolve(ref).label)

    def tree(self, ref: str | None = None) -> list[lineage.LineageNode]:
        label = None if ref is None else self.resolve(ref).label
        return lineage.tree(self.store.list_versions(), label)
