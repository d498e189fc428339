"""Benchmark of the continual loop: new data lands -> the server answers with the new model.

A scratch project holds CLINC150's in-scope training set minus 1,000 examples (read from
../shared/datasets by path; the subset is written under bench/out, never into the repo). Version
1.0 is trained cold and served by ``lifelong serve`` (polling the champion alias every 0.5 s).
Then the 1,000 held-back examples land in the inbox as one file and the clock starts:
``lifelong update`` ingests, snapshots, checks triggers, fine-tunes, gates and promotes; the
clock stops when /predict first answers with the promoted version. Target: <= 30 s on 2 cores
with the fast pipeline. Prints a markdown table of the stages (median over --repeat runs).
The gate runs with the project defaults: every project draws its own split salt, so runs see
different test sets, and a run whose update the gate rejects is reported with its stage times
and the reason (its "served" time does not exist).

    .venv/bin/python bench/loop.py [--repeat 3] [--data all|new+replay]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from lifelong.serving.process import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "loop"
DATA = ROOT.parent / "shared" / "datasets" / "clinc150"
HELD_BACK = 1000


def lifelong(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lifelong.cli.main", "--project", str(project), *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"`lifelong {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
    return done


def make_project(folder: Path, finetune_data: str) -> list[str]:
    """A project on CLINC150 minus HELD_BACK examples; returns the held-back JSONL lines."""
    if folder.exists():
        shutil.rmtree(folder)
    lines = (DATA / "train.jsonl").read_text().splitlines()
    random.Random(0).shuffle(lines)
    held, kept = lines[:HELD_BACK], lines[HELD_BACK:]
    lifelong(folder, "init", str(folder), "--no-sample")
    (folder / "data" / "clinc_train.jsonl").write_text("\n".join(kept) + "\n")
    config = yaml.safe_load((folder / "config.yml").read_text())
    config["finetune"]["data"] = finetune_data
    config["policy"]["triggers"] = {"time": None, "performance": None, "drift": None}
    config["server"] = {"poll_interval": 0.5}
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    return held


def served_version(url: str) -> str | None:
    try:
        answer = httpx.post(f"{url}/predict", json={"text": "what is my balance"}, timeout=2)
        return str(answer.json()["version"]) if answer.status_code == 200 else None
    except httpx.HTTPError:
        return None


def one_run(project: Path, held: list[str], url: str) -> dict[str, Any]:
    before = served_version(url)
    started = time.perf_counter()
    inbox = project / "inbox"
    (inbox / ".landing.jsonl").write_text("\n".join(held) + "\n")
    (inbox / ".landing.jsonl").rename(inbox / f"batch-{time.time_ns()}.jsonl")
    done = lifelong(project, "update", "--json", check=False)
    update_s = time.perf_counter() - started
    record = json.loads(done.stdout.strip().splitlines()[-1])
    stages = {f"{k} s": v for k, v in record["durations"].items()}
    if record["outcome"] != "promoted":
        reasons = lifelong(project, "models", "show", record["versions"][0], "--json").stdout
        verdict = json.loads(reasons).get("verdict") or {}
        return {
            "from": before,
            "outcome": record["outcome"],
            "reason": (verdict.get("reasons") or [record.get("error")])[0],
            **stages,
            "update process s": round(update_s, 2),
        }
    target = record["versions"][0]
    while served_version(url) != target:
        time.sleep(0.05)
        if time.perf_counter() - started > 600:
            raise SystemExit("the server never answered with the promoted version")
    total = time.perf_counter() - started
    return {
        "from": before,
        "to": target,
        "outcome": "promoted",
        **stages,
        "update process s": round(update_s, 2),
        "swap wait s": round(total - update_s, 2),
        "total s": round(total, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", choices=["all", "new+replay"], default="all")
    args = parser.parse_args()
    rows = []
    for run in range(args.repeat):
        project = OUT / f"project-{run}"
        held = make_project(project, args.data)
        started = time.perf_counter()
        lifelong(project, "train")
        cold_s = time.perf_counter() - started
        with ServerProcess(project) as server:
            row = one_run(project, held, server.url)
        row["cold 1.0 s"] = round(cold_s, 2)
        rows.append(row)
        print(f"run {run + 1}: {row}", flush=True)
    keys = list(dict.fromkeys(k for row in rows for k in row if k.endswith(" s")))
    print(f"\n| stage (finetune.data = {args.data}) | median s | runs |")
    print("| --- | ---: | --- |")
    for key in keys:
        values = [float(r[key]) for r in rows if key in r]
        print(
            f"| {key[:-2]} | {statistics.median(values):.2f} | "
            f"{', '.join(f'{v:.2f}' for v in values)} |"
        )
    for row in rows:
        if row["outcome"] != "promoted":
            print(f"\na run was {row['outcome']} by the gate: {row['reason']}")
    served = [float(r["total s"]) for r in rows if "total s" in r]
    if served:
        total = statistics.median(served)
        print(
            f"\ntarget: new data -> promoted model served in <= 30 s: median {total:.1f} s "
            f"over {len(served)} promoted run(s) ({'met' if total <= 30 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
