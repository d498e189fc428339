"""The quickstart: a tour of lifelong on the sample project, run as a user would run it.

Each step runs the real ``lifelong`` command in a subprocess and shows it, so what you see is
exactly what you would type. ``scripts/quickstart.sh`` calls ``python -m lifelong.quickstart``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

console = Console()


def _lifelong(*args: str, cwd: Path, check: bool = True) -> int:
    """Run ``lifelong ARGS`` in ``cwd``, echoing the command; return its exit code."""
    shown = " ".join(args)
    console.print(f"\n[bold cyan]$ lifelong {shown}[/]")
    started = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", "lifelong.cli.main", *args], cwd=cwd)
    console.print(f"[dim]({time.perf_counter() - started:.1f} s, exit {code})[/]")
    if check and code != 0:
        raise SystemExit(f"quickstart: `lifelong {shown}` failed with exit code {code}")
    return code


def run(workdir: Path) -> None:
    """Create a fresh sample project under ``workdir`` and walk through it."""
    demo = workdir / "demo"
    if demo.exists():
        shutil.rmtree(demo)
    workdir.mkdir(parents=True, exist_ok=True)
    steps = [
        "Create a project with sample data (an online shop's support assistant)",
        "Validate the data: every file, every intent, the stable train/valid/test split",
        "Preview what the next batch of annotations would add",
    ]
    console.print(Rule("lifelong quickstart"))
    console.print(f"[bold]1/{len(steps)}[/] {steps[0]}")
    _lifelong("init", str(demo), cwd=workdir)
    console.print(f"\n[bold]2/{len(steps)}[/] {steps[1]}")
    _lifelong("data", "validate", cwd=demo)
    console.print(f"\n[bold]3/{len(steps)}[/] {steps[2]}")
    _lifelong("data", "diff", "--add", "batches/day2.csv", cwd=demo)
    console.print(Rule("done"))
    console.print(f"The demo project is in {demo}; cd there and try `lifelong --help`.")


def main() -> None:
    run(Path(sys.argv[1] if len(sys.argv) > 1 else ".quickstart").resolve())


if __name__ == "__main__":
    main()
