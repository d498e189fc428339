"""``export_version`` and loading an exported folder: verified copies, atomic, refused edges."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import lifelong
from lifelong.api import load_folder
from lifelong.core.errors import ArtifactCorrupt, LifelongError, NotFound
from lifelong.pipelines.export import MANIFEST_FILE, README_FILE, export_version, read_export
from lifelong.registry import Registry, open_registry


@pytest.fixture
def served(served_registry: Callable[[str, Path], Registry], tmp_path: Path) -> Iterator[Registry]:
    registry = served_registry(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path / "artifacts")
    yield registry
    registry.close()


def test_export_copies_the_bundle_with_a_manifest_and_loads_back(
    served: Registry, tmp_path: Path
) -> None:
    dest = tmp_path / "out" / "model"
    manifest = export_version(served, "champion", dest)
    assert manifest.version == "1.0"
    written = json.loads((dest / MANIFEST_FILE).read_text())
    assert written["format"] == "lifelong-export"
    recorded = served.resolve("1.0").artifact_files
    assert {name: f["sha256"] for name, f in written["files"].items()} == {
        name: f.sha256 for name, f in recorded.items()
    }
    assert "lifelong.load(" in (dest / README_FILE).read_text()
    model = load_folder(dest)
    assert model.version == "1.0"
    assert model.labels == manifest.labels
    assert len(model.predict(["set an alarm", "play a song"])) == 2
    assert read_export(dest).files == manifest.files


def test_an_empty_folder_is_used_and_anything_else_refused(
    served: Registry, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    export_version(served, "1.1", empty)
    assert read_export(empty).parent == "1.0"
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    with pytest.raises(LifelongError, match="not an empty folder"):
        export_version(served, "1.0", taken)
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(LifelongError, match="not an empty folder"):
        export_version(served, "1.0", a_file)
    with pytest.raises(NotFound):
        export_version(served, "9.9", tmp_path / "nine")


def test_a_corrupt_artifact_is_never_exported_and_leaves_nothing(
    served: Registry, tmp_path: Path
) -> None:
    folder = served.artifact_path("2.0")
    weights = folder / "weights.safetensors"
    weights.chmod(0o600)
    weights.write_bytes(weights.read_bytes()[:-3] + b"bad")
    with pytest.raises(ArtifactCorrupt, match=r"version 2\.0"):
        export_version(served, "2.0", tmp_path / "out")
    assert list(tmp_path.glob("out*")) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_a_changed_export_is_refused_on_load(served: Registry, tmp_path: Path) -> None:
    dest = tmp_path / "model"
    export_version(served, "1.0", dest)
    spec = dest / "bundle.json"
    spec.write_text(spec.read_text().replace('"labels"', '"labels" ', 1))
    with pytest.raises(ArtifactCorrupt, match=r"bundle\.json"):
        load_folder(dest)
    (dest / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(LifelongError, match="unreadable export manifest"):
        load_folder(dest)


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(LifelongError, match="no such folder"):
        lifelong.load(str(tmp_path / "gone" / "model"))


def test_no_model_yet_says_to_train(tmp_path: Path) -> None:
    with (
        open_registry(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "a") as registry,
        pytest.raises(NotFound, match="no model yet: run `lifelong train` first"),
    ):
        export_version(registry, "champion", tmp_path / "out")
