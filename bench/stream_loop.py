"""Benchmark: one cycle of the loop as data grows, on a streamed project against one in memory.

A project holds CLINC150's training file (``../shared/datasets/clinc150``, 15,000 rows) and a
champion trained on it (one epoch of a small pipeline: the figure is the cycle, not the model).
The data then grows to ``k`` times its size by added files of noised copies
(:func:`bench.scale.grow`), a batch of 100 new rows lands in the inbox, and one
``lifelong update`` cycle runs in a fresh process: ingestion (repeats and relabels checked
against the data), snapshot, triggers. The volume trigger's threshold is set out of reach, so the
cycle stops after the triggers (training is measured by ``bench/scale.py``). Peak RSS and
seconds are the cycle process's own, and the volume trigger's count of new rows is printed
beside the rows really added.

- ``stream`` (``training.stream: true``): the data is read a chunk at a time, the snapshot
  lists files, the trigger counts rows by file;
- ``memory``: the data is read whole, the snapshot lists every example.

Run from the project root::

    PYTHONPATH=src python bench/stream_loop.py [--factors 1 4 16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from lifelong.testing.scripts import load_script

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
BATCH = 100


def make_project(root: Path, mode: str) -> Path:
    """A project on CLINC150's training file with a champion trained on it."""
    from lifelong.pipelines.loop import run_cycle
    from lifelong.project import Project
    from lifelong.registry import open_registry
    from lifelong.scaffold import init_project

    init_project(root, sample_data=False, embeddings=False)
    shutil.copy(DATASETS / "clinc150" / "train.jsonl", root / "data" / "part-000.jsonl")
    config_path = root / "config.yml"
    config = yaml.safe_load(config_path.read_text())
    config["pipeline"]["ngrams"].update({"buckets": 65536, "dim": 32})
    config["pipeline"]["hidden"] = 64
    config["training"].update({"epochs": 1, "stream": mode == "stream"})
    config["splits"]["salt"] = "stream-loop-bench"
    config["policy"]["screen"] = None
    config["policy"]["triggers"] = {  # only the volume trigger, out of reach
        "mode": "any",
        "time": None,
        "performance": None,
        "drift": None,
        "volume": {"min_fraction": None, "min_count": 10**9},
    }
    config_path.write_text(yaml.safe_dump(config))
    project = Project.load(root)
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        result = run_cycle(project, registry)
        assert result.outcome == "promoted", result.error
    return root


def cycle(root: Path) -> dict[str, Any]:
    """One cycle in this process: what it measured."""
    import resource
    import time

    from lifelong.pipelines.loop import run_cycle
    from lifelong.project import Project
    from lifelong.registry import open_registry

    project = Project.load(root)
    started = time.perf_counter()
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        result = run_cycle(project, registry)
    seconds = time.perf_counter() - started
    assert result.outcome == "nothing", (result.outcome, result.error)
    assert result.trigger is not None
    volume = next(c for c in result.trigger.children or (result.trigger,) if c.name == "volume")
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "ingested": result.data["new"],
        "counted_new": volume.figures["n_new"],
        "durations": result.durations,
    }


def measure(template: Path, mode: str, factor: int, tmp: Path) -> dict[str, Any]:
    """Copy the trained project, grow its data ``factor`` times, drop a batch, run a cycle."""
    root = tmp / f"{mode}-{factor}"
    shutil.copytree(template, root)
    base = DATASETS / "clinc150" / "train.jsonl"
    n_base = sum(1 for line in base.read_text().splitlines() if line.strip())
    grow = load_script(Path(__file__).with_name("scale.py"), "scale").grow
    if factor > 1:
        grown = tmp / f"grown-{factor}.jsonl"
        if not grown.exists():
            grow(base, n_base * factor, grown, seed=factor)
        lines = grown.read_text().splitlines(keepends=True)[n_base:]
        for part, start in enumerate(range(0, len(lines), n_base), start=1):
            chunk = "".join(lines[start : start + n_base])
            (root / "data" / f"part-{part:03d}.jsonl").write_text(chunk)
    rows = [json.loads(line) for line in base.read_text().splitlines()[:BATCH]]
    batch = [{"text": f"{r['text']} for the benchmark", "intent": r["intent"]} for r in rows]
    (root / "inbox" / "batch.jsonl").write_text("".join(json.dumps(r) + "\n" for r in batch))
    run = subprocess.run(
        [sys.executable, __file__, "--cycle", str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=True,
    )
    return {"mode": mode, "factor": factor, "rows": n_base * factor, **json.loads(run.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--cycle", type=Path, help=argparse.SUPPRESS)  # the measured process
    args = parser.parse_args()
    if args.cycle is not None:
        print(json.dumps(cycle(args.cycle)))
        return
    with tempfile.TemporaryDirectory(prefix="stream-loop-") as folder:
        tmp = Path(folder)
        templates = {
            mode: make_project(tmp / f"{mode}-template", mode) for mode in ("stream", "memory")
        }
        rows = [
            measure(templates[mode], mode, factor, tmp)
            for factor in args.factors
            for mode in ("stream", "memory")
        ]
    print("| rows | mode | peak RSS MB | seconds | ingested | counted new |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['rows']:,} | {row['mode']} | {row['peak_rss_mb']:,} | {row['seconds']} | "
            f"{row['ingested']} | {row['counted_new']} |"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
