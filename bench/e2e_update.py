"""Benchmark of an update end to end: whole ``lifelong train --finetune`` processes against whole
``lifelong train`` processes, and where each one's seconds go.

The project is made as a user makes it: ``lifelong init --no-sample``, the first 90% of a data
set's train split (a seeded shuffle) in ``data/part0.jsonl``, one cold ``lifelong train``, and
the other 10%'s sentence vectors put into the project's embedding cache (:data:`WARM`), so no
timed run pays MiniLM for them (``init`` writes the MiniLM recipe when the encoder is installed;
the bench prints the project's pipeline and update). Each timed run starts from a fresh copy of
that project with the other 10% added as ``data/part1.jsonl``, then runs ``train --finetune
--json`` or ``train --json`` in a new process (output to a pipe). Runs alternate (update, cold,
and with ``--baseline-src`` this tree and the baseline in turn), so a drift of a shared host
hits all alike. Figures are medians over ``--repeat`` rounds.

Each child runs the command in-process through :func:`_child`, which first times the imports
and wraps a fixed list of functions (:data:`PHASES`) with wall-clock timers, a few dozen calls
in all, so the phases are measured without a profiler's overhead. ``start`` is the time from
spawning the process to the child's first line (interpreter start), ``exit`` from the
command's return to the process's end (interpreter shutdown, freeing the tables). Phases of a
baseline tree without a function (an older tree) are left blank.

    PYTHONPATH=src python bench/e2e_update.py [--repeat 3] [--baseline-src DIR]
        [--data /work/shared/datasets/clinc150/train.jsonl] [--threads N]
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATA = Path("/work/shared/datasets/clinc150/train.jsonl")

# (phase, "module:attribute.path"): each is timed inclusively every time it is called.
PHASES = [
    ("project open", "lifelong.cli.train:load_project"),
    ("registry open", "lifelong.cli.train:open_project_registry"),
    ("data read+validate+split", "lifelong.pipelines.retrain:load_dataset"),
    ("data check", "lifelong.pipelines.retrain:check_trainable"),
    ("parent load", "lifelong.pipelines.retrain:_resolve_parent"),
    ("data id", "lifelong.pipelines.retrain:snapshot_id"),
    ("train()", "lifelong.pipelines.retrain:train"),
    ("make featurizer", "lifelong.training.api:make_featurizer"),
    ("featurize", "lifelong.features.hashing:HashedNGrams.transform"),
    ("embeddings (cache read)", "lifelong.features.embeddings:SentenceEmbeddings.transform"),
    ("MiniLM encode (cache misses)", "lifelong.features.embeddings:SentenceEmbeddings._encode"),
    ("build model", "lifelong.training.api:build_model"),
    ("warm copy", "lifelong.training.api:trainable_copy"),
    ("fit", "lifelong.training.trainer:Trainer.fit_batches"),
    ("optimizer setup", "lifelong.training.trainer:Trainer._optimizers"),
    ("valid scoring", "lifelong.models.objective:Classification.score"),
    ("rows kept", "lifelong.training.api:trained_rows"),
    ("compaction", "lifelong.training.api:compact_table"),
    ("replay sample", "lifelong.training.api:replay_sample"),
    ("evaluate", "lifelong.pipelines.retrain:measure"),
    ("data diff", "lifelong.pipelines.retrain:_data_diff"),
    ("snapshot write", "lifelong.registry.registry:Registry.put_snapshot"),
    ("register", "lifelong.pipelines.retrain:_register"),
    ("gate", "lifelong.cli.train:judge"),
    ("print JSON", "lifelong.cli.train:print_json"),
]


def _timed(name: str, function: Callable[..., Any], totals: dict[str, float]) -> Any:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - started

    return timed


def _wrap(name: str, target: str, totals: dict[str, float]) -> None:
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, attribute = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    if hasattr(owner, attribute):
        setattr(owner, attribute, _timed(name, getattr(owner, attribute), totals))


def _timed_epochs(epochs: list[float]) -> None:
    """Record each epoch's pass over the batches (training steps, not the valid scoring)."""
    from lifelong.training.trainer import ArrayBatches

    original = ArrayBatches.epoch

    def epoch(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        started = time.perf_counter()
        yield from original(self, *args, **kwargs)
        epochs.append(time.perf_counter() - started)

    ArrayBatches.epoch = epoch  # type: ignore[method-assign]


def _child(out: Path, args: list[str]) -> None:
    """Run ``lifelong ARGS`` in this process, timing its phases; write them to ``out``."""
    first_line = time.time()
    started = time.perf_counter()
    import lifelong.cli.main as cli
    import lifelong.cli.train  # noqa: F401  (the command's module, imported when it runs)

    totals: dict[str, float] = {"imports": time.perf_counter() - started}
    for name, target in PHASES:
        _wrap(name, target, totals)
    epochs: list[float] = []
    _timed_epochs(epochs)
    sys.argv = ["lifelong", *args]
    code: object = 0
    try:
        cli.main()
    except SystemExit as done:
        code = done.code
    record = {"first_line": first_line, "command": time.perf_counter() - started}
    record |= {"phases": totals, "epochs": epochs, "done": time.time()}
    out.write_text(json.dumps(record), encoding="utf-8")
    raise SystemExit(code)


def _env(src: Path, threads: int | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT / 'bench'}"}
    env["HF_HUB_OFFLINE"] = "1"
    env.pop("LIFELONG_STORE_URL", None)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def run(src: Path, project: Path, args: list[str], threads: int | None) -> dict[str, Any]:
    """One whole ``lifelong ARGS`` process from tree ``src``: wall, CPU, phases, timings."""
    phases_file = project / ".bench-phases.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    spawned = time.time()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "import e2e_update, sys; e2e_update._child_main()", *args],
        cwd=project,
        env={**_env(src, threads), "E2E_PHASES_OUT": str(phases_file)},
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"`lifelong {' '.join(args)}` from {src}:\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = json.loads(phases_file.read_text(encoding="utf-8"))
    summary = json.loads(done.stdout)
    phases = dict(child["phases"])
    phases["start"] = child["first_line"] - spawned
    phases["exit"] = ended - child["done"]
    return {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "phases": phases,
        "epoch_s": child["epochs"],
        "timings": summary["timings"],
        "epochs_run": summary["training"]["epochs_run"],
        "n_train": summary["training"]["n_train"],
        "accuracy": summary["metrics"].get("accuracy"),
    }


def _child_main() -> None:
    _child(Path(os.environ["E2E_PHASES_OUT"]), sys.argv[1:])


def make_base(folder: Path, data: Path, src: Path, threads: int | None) -> tuple[Path, Path]:
    """A project trained cold on 90% of ``data``, and the file of the other 10%."""
    rows = data.read_text(encoding="utf-8").splitlines()
    random.Random(0).shuffle(rows)
    cut = len(rows) * 9 // 10
    base = folder / "base"
    command = [sys.executable, "-m", "lifelong.cli.main"]
    env = _env(src, threads)
    subprocess.run([*command, "init", "--no-sample", str(base)], env=env, check=True)
    (base / "data" / "part0.jsonl").write_text("\n".join(rows[:cut]) + "\n", encoding="utf-8")
    rest = folder / "part1.jsonl"
    rest.write_text("\n".join(rows[cut:]) + "\n", encoding="utf-8")
    trained = subprocess.run(
        [*command, "train", "--json"], cwd=base, env=env, capture_output=True, text=True
    )
    if trained.returncode != 0:
        raise SystemExit(trained.stderr)
    warmed = subprocess.run(
        [sys.executable, "-c", WARM, str(rest)], cwd=base, env=env, capture_output=True, text=True
    )
    if warmed.returncode != 0:
        raise SystemExit(warmed.stderr)
    print(f"project pipeline (init's): {warmed.stdout.strip()}", flush=True)
    return base, rest


# Embeds the new examples into the project's cache, as a user's project has them once it served
# or evaluated them: neither side of a pair pays MiniLM for texts it has seen (both would alike).
WARM = """
import json, sys
from pathlib import Path
from lifelong.core.types import normalize_text
from lifelong.features import make_featurizer
from lifelong.pipelines.session import embedding_cache
from lifelong.project import Project
project = Project.load(Path.cwd())
lines = Path(sys.argv[1]).read_text().splitlines()
texts = [normalize_text(json.loads(line)["text"]) for line in lines]
make_featurizer(project.config.pipeline, embedding_cache(project)).transform(texts)
print(project.config.pipeline.model_dump_json(), project.config.finetune.model_dump_json())
"""


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(results: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    """Markdown: one column per (tree, command), a row per phase, medians of the runs."""
    columns = list(results)
    names = ["start", "imports", *(name for name, _ in PHASES), "exit"]
    head = "| seconds (median) | " + " | ".join(f"{t}: {c}" for t, c in columns) + " |"
    rows = [head, "| --- |" + " ---: |" * len(columns)]

    def row(label: str, pick: Callable[[dict[str, Any]], float | None]) -> None:
        cells = []
        for column in columns:
            values = [v for v in map(pick, results[column]) if v is not None]
            cells.append(f"{_median(values):.2f}" if values else "")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")

    row("**wall (whole process)**", lambda r: r["wall"])
    row("CPU (user+sys)", lambda r: r["cpu"])
    for name in names:
        row(name, lambda r, name=name: r["phases"].get(name))
    row("timings.featurize", lambda r: r["timings"].get("featurize"))
    row("timings.train", lambda r: r["timings"].get("train"))
    row("timings.evaluate", lambda r: r["timings"].get("evaluate"))
    row("epochs run", lambda r: r["epochs_run"])
    row("s per epoch (steps only)", lambda r: _median(r["epoch_s"]))
    row("s per epoch after the first", lambda r: _median(r["epoch_s"][1:]))
    row("first epoch", lambda r: r["epoch_s"][0])
    row("train - setup, per epoch", lambda r: _per_epoch(r))
    row("test accuracy", lambda r: r["accuracy"])
    return "\n".join(rows)


def _per_epoch(result: dict[str, Any]) -> float:
    """``timings.train`` less the optimizer's set-up, per epoch run."""
    setup = result["phases"].get("optimizer setup", 0.0)
    return float((result["timings"]["train"] - setup) / result["epochs_run"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--baseline-src", type=Path, help="another tree's src folder")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of every run")
    parser.add_argument("--keep", type=Path, help="write the raw runs here (JSON)")
    args = parser.parse_args()
    trees = {"this tree": ROOT / "src"}
    if args.baseline_src:
        trees["baseline"] = args.baseline_src.resolve()
    commands = {"update": ["train", "--finetune", "--json"], "cold": ["train", "--json"]}
    results: dict[tuple[str, str], list[dict[str, Any]]] = {
        (t, c): [] for t in trees for c in commands
    }
    with tempfile.TemporaryDirectory() as scratch:
        base, rest = make_base(Path(scratch), args.data, ROOT / "src", args.threads)
        for _ in range(args.repeat):
            for tree, src in trees.items():
                for command, words in commands.items():
                    project = Path(scratch) / "run"
                    shutil.rmtree(project, ignore_errors=True)
                    shutil.copytree(base, project)
                    shutil.copy(rest, project / "data" / "part1.jsonl")
                    results[tree, command].append(run(src, project, words, args.threads))
    load = os.getloadavg()
    text = table(results)
    ratios = []
    for tree in trees:
        pairs = zip(results[tree, "update"], results[tree, "cold"], strict=True)
        walls = [update["wall"] / cold["wall"] for update, cold in pairs]
        shown = ", ".join(f"{w:.3f}" for w in walls)
        ratios.append(f"{tree}: update / cold wall {_median(walls):.3f} (per pair: {shown})")
    text += f"\n\nmedians of {args.repeat} rounds; " + "; ".join(ratios)
    text += f"; load average at the end {load[0]:.2f}"
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "e2e_update.md").write_text(text + "\n", encoding="utf-8")
    if args.keep:
        raw = {f"{t}: {c}": runs for (t, c), runs in results.items()}
        args.keep.write_text(json.dumps(raw, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
