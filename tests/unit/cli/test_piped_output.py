"""Output to a pipe or a file is not wrapped: paths and table cells stay whole."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
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


def test_json_to_a_pipe_is_the_text_rich_printed_and_coloured_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lifelong.cli import common

    data = {"path": Path("/srv/a.jsonl"), "accuracy": 0.9573529362678528, "é": ["ü", None, 3]}
    richly = io.StringIO()
    make_console(richly).print_json(json.dumps(data, default=str))
    piped = io.StringIO()
    monkeypatch.setattr(common, "console", make_console(piped))
    common.print_json(data)
    assert piped.getvalue() == richly.getvalue()
    assert json.loads(piped.getvalue())["path"] == "/srv/a.jsonl"
    terminal = io.StringIO()
    monkeypatch.setattr(common, "console", Console(file=terminal, force_terminal=True))
    common.print_json(data)
    assert "\x1b[" in terminal.getvalue()
