"""Output to a pipe or a file is not wrapped: paths and table cells stay whole."""

from __future__ import annotations

import io

import pytest
from rich.table import Table

from lifelong.cli.common import make_console

LONG_PATH = "/srv/projects/" + "/".join(f"folder-{i:02d}" for i in range(20)) + "/data/a.jsonl:12"


def test_piped_output_keeps_long_lines_and_cells_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    stream = io.StringIO()
    console = make_console(stream)
    console.print(f"error: {LONG_PATH}: empty text")
    table = Table("where", "problem")
    table.add_row(LONG_PATH, "empty text")
    console.print(table)
    lines = stream.getvalue().splitlines()
    assert lines[0] == f"error: {LONG_PATH}: empty text"
    assert any(LONG_PATH in line for line in lines[1:])
    assert max(len(line) for line in lines) < 400  # a table takes its own width, not 10000


def test_columns_still_sets_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    stream = io.StringIO()
    make_console(stream).print(LONG_PATH)
    assert max(len(line) for line in stream.getvalue().splitlines()) <= 60
