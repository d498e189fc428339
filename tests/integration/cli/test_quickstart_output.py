"""The quickstart's output reads as a user's terminal: real commands, no Python reprs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.timeout(900)  # the whole tour, on a shared machine
def test_quickstart_prints_real_commands_and_no_python_reprs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("LIFELONG_STORE_URL", None)
    env.pop("COLUMNS", None)
    done = subprocess.run(
        [sys.executable, "-m", "lifelong.quickstart", str(tmp_path / "qs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "%lifelong-serve" not in out
    assert re.search(r"^\$ kill -TERM \d+ ", out, re.MULTILINE)
    assert "per source: " in out
    for line in out.splitlines():
        assert not re.search(r"\{'|\['|': ", line), line  # a dict or list repr
    # piped: no line is cut to 80 columns in the middle of a path
    assert any(len(line) > 80 for line in out.splitlines())
