"""The read commands start at once: they import no heavy library, and ``--help`` no command.

Each check runs the real entry point in a fresh interpreter (modules imported by other tests
would hide an import otherwise) and inspects ``sys.modules`` after the commands ran.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli.commands import COMMANDS, GROUPS
from lifelong.cli.main import app
from lifelong.core.types import Example
from lifelong.project import Project
from lifelong.registry import open_registry

HEAVY = ("torch", "sklearn", "scipy", "fastapi", "uvicorn", "starlette", "matplotlib")
# The commands that read records only: on an SQLite store they read it through sqlite3, so
# they must not import SQLAlchemy (its ORM alone doubled their start).
RECORD_READS = [
    ["models", "list"],
    ["models", "list", "--all"],
    ["models", "show", "champion"],
    ["models", "show", "1.0", "--json"],
    ["models", "history"],
    ["lineage"],
    ["history"],
]
READ_COMMANDS = [
    ["--help"],
    ["--version"],
    ["models", "list"],
    ["models", "show", "champion"],
    ["models", "show", "1.0", "--json"],
    ["lineage"],
    ["history"],
    ["data", "validate"],
    ["data", "diff"],
]

# Runs each command in turn in one interpreter, then prints what got imported.
_PROBE = """
import json, runpy, sys
commands = json.loads(sys.argv[1])
codes = []
for args in commands:
    sys.argv = ["lifelong", *args]
    try:
        runpy.run_module("lifelong.cli.main", run_name="__main__")
        codes.append(0)
    except SystemExit as done:
        codes.append(done.code or 0)
print(json.dumps({"codes": codes, "modules": sorted(sys.modules)}))
"""


def probe(project: Path, commands: list[list[str]]) -> dict[str, list[object]]:
    """Exit codes of ``commands`` run in ``project`` and every module they imported."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "200"}
    env.pop("LIFELONG_STORE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(commands)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, list[object]] = json.loads(done.stdout.splitlines()[-1])
    return result


def heavy_in(modules: list[object], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    return [str(m) for m in modules if str(m).split(".")[0] in heavy]


@pytest.fixture
def project(tmp_path: Path, make_bundle: Callable[..., Path]) -> Path:
    """Valid data, a snapshot, and a champion 1.0 with a verdict, as after a first training."""
    root = tmp_path / "proj"
    (root / "data").mkdir(parents=True)
    (root / "config.yml").write_text("splits: {valid: 0.1, test: 0.1, salt: t}\n")
    rows = [{"text": f"hello number {i}", "intent": "greet"} for i in range(20)]
    rows += [{"text": f"bye number {i}", "intent": "bye"} for i in range(20)]
    (root / "data" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = Project.load(root)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        snap = registry.put_snapshot([Example.make(r["text"], r["intent"]) for r in rows]).id
        registry.register(
            make_bundle(0), snapshot_id=snap, config={}, metrics={"accuracy": 0.9}, notes=""
        )
        registry.set_alias("champion", "1.0", reason="first", command="test")
    return root


def test_read_commands_import_no_heavy_library(project: Path) -> None:
    found = probe(project, READ_COMMANDS)
    assert found["codes"] == [0] * len(READ_COMMANDS)
    assert heavy_in(found["modules"]) == []


def test_the_probe_sees_a_heavy_import(project: Path) -> None:
    """The check above can fail: a command that does need torch shows up in the probe."""
    found = probe(project, [["train", "--help"]])
    assert "torch" in heavy_in(found["modules"])


def test_record_reads_on_sqlite_import_no_sqlalchemy(project: Path) -> None:
    found = probe(project, RECORD_READS)
    assert found["codes"] == [0] * len(RECORD_READS)
    assert heavy_in(found["modules"], ("sqlalchemy", "alembic")) == []
    assert heavy_in(found["modules"]) == []


def test_the_probe_sees_sqlalchemy(project: Path) -> None:
    """The check above can fail: a read of the data snapshots still opens the store with
    SQLAlchemy, and the probe sees it."""
    found = probe(project, [["data", "diff"]])
    assert found["codes"] == [0]
    assert "sqlalchemy" in heavy_in(found["modules"], ("sqlalchemy",))


def test_help_imports_no_command_module(project: Path) -> None:
    found = probe(project, [["--help"], ["models", "--help"], ["data", "--help"]])
    modules = {str(m) for m in found["modules"]}
    targets = {command.target.partition(":")[0] for command in COMMANDS.values()}
    assert targets & modules == set()
    assert "lifelong.registry" not in modules
    assert "lifelong.config" not in modules


def _first_paragraph(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_tables_one_line_help_is_the_commands_own(name: str) -> None:
    """``--help`` lists the table's summary without importing; it must not drift from the
    docstring that the command's own ``--help`` shows."""
    module, _, attribute = COMMANDS[name].target.partition(":")
    function = getattr(importlib.import_module(module), attribute)
    assert _first_paragraph(function.__doc__ or "") == COMMANDS[name].summary


def test_every_group_of_the_table_has_its_help() -> None:
    groups = {name.split(" ")[0] for name in COMMANDS if " " in name}
    assert groups == set(GROUPS)


@pytest.mark.parametrize(
    "args", [[], *([*name.split(" ")] for name in [*COMMANDS, *GROUPS])], ids=str
)
def test_help_shows_no_bool_metavar_nor_double_backticks(args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "``" not in result.output
    assert "Usage:" in result.output


def test_a_mistyped_command_suggests_the_right_one() -> None:
    result = CliRunner().invoke(app, ["models", "lsit"])
    assert result.exit_code == 2
    assert "Did you mean 'list'?" in result.output


def test_a_training_imports_neither_scikit_learn_nor_scipy_stats_nor_dynamo(
    project: Path,
) -> None:
    """A cold ``train`` (not gated: the project has a champion) and an update: the compiled
    core hashes the n-grams and the report counts its own scores, so neither import (about
    1.5 s of each run) is left on the path; the gate's tests import scipy.stats when they run.
    The optimizers (training's and calibration's) leave torch._dynamo unimported (1 s)."""
    small = ["--set", "pipeline.ngrams.buckets=1024", "--set", "pipeline.ngrams.dim=8"]
    small += ["--set", "pipeline.hidden=16", "--set", "training.epochs=1"]
    found = probe(project, [[*small, "train", "--json"], [*small, "train", "--finetune"]])
    assert found["codes"] == [0, 0]
    modules = {str(m) for m in found["modules"]}
    assert "torch" in modules
    assert {"sklearn", "scipy.stats", "torch._dynamo"} & modules == set()


def test_the_entry_point_freezes_the_collector_at_exit(tmp_path: Path) -> None:
    """Shutdown then skips collecting what the command left alive (2 s after a training): the
    hook registered before ``main`` runs after its own (atexit is last in, first out)."""
    code = (
        "import atexit, gc, sys\n"
        "from lifelong.cli.main import main\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "print('before', gc.get_freeze_count() > 0)\n"
        "sys.argv = ['lifelong', '--version']\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "before False"
    assert lines[-1] == "frozen True"
