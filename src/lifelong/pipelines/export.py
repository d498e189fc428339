"""``lifelong models export V DIR``: a verified copy of a version's bundle, to ship elsewhere.

The folder holds the bundle's files (``bundle.json``, ``weights.safetensors``, ...), a
``manifest.json`` (the version, its parent, labels, metrics at registration, and the sha256 and
size of every file) and a ``README.md`` saying how to load it. Each file's bytes are checked
against the registry's sha256 as they are read, so a damaged artifact is never exported; the
folder is written under a temporary name beside ``DIR`` and renamed, so ``DIR`` is complete or
absent. ``lifelong.load(DIR)`` checks the manifest again before reading the weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lifelong
from lifelong.core.atomic import atomic_folder, atomic_write_bytes, atomic_write_text
from lifelong.core.errors import ArtifactCorrupt, LifelongError
from lifelong.core.hashing import sha256_bytes, sha256_file
from lifelong.models import read_spec
from lifelong.pipelines.session import resolve_model
from lifelong.registry import ModelVersion, Registry

MANIFEST_FILE = "manifest.json"
README_FILE = "README.md"
EXPORT_FORMAT = "lifelong-export"


@dataclass(frozen=True)
class ExportManifest:
    """What ``manifest.json`` of an exported folder says."""

    version: str
    parent: str | None
    labels: list[str]
    files: dict[str, dict[str, Any]]
    metrics: dict[str, Any]
    exported_at: str
    lifelong_version: str

    def to_dict(self) -> dict[str, Any]:
        return {"format": EXPORT_FORMAT, **self.__dict__}


def _readme(manifest: ExportManifest) -> str:
    accuracy = manifest.metrics.get("accuracy")
    figure = "" if accuracy is None else f" (test accuracy {accuracy:.3f} at registration)"
    return f"""# lifelong model {manifest.version}

Exported by lifelong {manifest.lifelong_version} on {manifest.exported_at}: version
{manifest.version}{figure}, {len(manifest.labels)} intents. `manifest.json` lists the sha256 of
every file; loading checks them before reading the weights (safetensors, no pickle).

Load and predict with lifelong installed (`pip install lifelong`):

```python
import lifelong

model = lifelong.load("path/to/this/folder")
model.predict(["where is my order"])         # most likely intent of each text
model.predict_proba(["where is my order"])   # probabilities, columns in model.labels order
model.rank(["where is my order"], top_k=3)   # intent, confidence and the top-3 ranking
```

or from the command line: `lifelong predict --model path/to/this/folder "where is my order"`.

Intents: {", ".join(manifest.labels)}
"""


def export_version(registry: Registry, ref: str, dest: Path) -> ExportManifest:
    """Copy version ``ref``'s bundle into the new folder ``dest`` with a manifest and README.

    Raises
    ------
    LifelongError
        ``dest`` exists and is not an empty folder.
    ArtifactCorrupt
        A file of the artifact does not match the registry's sha256 (nothing is written).
    """
    dest = Path(dest).expanduser().absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise LifelongError(
            f"{dest}: exists and is not an empty folder; not exporting into it",
            hint="choose a new folder (it is created) or an empty one",
        )
    version = resolve_model(registry, ref)
    source = registry.artifact_path(version.label)
    with atomic_folder(dest) as tmp:
        files = _copy_verified(version, source, tmp)
        manifest = ExportManifest(
            version=version.label,
            parent=version.parent,
            labels=list(read_spec(tmp)[0].labels),
            files=files,
            metrics={
                k: version.metrics[k] for k in ("accuracy", "macro_f1") if k in version.metrics
            },
            exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
            lifelong_version=lifelong.__version__,
        )
        document = json.dumps(manifest.to_dict(), indent=2, sort_keys=True)
        atomic_write_text(tmp / MANIFEST_FILE, document)
        atomic_write_text(tmp / README_FILE, _readme(manifest))
    return manifest


def _copy_verified(version: ModelVersion, source: Path, tmp: Path) -> dict[str, dict[str, Any]]:
    """Copy the artifact's files, each checked against the registry's sha256 as read."""
    files: dict[str, dict[str, Any]] = {}
    for name, recorded in sorted(version.artifact_files.items()):
        data = (source / name).read_bytes()
        digest = sha256_bytes(data)
        if digest != recorded.sha256:
            raise ArtifactCorrupt(
                f"artifact of version {version.label}: {name} does not match its sha256",
                hint="restore the artifacts folder from a backup, or retrain that version",
            )
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(tmp / name, data)
        files[name] = {"sha256": digest, "size": len(data)}
    return files


def read_export(folder: Path) -> ExportManifest:
    """The manifest of an exported folder, after checking every file it lists.

    Raises
    ------
    LifelongError
        The manifest is missing or malformed.
    ArtifactCorrupt
        A listed file is missing or its sha256 differs.
    """
    path = folder / MANIFEST_FILE
    hint = "export the version again with `lifelong models export VERSION DIR`"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != EXPORT_FORMAT:
            raise LifelongError(f"{path}: not a lifelong export manifest", hint=hint)
        manifest = ExportManifest(**{k: v for k, v in document.items() if k != "format"})
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, TypeError, AttributeError) as error:
        raise LifelongError(f"{path}: unreadable export manifest ({error})", hint=hint) from None
    for name, recorded in manifest.files.items():
        file = folder / name
        if not file.is_file() or sha256_file(file) != recorded.get("sha256"):
            raise ArtifactCorrupt(
                f"{file}: missing or its sha256 does not match {MANIFEST_FILE}",
                hint="the folder was modified after export; " + hint,
            )
    return manifest
