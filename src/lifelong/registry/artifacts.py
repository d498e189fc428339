"""Content-addressed artifact store on a local folder.

An artifact is a model bundle: a folder of files (safetensors + JSON) the registry treats as
opaque. Its id is the sha256 of a manifest listing every file's sha256 and size, so equal
bundles share one copy and any change of content changes the id. Writes go to a ``.tmp-*``
folder inside the root, are fsynced and then renamed into ``<root>/<id[:2]>/<id>``: a reader, or
a writer killed half-way, never sees a half-written artifact. Every :meth:`ArtifactStore.get`
re-checks all hashes, so a damaged file is a clear error naming the version instead of a crash
deep inside torch or safetensors.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lifelong.core.atomic import TMP_PREFIX, fsync_dir
from lifelong.core.errors import ArtifactCorrupt, NotFound
from lifelong.core.hashing import sha256_bytes, sha256_file
from lifelong.core.private import PRIVATE_FILE, private_dir
from lifelong.core.storage import storage_errors
from lifelong.registry.entities import ArtifactFile

MANIFEST = "registry-manifest.json"
"""Not ``manifest.json``: a bundle may carry its own manifest under that name."""


def _copy_file(src: Path, dst: Path) -> None:
    """Copy one file durably (contents fsynced before the folder is renamed into place)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open("rb") as reader, dst.open("wb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        writer.flush()
        os.fsync(writer.fileno())


def manifest_bytes(files: dict[str, ArtifactFile]) -> bytes:
    """Canonical manifest encoding (sorted, compact): its sha256 is the artifact id."""
    payload = {name: {"sha256": f.sha256, "size": f.size} for name, f in sorted(files.items())}
    return json.dumps({"files": payload}, sort_keys=True, separators=(",", ":")).encode()


def describe_folder(folder: Path) -> dict[str, ArtifactFile]:
    """Hash every file under ``folder`` (relative POSIX paths), the manifest of a bundle."""
    if not folder.is_dir():
        raise NotFound(f"artifact folder {folder} does not exist")
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name == MANIFEST:
            raise ArtifactCorrupt(f"{path}: {MANIFEST} is reserved for the registry's manifest")
        files[name] = ArtifactFile(sha256=sha256_file(path), size=path.stat().st_size)
    if not files:
        raise NotFound(f"artifact folder {folder} holds no files")
    return files


LOCK_FILE = ".lock"
"""Writers hold it shared; cleanup takes it exclusively, so it never removes a live writer's
``.tmp-*`` folder (flock is released by the kernel when a writer dies, even by SIGKILL)."""


@contextlib.contextmanager
def _store_lock(root: Path, mode: int) -> Iterator[bool]:
    """Hold ``root``'s lock in ``mode``; yields False if a non-blocking request was refused."""
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        try:
            fcntl.flock(fd, mode)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextlib.contextmanager
def _tmp_dir(root: Path) -> Iterator[Path]:
    """A fresh ``.tmp-*`` folder inside ``root`` (same file system, so rename is atomic)."""
    with _store_lock(root, fcntl.LOCK_SH):
        tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=root))
        try:
            yield tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # holds only what was not renamed into place


