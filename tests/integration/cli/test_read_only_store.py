"""The whole CLI on a store that really is read-only: readers work, writers say why not.

As root, permissions do not stop writes, so the commands run in a private mount namespace
where the project folder is bind-mounted read-only (``unshare -m``); otherwise the folder is
made read-only with chmod. Skipped where neither can be done.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.core.types import Example
from lifelong.project import Project
from lifelong.registry import open_registry

pytestmark = pytest.mark.integration

_BIND_READ_ONLY = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def _read_only_prefix(folder: Path) -> list[str]:
    """A command prefix that runs its command with ``folder`` read-only."""
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None:
        pytest.skip("root without unshare: cannot make a read-only folder")
    prefix = ["unshare", "-m", "sh", "-c", _BIND_READ_ONLY, str(folder)]
    probe = subprocess.run([*prefix, "touch", str(folder / "probe")], capture_output=True)
    if probe.returncode == 0 or (folder / "probe").exists():
        pytest.skip(f"cannot mount a read-only folder here: {probe.stderr.decode()}")
    return prefix


@pytest.fixture
def project(tmp_path: Path, make_bundle) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """The sample project with 1.0 as champion, its folder read-only for non-root users."""
    root = tmp_path / "demo"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    loaded = Project.load(root)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        snapshot = registry.put_snapshot([Example.make("hi", "greet")]).id
        registry.register(make_bundle(0), snapshot_id=snapshot, config={}, notes="first")
        registry.set_alias("champion", "1.0", reason="first", command="test")
    folders = [p for p in (root, *root.rglob("*")) if p.is_dir()]
    if os.geteuid() != 0:
        for folder in folders:
            folder.chmod(folder.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    yield root
    for folder in folders:
        folder.chmod(folder.stat().st_mode | stat.S_IWUSR)


_CHILD = """
import json, sys
from typer.testing import CliRunner
from lifelong.cli.main import app
results = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(app, args)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    crash = repr(result.exception) if crashed else ""
    results.append([result.exit_code, result.stdout, result.stderr, crash])
print(json.dumps(results))
"""


def _lifelong(project: Path, *commands: list[str]) -> list[tuple[int, str, str, str]]:
    """Run ``commands`` in one child process (one import of lifelong) under the read-only
    storage; each gives (exit code, stdout, stderr, a crash's exception or "")."""
    env = {k: v for k, v in os.environ.items() if k != "LIFELONG_STORE_URL"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["COLUMNS"] = "200"
    every = [["--project", str(project), *args] for args in commands]
    child = [sys.executable, "-c", _CHILD, json.dumps(every)]
    done = subprocess.run(
        [*_read_only_prefix(project), *child], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    return [tuple(result) for result in json.loads(done.stdout)]  # type: ignore[misc]


READERS = [
    (["models", "list"], "champion"),
    (["models", "show", "1.0"], "first"),
    (["lineage"], "1.0 (champion)"),
    (["history"], "no cycles yet"),
    (["data", "validate"], "data is valid"),
    (["data", "diff"], "relabeled"),
]
WRITERS = [["models", "promote", "1.0", "--reason", "again"], ["data", "snapshot"], ["update"]]


def test_readers_work_and_writers_say_which_path_on_read_only_storage(project: Path) -> None:
    before = sorted(str(p.relative_to(project)) for p in project.rglob("*"))
    results = _lifelong(project, *(args for args, _ in READERS), *WRITERS)
    for (args, shown), (code, out, err, crash) in zip(READERS, results, strict=False):
        assert (code, err, crash) == (0, "", ""), args
        assert shown in out, args
    for args, (code, _out, err, crash) in zip(WRITERS, results[len(READERS) :], strict=True):
        said = " ".join(err.split())
        assert (code, crash) == (1, ""), (args, said)
        assert f"error: cannot write {project}" in said, args
        assert "read-only file system" in said or "permission denied" in said, args
        assert "hint: writing commands" in said, args
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*")) == before
