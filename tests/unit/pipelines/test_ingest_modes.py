"""Ingested examples are written private, whatever the umask."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lifelong.config import CONFIG_FILE
from lifelong.core.types import Example
from lifelong.pipelines.ingest import Ingested, write_ingested
from lifelong.project import Project


@pytest.mark.usefixtures("open_umask")
def test_ingested_files_and_their_folder_are_private(tmp_path: Path) -> None:
    (tmp_path / "data" / "ingested").mkdir(parents=True, mode=0o755)  # from an older version
    (tmp_path / CONFIG_FILE).write_text("{}\n")
    found = Ingested(new=[Example.make("hello there", "greet")])
    path = write_ingested(Project.load(tmp_path), found)
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
