"""Benchmark of the command line's start: how long the read commands take, end to end.

Each command runs as a user runs it (a fresh ``python -m lifelong.cli.main`` in the project
folder, output to a pipe), ``--repeat`` times; the figures are the median wall time, the median
CPU time (user + system) of the child, and the median import time: the sum of the top-level
modules' cumulative times that ``python -X importtime`` reports for the same command (separate
runs, since ``-X importtime`` slows the imports it times), with whether SQLAlchemy was
imported. With ``--baseline-src DIR`` (another checkout's ``src``) the same commands run
alternately from both trees, so a drift of a shared host hits both, and the last column is
the ratio of the median walls (this tree / baseline). The project is the sample project after
``lifelong init`` and one ``lifelong train`` (made in a temporary folder unless ``--project``
names one). Prints a markdown table and writes ``bench/out/cli_startup.md``.

    PYTHONPATH=src python bench/cli_startup.py [--repeat 7] [--baseline-src ../main/src]
        [--commands="--help,models list"]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
COMMANDS = [
    "--help",
    "--version",
    "models list",
    "models show 1.0",
    "models history",
    "lineage",
    "history",
    "data validate",
    "data diff",
]


def _env(src: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("LIFELONG_STORE_URL", None)
    return env


def run_once(src: Path, project: Path, command: str) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``lifelong COMMAND`` from the tree ``src``."""
    env = _env(src)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lifelong.cli.main", *command.split()],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        failed = f"`lifelong {command}` from {src} exited {done.returncode}"
        raise SystemExit(f"{failed}:\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def import_seconds(src: Path, project: Path, command: str) -> tuple[float, bool]:
    """Seconds ``lifelong COMMAND`` spends importing, from ``python -X importtime``, and
    whether SQLAlchemy was among the imports.

    The report nests each module under the one that imported it; the top-level lines (one
    space after the last ``|``) hold the cumulative time of everything below them.
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lifelong.cli.main", *command.split()],
        cwd=project,
        env=_env(src),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    micros = 0
    sqlalchemy = False
    for line in done.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        _, cumulative, name = line.split("|")
        sqlalchemy = sqlalchemy or name.strip() == "sqlalchemy"
        if cumulative.strip().isdigit() and not name.startswith("  "):
            micros += int(cumulative)
    return micros / 1e6, sqlalchemy


def sample_project(folder: Path) -> Path:
    """The sample project with one trained version (1.0, the champion)."""
    project = folder / "demo"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for args in (["init", str(project)], ["--project", str(project), "train"]):
        subprocess.run(
            [sys.executable, "-m", "lifelong.cli.main", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--project", type=Path, help="a project with version 1.0 registered")
    parser.add_argument("--baseline-src", type=Path, help="another tree's src folder")
    parser.add_argument(
        "--commands", default=",".join(COMMANDS), help="commands to time, comma-separated"
    )
    args = parser.parse_args()
    commands = [c.strip() for c in args.commands.split(",")]
    trees = {"this tree": ROOT / "src"}
    if args.baseline_src:
        trees["baseline"] = args.baseline_src.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        project = args.project or sample_project(Path(scratch))
        figures: dict[str, dict[str, list[tuple[float, float, float]]]] = {
            c: {t: [] for t in trees} for c in commands
        }
        sqlalchemy: dict[str, dict[str, bool]] = {c: {} for c in commands}
        for _ in range(args.repeat):
            for command in commands:
                for name, src in trees.items():
                    wall, cpu = run_once(src, project, command)
                    imports, sqlalchemy[command][name] = import_seconds(src, project, command)
                    figures[command][name].append((wall, cpu, imports))
    header = "| command | " + " | ".join(
        f"{t}: wall s | {t}: CPU s | {t}: imports s | {t}: SQLAlchemy" for t in trees
    )
    ratio = len(trees) == 2
    rows = [
        header + (" | wall ratio |" if ratio else " |"),
        "| --- |" + " ---: | ---: | ---: | :---: |" * len(trees) + (" ---: |" if ratio else ""),
    ]
    for command, per_tree in figures.items():
        cells, walls = [], []
        for name, runs in per_tree.items():
            medians = [statistics.median(run[i] for run in runs) for i in range(3)]
            walls.append(medians[0])
            cells += [f"{m:.2f}" for m in medians]
            cells.append("imported" if sqlalchemy[command][name] else "no")
        if ratio:
            cells.append(f"{walls[0] / walls[1]:.2f}")
        rows.append(f"| `lifelong {command}` | " + " | ".join(cells) + " |")
    load = os.getloadavg()
    table = "\n".join(rows) + f"\n\nmedians of {args.repeat} runs; load average {load[0]:.2f}"
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "cli_startup.md").write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
