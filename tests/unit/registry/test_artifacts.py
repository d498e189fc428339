"""The artifact store: content addressing, atomic install, verification on every load."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.core.errors import ArtifactCorrupt, NotFound
from lifelong.core.hashing import sha256_bytes
from lifelong.registry.artifacts import MANIFEST, ArtifactStore


def test_put_get_round_trip(tmp_path: Path, make_bundle: Callable[..., Path]) -> None:
    store = ArtifactStore(tmp_path / "arts")
    bundle = make_bundle(files={"weights.safetensors": b"w" * 10, "sub/labels.json": b"[]"})
    artifact_id, files = store.put(bundle)
    path = store.get(artifact_id)
    assert path == tmp_path / "arts" / artifact_id[:2] / artifact_id
    assert (path / "weights.safetensors").read_bytes() == b"w" * 10
    assert (path / "sub" / "labels.json").read_bytes() == b"[]"
    assert files["weights.safetensors"].sha256 == sha256_bytes(b"w" * 10)
    manifest = (path / MANIFEST).read_bytes()
    assert sha256_bytes(manifest) == artifact_id
    assert json.loads(manifest)["files"]["sub/labels.json"] == {
        "sha256": sha256_bytes(b"[]"),
        "size": 2,
    }


def test_equal_content_is_stored_once(tmp_path: Path, make_bundle: Callable[..., Path]) -> None:
    store = ArtifactStore(tmp_path / "arts")
    first, _ = store.put(make_bundle("a"))
    second, _ = store.put(make_bundle("a"))
    third, _ = store.put(make_bundle("b"))
    assert first == second != third
    assert store.ids() == sorted([first, third])


def test_corrupt_file_is_named_with_the_version(
    tmp_path: Path, make_bundle: Callable[..., Path]
) -> None:
    store = ArtifactStore(tmp_path / "arts")
    artifact_id, _ = store.put(make_bundle())
    (store.path(artifact_id) / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(
        ArtifactCorrupt,
        match=r"artifact of version 1\.2 is corrupt: weights\.safetensors sha256 mismatch",
    ) as caught:
        store.get(artifact_id, "1.2")
    assert caught.value.hint is not None
    assert "models rm 1.2 --force" in caught.value.hint


def test_missing_file_and_missing_artifact(
    tmp_path: Path, make_bundle: Callable[..., Path]
) -> None:
    store = ArtifactStore(tmp_path / "arts")
    artifact_id, _ = store.put(make_bundle())
    (store.path(artifact_id) / "spec.json").unlink()
    with pytest.raises(ArtifactCorrupt, match=r"spec\.json is missing"):
        store.get(artifact_id, "1.0")
    with pytest.raises(ArtifactCorrupt, match=r"artifact of version 3\.0 is corrupt: missing"):
        store.get("ab" * 32, "3.0")


def test_tampered_manifest_is_detected(tmp_path: Path, make_bundle: Callable[..., Path]) -> None:
    store = ArtifactStore(tmp_path / "arts")
    artifact_id, _ = store.put(make_bundle())
    (store.path(artifact_id) / MANIFEST).write_text('{"files": {}}')
    assert store.problems(artifact_id) == [
        f"{MANIFEST} sha256 mismatch in {store.path(artifact_id)}"
    ]


def test_put_repairs_a_damaged_copy(tmp_path: Path, make_bundle: Callable[..., Path]) -> None:
    store = ArtifactStore(tmp_path / "arts")
    artifact_id, _ = store.put(make_bundle("x"))
    (store.path(artifact_id) / "weights.safetensors").write_bytes(b"rot")
    assert store.put(make_bundle("x"))[0] == artifact_id
    assert store.problems(artifact_id) == []


def test_delete_removes_the_folder(tmp_path: Path, make_bundle: Callable[..., Path]) -> None:
    store = ArtifactStore(tmp_path / "arts")
    artifact_id, _ = store.put(make_bundle())
    store.delete(artifact_id)
    store.delete(artifact_id)  # idempotent
    assert not store.path(artifact_id).exists()
    assert list((tmp_path / "arts").glob(".tmp-*")) == []


def test_leftover_tmp_folders_are_cleaned_on_open(tmp_path: Path) -> None:
    root = tmp_path / "arts"
    (root / ".tmp-crashed" / "artifact").mkdir(parents=True)
    (root / ".tmp-crashed" / "artifact" / "weights.safetensors").write_bytes(b"half")
    ArtifactStore(root)
    assert not (root / ".tmp-crashed").exists()


def test_bad_source_folders(tmp_path: Path, make_bundle: Callable[..., Path]) -> None:
    store = ArtifactStore(tmp_path / "arts")
    with pytest.raises(NotFound, match="does not exist"):
        store.put(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="holds no files"):
        store.put(tmp_path / "empty")
    with pytest.raises(ArtifactCorrupt, match="reserved"):
        store.put(make_bundle(files={MANIFEST: b"{}"}))


names = st.text(alphabet="abcdefghij_-0123456789", min_size=1, max_size=12)


@settings(max_examples=30, deadline=None)
@given(files=st.dictionaries(names, st.binary(max_size=2048), min_size=1, max_size=6))
def test_put_get_round_trip_property(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, src = Path(tmp) / "arts", Path(tmp) / "src"
        src.mkdir()
        for name, data in files.items():
            (src / f"{name}.bin").write_bytes(data)
        store = ArtifactStore(root)
        artifact_id, manifest = store.put(src)
        assert store.put(src)[0] == artifact_id
        folder = store.get(artifact_id)
        for name, data in files.items():
            assert (folder / f"{name}.bin").read_bytes() == data
            assert manifest[f"{name}.bin"].size == len(data)
