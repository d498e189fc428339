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


def _add_batch(demo: Path, *names: str) -> None:
    """Simulate a day of annotation: copy sample batches into the project's data folder."""
    for name in names:
        shutil.copy(demo / "batches" / name, demo / "data" / name)
        console.print(f"[dim]annotators delivered batches/{name} -> data/{name}[/]")


def run(workdir: Path) -> None:
    """Create a fresh sample project under ``workdir`` and walk through it."""
    demo = workdir / "demo"
    if demo.exists():
        shutil.rmtree(demo)
    workdir.mkdir(parents=True, exist_ok=True)
    steps = [
        "Create a project with sample data (an online shop's support assistant)",
        "Validate the data: every file, every intent, the stable train/valid/test split",
        "Train version 1.0 from scratch; as the project's first model it becomes champion",
        "Preview what the next two days of annotations add (one brings a new intent)",
        "Add them and fine-tune 1.1 from 1.0; the gate decides whether it ships",
        "What the registry remembers about 1.1: parent, data diff, verdict, forgetting",
        "The lineage of every model",
    ]

    def step(number: int) -> None:
        console.print(f"\n[bold]{number}/{len(steps)}[/] {steps[number - 1]}")

    console.print(Rule("lifelong quickstart"))
    step(1)
    _lifelong("init", str(demo), cwd=workdir)
    step(2)
    _lifelong("data", "validate", cwd=demo)
    step(3)
    _lifelong("train", cwd=demo)
    step(4)
    _lifelong("data", "diff", "--add", "batches/day1.jsonl", "--add", "batches/day2.csv", cwd=demo)
    step(5)
    _add_batch(demo, "day1.jsonl", "day2.csv")
    _lifelong("train", "--finetune", "--promote", cwd=demo)
    step(6)
    _lifelong("models", "show", "1.1", cwd=demo)
    step(7)
    _lifelong("lineage", cwd=demo)
    console.print(Rule("done"))
    console.print(f"The demo project is in {demo}; cd there and try `lifelong --help`.")


def main() -> None:
    run(Path(sys.argv[1] if len(sys.argv) > 1 else ".quickstart").resolve())


if __name__ == "__main__":
    main()