class ArtifactStore:
    """Model bundles by content address under ``root``.

    Parameters
    ----------
    root
        The artifacts folder (created if missing). Crash leftovers are removed on open.
    read_only
        Open without writing anything (no folder created, no leftovers removed, no lock file
        opened), for readers on storage that may be read-only; :meth:`put` and
        :meth:`delete` then fail as the storage does.
    """

    def __init__(self, root: Path, *, read_only: bool = False) -> None:
        self.root = root
        if not read_only:
            with storage_errors(root):
                private_dir(root)  # the bundles hold all a model learnt from the data
                self.clean_tmp()

    def path(self, artifact_id: str) -> Path:
        return self.root / artifact_id[:2] / artifact_id

    def put(self, src_dir: Path) -> tuple[str, dict[str, ArtifactFile]]:
        """Copy the bundle in ``src_dir`` into the store; return its id and manifest.

        Idempotent: putting equal content again returns the same id without copying (and
        repairs a stored copy that was damaged).
        """
        files = describe_folder(src_dir)
        manifest = manifest_bytes(files)
        artifact_id = sha256_bytes(manifest)
        final = self.path(artifact_id)
        if final.exists() and not self.problems(artifact_id):
            return artifact_id, files
        with storage_errors(self.root):  # nothing half-written: the ``.tmp-*`` folder goes
            final.parent.mkdir(parents=True, exist_ok=True)
            with _tmp_dir(self.root) as tmp:
                staged = tmp / "artifact"
                for name in files:
                    _copy_file(src_dir / name, staged / name)
                (staged / MANIFEST).write_bytes(manifest)
                with (staged / MANIFEST).open("rb+") as handle:
                    os.fsync(handle.fileno())
                for folder in {staged, *(p.parent for p in staged.rglob("*"))}:
                    fsync_dir(folder)
                self._install(staged, final, tmp)
        return artifact_id, files

    def _install(self, staged: Path, final: Path, tmp: Path) -> None:
        if final.exists():  # damaged copy: move it aside, it is deleted with ``tmp``
            with contextlib.suppress(FileNotFoundError):
                final.rename(tmp / "damaged")
        try:
            staged.rename(final)
        except OSError:
            if not final.exists():
                raise
            # a concurrent put of equal content won the rename; ours is a duplicate
        fsync_dir(final.parent)

    def problems(self, artifact_id: str) -> list[str]:
        """What is wrong with a stored artifact (empty when intact)."""
        folder = self.path(artifact_id)
        try:
            manifest = (folder / MANIFEST).read_bytes()
        except FileNotFoundError:
            what = "missing" if not folder.exists() else f"incomplete ({MANIFEST} missing)"
            return [f"{what}: {folder}"]
        if sha256_bytes(manifest) != artifact_id:
            return [f"{MANIFEST} sha256 mismatch in {folder}"]
        found = []
        for name, expected in json.loads(manifest)["files"].items():
            path = folder / name
            if not path.is_file():
                found.append(f"{name} is missing")
            elif path.stat().st_size != expected["size"] or sha256_file(path) != expected["sha256"]:
                found.append(f"{name} sha256 mismatch")
        return found

    def get(self, artifact_id: str, version_label: str | None = None) -> Path:
        """The verified folder of ``artifact_id``.

        Raises
        ------
        ArtifactCorrupt
            The folder is missing or a file's size or sha256 differs from the manifest.
        """
        found = self.problems(artifact_id)
        if found:
            owner = f"version {version_label}" if version_label else f"artifact {artifact_id}"
            raise ArtifactCorrupt(
                f"artifact of {owner} is corrupt: {'; '.join(found)}",
                hint=(
                    "restore the artifacts folder from a backup, or retrain that version; "
                    + (f"`lifelong models rm {version_label} --force` " if version_label else "")
                    + "drops the broken record"
                ),
            )
        return self.path(artifact_id)

    def delete(self, artifact_id: str) -> None:
        """Remove an artifact: renamed away first, so it disappears atomically."""
        folder = self.path(artifact_id)
        if not folder.exists():
            return
        with (
            storage_errors(self.root),
            _tmp_dir(self.root) as tmp,
            contextlib.suppress(FileNotFoundError),
        ):
            folder.rename(tmp / "deleted")

    def ids(self) -> list[str]:
        """Every artifact id present on disk."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for shard in self.root.iterdir()
            if shard.is_dir() and not shard.name.startswith(TMP_PREFIX)
            for p in shard.iterdir()
            if p.is_dir()
        )

    def clean_tmp(self) -> list[Path]:
        """Remove ``.tmp-*`` leftovers of crashed writers; skipped while any writer is active."""
        with _store_lock(self.root, fcntl.LOCK_EX | fcntl.LOCK_NB) as alone:
            if not alone:
                return []
            leftovers = sorted(self.root.glob(f"{TMP_PREFIX}*"))
            for tmp in leftovers:
                shutil.rmtree(tmp, ignore_errors=True)
            return leftovers
