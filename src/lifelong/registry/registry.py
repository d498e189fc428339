"""The registry as the pipeline and the CLI use it: records and artifacts kept in step.

:class:`Registry` pairs a :class:`RegistryStore` (records) with an :class:`ArtifactStore`
(files) and orders every operation so a crash leaves no record pointing at a missing file: an
artifact is written before its version is recorded, and a version is marked pruned or deleted
before its artifact is removed. The worst a crash leaves is an unreferenced artifact.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from lifelong.core.errors import RegistryError
from lifelong.core.types import Example, FileManifest
from lifelong.registry.artifacts import ArtifactStore
from lifelong.registry.engine import create_registry_engine, sqlite_path
from lifelong.registry.entities import (
    AliasGuard,
    AliasMove,
    EdgeKind,
    ModelVersion,
    SetKind,
    SnapshotInfo,
    VersionSpec,
    is_version_label,
)
from lifelong.registry.migrate import current_revision, head_revision, upgrade
from lifelong.registry.reader import RegistryReader
from lifelong.registry.sqlalchemy_store import SqlAlchemyStore
from lifelong.registry.store import RegistryStore


def open_registry(url: str, artifacts_dir: Path, *, read_only: bool = False) -> Registry:
    """Open (creating or migrating as needed) the registry at ``url`` with its artifacts folder.

    ``read_only`` is for commands that only read (``models list``, ``serve``...): a store
    that exists at this code's schema is opened without writing anything, so it works on
    read-only storage; one that does not (new, or older) is opened as a writer opens it.

    Raises
    ------
    SchemaMismatch
        The database was written by a newer lifelong.
    RegistryError
        The database cannot be reached, is damaged or empty, or is not a lifelong registry;
        or it is new while the artifacts folder holds bundles (the database was lost).
    StorageError
        The store cannot be written (read-only or full disk) and had to be.
    """
    if read_only:
        opened = _open_read_only(url, artifacts_dir)
        if opened is not None:
            return opened
    engine = create_registry_engine(url)
    with _disposed_on_error(engine, url):
        _refuse_lost_database(engine, url, artifacts_dir)
        upgrade(engine)
        artifacts = ArtifactStore(artifacts_dir)
    return Registry(SqlAlchemyStore(engine), artifacts)


def _open_read_only(url: str, artifacts_dir: Path) -> Registry | None:
    """The registry opened without writing, or ``None`` when it must be created or migrated."""
    database = sqlite_path(url)
    if database is not None and not database.exists():
        return None
    engine = create_registry_engine(url, read_only=True)
    with _disposed_on_error(engine, url):
        current = current_revision(engine)
    if current != head_revision():
        engine.dispose()
        return None
    return Registry(SqlAlchemyStore(engine), ArtifactStore(artifacts_dir, read_only=True))


@contextmanager
def _disposed_on_error(engine: Engine, url: str) -> Iterator[None]:
    """Close ``engine`` when opening fails; an unreachable server is a clear error."""
    try:
        yield
    except OperationalError as error:
        engine.dispose()
        raise _unreachable(url, error) from None
    except BaseException:
        engine.dispose()
        raise


def _unreachable(url: str, error: OperationalError) -> RegistryError:
    shown = make_url(url).render_as_string(hide_password=True)
    return RegistryError(
        f"cannot open the registry at {shown}: {error.orig}",
        hint="check store.url in config.yml (or LIFELONG_STORE_URL) and that the server runs",
    )


def _refuse_lost_database(engine: Engine, url: str, artifacts_dir: Path) -> None:
    """Refuse a database with no registry in it next to an artifacts folder holding bundles.

    That is a registry whose database was lost (deleted, emptied, or ``store.url`` pointed
    elsewhere): opening it would start numbering at 1.0 again over the old artifacts.
    """
    if current_revision(engine) is not None:
        return
    bundles = ArtifactStore(artifacts_dir, read_only=True).ids()
    if bundles:
        shown = make_url(url).render_as_string(hide_password=True)
        raise RegistryError(
            f"the registry database {shown} is new or empty, but the artifacts folder "
            f"{artifacts_dir} holds {len(bundles)} model bundle(s): the database was lost, "
            "or store.url points at another one",
            hint="restore the database from a backup (or fix store.url / LIFELONG_STORE_URL); "
            f"to really start a new registry, move {artifacts_dir} away or point "
            "store.artifacts at an empty folder",
        )


class Registry(RegistryReader):
    """Versions, lineage, aliases, snapshots and artifacts of one project."""

    store: RegistryStore

    def __init__(self, store: RegistryStore, artifacts: ArtifactStore) -> None:
        super().__init__(store)
        self.artifacts = artifacts

    # -- data -----------------------------------------------------------------------------

    def put_snapshot(
        self, examples: Sequence[Example], *, parent: str | None = None
    ) -> SnapshotInfo:
        """Store the examples a version is trained on; the same content gives the same id."""
        return self.store.put_snapshot(examples, parent=parent)

    def put_file_snapshot(
        self, files: Sequence[FileManifest], *, parent: str | None = None
    ) -> SnapshotInfo:
        """Store the files a streamed training read (large data: a manifest per file, not its
        rows); the same files give the same id."""
        return self.store.put_file_snapshot(files, parent=parent)

    def get_snapshot_files(self, snapshot_id: str) -> list[FileManifest]:
        """The files of a snapshot of large data (none for a snapshot of examples)."""
        return self.store.get_snapshot_files(snapshot_id)

    def get_snapshot_examples(self, snapshot_id: str) -> list[Example]:
        """The examples of a snapshot: "which examples trained 1.3?"."""
        return self.store.get_snapshot_examples(snapshot_id)

    def get_snapshot_labels(self, snapshot_id: str) -> dict[str, str]:
        """Example hash -> label of a snapshot's examples, none decoded (see
        :func:`~lifelong.registry.sql_snapshots.get_snapshot_labels`)."""
        return self.store.get_snapshot_labels(snapshot_id)

    def get_examples(self, hashes: Collection[str]) -> list[Example]:
        """The stored examples of ``hashes``, ordered by hash (unknown hashes skipped)."""
        return self.store.get_examples(hashes)

    # -- versions -------------------------------------------------------------------------

    def register(
        self,
        artifact_dir: Path,
        *,
        snapshot_id: str,
        config: dict[str, Any],
        parent: str | None = None,
        edge: EdgeKind | None = None,
        data_diff: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        timings: dict[str, float] | None = None,
        training: dict[str, Any] | None = None,
        notes: str = "",
    ) -> ModelVersion:
        """Store the bundle in ``artifact_dir`` and record a new version of it.

        Without ``parent`` the version opens a new major (a cold training); with it, the
        version is ``parent``'s major with the next free minor and ``edge`` says how it came.
        """
        artifact_id, files = self.artifacts.put(artifact_dir)
        spec = VersionSpec(
            artifact_id=artifact_id,
            artifact_files=files,
            snapshot_id=snapshot_id,
            config=config,
            parent=parent,
            edge=edge,
            data_diff=data_diff or {},
            metrics=metrics or {},
            timings=timings or {},
            training=training or {},
            notes=notes,
        )
        return self.store.create_version(spec)

    def artifact_path(self, ref: str) -> Path:
        """The verified artifact folder of a version or alias.

        Raises
        ------
        ArtifactCorrupt
            The artifact is missing or damaged (the message names the version).
        RegistryError
            The version was pruned or removed, so it has no artifact any more.
        """
        version = self.resolve(ref)
        if version.status != "candidate":
            raise RegistryError(
                f"version {version.label} is {version.status}: its artifact was dropped",
                hint="use another version, or retrain it from its config and snapshot",
            )
        return self.artifacts.get(version.artifact_id, version.label)

    def set_verdict(self, ref: str, verdict: dict[str, Any]) -> ModelVersion:
        """Record the gate's verdict on a version."""
        return self.store.set_verdict(self.resolve(ref).label, verdict)

    def update_metrics(self, ref: str, metrics: dict[str, Any]) -> ModelVersion:
        """Merge evaluation results computed after registration."""
        return self.store.update_metrics(self.resolve(ref).label, metrics)

    # -- aliases --------------------------------------------------------------------------

    def set_alias(
        self,
        name: str,
        ref: str,
        *,
        reason: str,
        command: str,
        kind: SetKind = "set",
        guard: AliasGuard | None = None,
    ) -> AliasMove:
        """Point alias ``name`` at a version (a label or another alias); recorded in history.

        This is the raw move: the champion's rules (verdict, artifact, no-op) live in
        :func:`lifelong.registry.promotion.promote`, which every door calls.
        """
        if is_version_label(name):
            raise RegistryError(f"alias {name!r} looks like a version; pick a name with letters")
        label = self.resolve(ref).label
        return self.store.set_alias(
            name, label, reason=reason, command=command, kind=kind, guard=guard
        )

    def rollback(self, name: str = "champion", *, reason: str, command: str) -> AliasMove:
        """Move ``name`` back to the version it held before its latest promotion."""
        return self.store.rollback(name, reason=reason, command=command)

    # -- removal --------------------------------------------------------------------------

    def remove(self, ref: str, *, force: bool = False, command: str) -> ModelVersion:
        """Remove a version: drop its artifact and keep a ``deleted`` tombstone.

        The tombstone keeps the number from being reused and its descendants' lineage whole.
        A version with an alias or live descendants is refused unless ``force``; forcing
        removes its aliases (recorded moves).
        """
        version = self.resolve(ref)
        if version.status == "deleted":
            raise RegistryError(f"version {version.label} is already removed")
        held = sorted(n for n, label in self.store.aliases().items() if label == version.label)
        live = [v.label for v in self.descendants(version.label) if v.status != "deleted"]
        if (held or live) and not force:
            why = [f"aliases {', '.join(held)}"] if held else []
            why += [f"descendants {', '.join(live)}"] if live else []
            raise RegistryError(
                f"version {version.label} has {' and '.join(why)}; refusing to remove it",
                hint=f"`lifelong models rm {version.label} --force` removes it anyway",
            )
        for name in held:
            self.store.remove_alias(
                name, reason=f"version {version.label} removed", command=command
            )
        removed = self.store.set_status(version.label, "deleted")
        self._drop_artifact(removed)
        return removed

    def gc(self, keep: int) -> list[ModelVersion]:
        """Prune the artifacts of old unaliased leaves beyond the newest ``keep`` versions.

        Rows and lineage stay (status ``pruned``). Versions an alias ever pointed at are kept
        too, so ``rollback`` always has an artifact to go back to.
        """
        if keep < 0:
            raise RegistryError(f"--keep must be 0 or more, not {keep}")
        versions = self.store.list_versions()
        live = [v for v in versions if v.status != "deleted"]
        newest = sorted(live, key=lambda v: (v.created_at, v.key), reverse=True)[:keep]
        protected = {v.label for v in newest} | set(self.store.aliases().values())
        protected |= {m.to_version for m in self.store.alias_history() if m.to_version}
        parents = {v.parent for v in live}
        pruned = []
        for version in live:
            if version.status == "candidate" and version.label not in protected | parents:
                pruned.append(self.store.set_status(version.label, "pruned"))
                self._drop_artifact(pruned[-1])
        return pruned

    def _drop_artifact(self, version: ModelVersion) -> None:
        """Delete the artifact unless another live version shares it (content addressing)."""
        shared = any(
            v.artifact_id == version.artifact_id and v.status == "candidate"
            for v in self.store.list_versions()
        )
        if not shared:
            self.artifacts.delete(version.artifact_id)

    # -- health ---------------------------------------------------------------------------

    def check(self) -> list[str]:
        """Every consistency problem of records and artifacts (empty when all is well)."""
        problems = self.store.check()
        for version in self.store.list_versions():
            if version.status == "candidate":
                problems += [
                    f"version {version.label}: artifact {p}"
                    for p in self.artifacts.problems(version.artifact_id)
                ]
        return problems
