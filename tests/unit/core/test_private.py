"""Private modes: lifelong's files are 0600 and folders 0700 whatever the umask."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lifelong.core.atomic import atomic_create_bytes, atomic_write_bytes
from lifelong.core.private import make_private, private_dir

pytestmark = pytest.mark.usefixtures("open_umask")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_dir_creates_every_missing_folder_private(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    leaf = private_dir(existing / "a" / "b" / "c")
    assert [_mode(p) for p in (leaf, leaf.parent, leaf.parent.parent)] == [0o700] * 3
    assert _mode(existing) == 0o755  # the folder that existed is not lifelong's to change


def test_private_dir_tightens_an_existing_folder_only_when_asked(tmp_path: Path) -> None:
    shared, own = tmp_path / "shared", tmp_path / "own"
    for folder in (shared, own):
        folder.mkdir(mode=0o755)
    private_dir(shared, tighten=False)
    private_dir(own)
    assert (_mode(shared), _mode(own)) == (0o755, 0o700)


def test_make_private_only_removes_bits(tmp_path: Path) -> None:
    loose, read_only = tmp_path / "loose", tmp_path / "read-only"
    loose.write_text("x")
    read_only.write_text("x")
    loose.chmod(0o666)
    read_only.chmod(0o444)
    make_private(loose)
    make_private(read_only)
    assert (_mode(loose), _mode(read_only)) == (0o600, 0o400)


def test_atomic_writes_are_private_and_tighten_what_they_replace(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("old")
    path.chmod(0o644)
    atomic_write_bytes(path, b"new")
    assert _mode(path) == 0o600


def test_atomic_create_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "key"
    assert atomic_create_bytes(path, b"first")
    assert not atomic_create_bytes(path, b"second")
    assert path.read_bytes() == b"first"
    assert _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key"]
