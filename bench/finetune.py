"""Benchmark: fine-tuning strategies against cold retraining as data arrives in chunks.

The training split arrives as 50%, then five 10% chunks (shuffled by the seed). After each
chunk every method is scored on the full test split:

- ``cold``: the pipeline retrained from scratch on all data so far (always run: the reference);
- ``warm``: the previous ``warm`` model fine-tuned on all data for ``epoch_fraction`` of the
  epochs (head surgery for new intents);
- ``shrink_perturb``: likewise, starting from shrink * parent + perturb * fresh;
- ``new+replay``: warm start on the new chunk plus a class-balanced replay sample, at a quarter
  of the cold learning rates; ``+lwf`` and ``+ewc`` add the anti-forgetting regularizers;
- ``tfidf+lr``: scikit-learn TF-IDF (word 1-2 + char_wb 2-5) + LogisticRegression, cold;
- ``sgd``: HashingVectorizer + SGDClassifier, ``partial_fit`` on the new chunk only.

Each of ``--seeds N`` seeds sets both the chunk shuffle and ``Training.seed``, so the spread
covers which examples arrive when as well as initialisation and batch order. The tables give
per step "mean +- sd" over seeds; the summary says, per method, whether every update step's
mean is within 0.2 pt of cold's mean (the band of issue 20) and at what fraction of its time,
on test and on valid, and the mean test ECE. Valid chooses the fastest variant inside the
band; test only reports. ``--variant NAME:KEY=VALUE,...`` adds an update method: init's
``new+replay`` with those ``finetune`` keys changed (e.g. ``rs4000:replay_size=4000``).

Wall time is featurize + train with the embedding cache warm for everyone. Data sets are read by
path from ``../shared/datasets`` (never copied). Run from the project root::

    HF_HUB_OFFLINE=1 PYTHONPATH=src python bench/finetune.py [--quick] [--dataset clinc150]
        [--seeds 3] [--pipeline ngrams minilm] [--methods cold,warm,sgd] [--baselines last]

``--e2e`` times whole ``lifelong train`` processes instead, as a user runs them, on a temporary
project: cold on all data against ``--finetune`` from the model of the first 90%, in
alternating pairs (see :func:`end_to_end`)::

    HF_HUB_OFFLINE=1 PYTHONPATH=src python bench/finetune.py --e2e --dataset clinc150 --pairs 3
        [--config-set finetune.data=new+replay --config-set finetune.lr_scale=0.25]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline, make_union

from lifelong.config import (
    Distill,
    Ewc,
    Finetune,
    Pipeline,
    Training,
    apply_overrides,
    parse_config,
    read_config_mapping,
)
from lifelong.core import atomic_write_text
from lifelong.core.types import Example
from lifelong.evaluation.metrics import calibration
from lifelong.features import make_featurizer
from lifelong.models import ModelBundle
from lifelong.scaffold import MINILM_RECIPE
from lifelong.training import train

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
# The update `lifelong init` writes with MiniLM: a quarter of the cold learning rates, since
# hundreds of steps of fresh Adam moments at the full rate jolt a converged parent (-0.9 points
# from cold on BANKING77 at 1.0, -0.1 at 0.25).
REPLAY = Finetune(init="warm", epoch_fraction=0.2, **MINILM_RECIPE["finetune"])
FINETUNES = {
    "warm": Finetune(init="warm", epoch_fraction=0.2),
    "shrink_perturb": Finetune(init="shrink_perturb", shrink=0.8, perturb=0.01),
    "new+replay": REPLAY,
    "new+replay+lwf": REPLAY.model_copy(update={"distill": Distill(weight=1)}),
    "new+replay+ewc": REPLAY.model_copy(update={"ewc": Ewc(weight=1)}),
}
METHODS = ["cold", *FINETUNES, "tfidf+lr", "sgd"]
PIPELINES = {
    # the package defaults are tuned for hashed n-grams alone
    "ngrams": (Pipeline(), Training()),
    # what `lifelong init` writes with the encoder: a narrow bag, gentle rates, the last epoch
    "minilm": (
        Pipeline.model_validate(MINILM_RECIPE["pipeline"]),
        Training.model_validate(MINILM_RECIPE["training"]),
    ),
}
BAND = 0.2
"""Points an update step's mean may fall below cold's mean and still count as "as good"."""


def add_variant(spec: str) -> str:
    """Register ``NAME:KEY=VALUE,...`` as an update method: ``new+replay`` (init's update) with
    those ``finetune`` keys changed (YAML values, validated). Returns NAME."""
    name, _, edits = spec.partition(":")
    changes = {k: yaml.safe_load(v) for k, v in (e.split("=", 1) for e in edits.split(","))}
    if not name or name in METHODS:
        raise ValueError(f"--variant {spec!r}: a new method name comes before the ':'")
    FINETUNES[name] = Finetune.model_validate(REPLAY.model_dump() | changes)
    METHODS.insert(METHODS.index("tfidf+lr"), name)
    return name


def read(path: Path) -> list[Example]:
    with path.open(encoding="utf-8") as handle:
        return [Example.make(r["text"], r["intent"]) for r in map(json.loads, handle)]


def load(name: str, root: Path) -> tuple[list[Example], list[Example], list[Example]]:
    """Train, valid and test examples; BANKING77 has no valid split, so 10% of train (by
    content hash, stable) becomes one."""
    folder = root / name
    train_set, test = read(folder / "train.jsonl"), read(folder / "test.jsonl")
    if (folder / "valid.jsonl").is_file():
        return train_set, read(folder / "valid.jsonl"), test
    valid = [e for e in train_set if int(e.hash[:8], 16) % 10 == 0]
    return [e for e in train_set if int(e.hash[:8], 16) % 10 != 0], valid, test


def chunks(examples: list[Example], fractions: Sequence[float], seed: int) -> list[list[Example]]:
    shuffled = examples[:]
    random.Random(seed).shuffle(shuffled)
    bounds = np.cumsum([0, *fractions]) * len(shuffled)
    return [shuffled[int(a) : int(b)] for a, b in itertools.pairwise(bounds)]


def accuracy(predicted: Sequence[str], examples: Sequence[Example]) -> float:
    return float(np.mean([p == e.label for p, e in zip(predicted, examples, strict=True)]))


def timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def tfidf_lr_model() -> Any:
    """The TF-IDF + LogisticRegression baseline, unfitted (also ``bench/pipelines.py``'s)."""
    return make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(C=10, max_iter=300),
    )


Predict = Callable[[list[str]], tuple[list[str], Any]]
"""Texts to predicted labels and the probability matrix (one row per text)."""


def sklearn_predict(model: Any) -> Predict:
    """A fitted scikit-learn classifier as a :data:`Predict`."""

    def predict(texts: list[str]) -> tuple[list[str], Any]:
        proba = model.predict_proba(texts)
        return list(model.classes_[proba.argmax(axis=1)]), proba

    return predict


def tfidf_lr(data: list[Example]) -> Predict:
    model = tfidf_lr_model()
    model.fit([e.text for e in data], [e.label for e in data])
    return sklearn_predict(model)


class OnlineSGD:
    """The classic incremental baseline: hashed features, ``partial_fit`` on new data only."""

    def __init__(self, labels: list[str], seed: int) -> None:
        self.labels = labels
        self.vectorizers = [
            HashingVectorizer(n_features=1 << 18, ngram_range=(1, 2), alternate_sign=False),
            HashingVectorizer(
                n_features=1 << 18, analyzer="char_wb", ngram_range=(2, 5), alternate_sign=False
            ),
        ]
        self.model = SGDClassifier(loss="log_loss", alpha=1e-5, random_state=seed)

    def _x(self, texts: list[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self.vectorizers]).tocsr()

    def update(self, data: list[Example]) -> None:
        x, y = self._x([e.text for e in data]), [e.label for e in data]
        for _ in range(5):
            self.model.partial_fit(x, y, classes=self.labels)

    def predict(self, texts: list[str]) -> tuple[list[str], Any]:
        proba = self.model.predict_proba(self._x(texts))
        return list(self.model.classes_[proba.argmax(axis=1)]), proba


def run(name: str, recipe: str, seed: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One seed of the chunked protocol: a row per step with each method's test accuracy and
    seconds. ``args`` supplies ``datasets``, ``out``, ``quick``, ``methods`` and ``baselines``
    (``last``: TF-IDF + LR at the last step only; ``sgd`` must see every chunk, so it always
    runs)."""
    train_all, valid, test = load(name, args.datasets)
    fractions = [0.5, 0.1, 0.1] if args.quick else [0.5, 0.1, 0.1, 0.1, 0.1, 0.1]
    parts = chunks(train_all, fractions, seed=seed)
    pipeline, defaults = PIPELINES[recipe]
    training = defaults.model_copy(update={"seed": seed})
    cache = args.out / "cache"
    # warm the embedding cache for everyone: no method pays for MiniLM in its timings
    make_featurizer(pipeline, cache).transform([e.text for e in [*train_all, *valid, *test]])
    common = {"pipeline": pipeline, "training": training, "cache_dir": cache, "progress": False}

    def fit(data: list[Example], **kwargs: Any) -> tuple[ModelBundle, float]:
        outcome = train(data, valid, **common, **kwargs)
        timings = outcome.report["timings"]
        return outcome.bundle, timings["featurize_s"] + timings["train_s"]

    def scored(predict: Predict, seconds: float) -> dict[str, float]:
        """Test accuracy and ECE, valid accuracy (the split that decides), ``seconds``."""
        labels, proba = predict([e.text for e in test])
        correct = np.array([p == e.label for p, e in zip(labels, test, strict=True)])
        valid_labels, _ = predict([e.text for e in valid])
        return {
            "accuracy": float(correct.mean()),
            "ece": calibration(np.asarray(proba).max(axis=1), correct).ece,
            "valid": accuracy(valid_labels, valid),
            "seconds": seconds,
        }

    updates = {m: f for m, f in FINETUNES.items() if m in args.methods}
    rows: list[dict[str, Any]] = []
    sgd = OnlineSGD(sorted({e.label for e in train_all}), seed)
    parents: dict[str, ModelBundle] = {}
    seen: list[Example] = []
    for step, chunk in enumerate(parts):
        previous, seen = seen, [*seen, *chunk]
        row: dict[str, Any] = {
            "dataset": name,
            "pipeline": recipe,
            "seed": seed,
            "step": step,
            "n_train": len(seen),
        }
        cold, seconds = fit(seen)
        row["cold"] = scored(cold.predict, seconds)
        for method, finetune in updates.items():
            if step == 0:
                parents[method] = cold
                continue
            bundle, seconds = fit(
                seen, finetune=finetune, parent=parents[method], previous=previous
            )
            parents[method], row[method] = bundle, scored(bundle.predict, seconds)
        last = step == len(parts) - 1
        if "tfidf+lr" in args.methods and (args.baselines == "every" or last):
            predict, seconds = timed(tfidf_lr, seen)
            row["tfidf+lr"] = scored(predict, seconds)
        if "sgd" in args.methods:
            _, seconds = timed(sgd.update, chunk)
            row["sgd"] = scored(sgd.predict, seconds)
        rows.append(row)
        cells = " ".join(
            f"{m}={100 * row[m]['accuracy']:.2f}%/{row[m]['seconds']:.1f}s"
            for m in METHODS
            if m in row
        )
        print(f"{name} {recipe} seed {seed} step {step}: {cells}", flush=True)
    return rows


def groups(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Rows by (data set, pipeline), in order of appearance."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault((row["dataset"], row["pipeline"]), []).append(row)
    return out


def per_step(
    rows: Sequence[dict[str, Any]], method: str, key: str = "accuracy"
) -> dict[int, tuple[float, float, float]]:
    """For each step ``method`` ran at: mean and sd over seeds of ``key`` (test ``accuracy``,
    ``valid`` accuracy or test ``ece``; x 100, so accuracies are points), mean seconds. One data
    set and pipeline's rows; rows without ``key`` (runs from before it existed) are skipped."""
    out = {}
    for step in sorted({r["step"] for r in rows if key in r.get(method, {})}):
        at = [r[method] for r in rows if r["step"] == step and key in r.get(method, {})]
        points = [100 * a[key] for a in at]
        sd = statistics.stdev(points) if len(points) > 1 else 0.0
        out[step] = (statistics.mean(points), sd, statistics.mean(a["seconds"] for a in at))
    return out


def verdicts(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per data set, pipeline and non-cold method, over the update steps (1 and on) where it
    ran: the worst and median delta of its mean against cold's mean (points), the median of
    its mean time over cold's, and whether every step is inside the band; the same worst delta
    and band on the valid split (``None`` without valid scores), which is what chooses a
    variant, and the mean test ECE over those steps (``None`` without)."""
    out = []
    for (name, recipe), subset in groups(rows).items():
        cold = per_step(subset, "cold")
        cold_valid = per_step(subset, "cold", "valid")
        for method in METHODS[1:]:
            mine = per_step(subset, method)
            steps = [t for t in mine if t > 0 and t in cold]
            if not steps:
                continue
            deltas = [mine[t][0] - cold[t][0] for t in steps]
            worst = min(deltas)
            valid = per_step(subset, method, "valid")
            valid_steps = [t for t in steps if t in valid and t in cold_valid]
            valid_worst = (
                min(valid[t][0] - cold_valid[t][0] for t in valid_steps) if valid_steps else None
            )
            ece = per_step(subset, method, "ece")
            out.append(
                {
                    "dataset": name,
                    "pipeline": recipe,
                    "method": method,
                    "steps": len(steps),
                    "worst_delta": worst,
                    "median_delta": statistics.median(deltas),
                    "median_ratio": statistics.median(mine[t][2] / cold[t][2] for t in steps),
                    # a hair of float slack: a delta of exactly -0.2 points is inside
                    "in_band": worst >= -BAND - 1e-9,
                    "valid_worst_delta": valid_worst,
                    "valid_in_band": None if valid_worst is None else valid_worst >= -BAND - 1e-9,
                    "ece": statistics.mean(ece[t][0] / 100 for t in steps if t in ece)
                    if any(t in ece for t in steps)
                    else None,
                }
            )
    return out


def fastest_in_band(found: Sequence[dict[str, Any]], name: str, recipe: str) -> str:
    """The update variant (not a baseline) inside the band at every step with the smallest
    median time ratio, or a sentence saying there is none. The valid split's band chooses when
    every variant has valid scores (the test split only reports); older rows fall back to the
    test's."""
    mine = [
        v
        for v in found
        if (v["dataset"], v["pipeline"]) == (name, recipe) and v["method"] in FINETUNES
    ]
    by_valid = bool(mine) and all(v["valid_in_band"] is not None for v in mine)
    where = " on valid" if by_valid else ""
    inside = [v for v in mine if v["valid_in_band" if by_valid else "in_band"]]
    if not inside:
        return (
            f"{name} ({recipe}): no update variant is within {BAND} pt of cold at every step{where}"
        )
    best = min(inside, key=lambda v: v["median_ratio"])
    valid = f", valid {best['valid_worst_delta']:+.2f}" if by_valid else ""
    return (
        f"{name} ({recipe}): fastest update variant inside the band at every step{where}: "
        f"{best['method']} ({best['median_ratio']:.1%} of cold's time, worst step "
        f"{best['worst_delta']:+.2f} pt on test{valid})"
    )


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """Per data set and pipeline, a table of steps: "mean +- sd" accuracy (points) over seeds
    and mean featurize + train seconds, per method."""
    out = []
    for (name, recipe), subset in groups(rows).items():
        methods = [m for m in METHODS if any(m in r for r in subset)]
        stats = {m: per_step(subset, m) for m in methods}
        seeds = len({r["seed"] for r in subset})
        out += [
            f"### {name} ({recipe}): test accuracy, mean +- sd over {seeds} seed(s) (points), "
            "mean featurize + train s",
            "",
            "| step | n train | " + " | ".join(methods) + " |",
            "|---:|---:|" + "---|" * len(methods),
        ]
        for step in sorted({r["step"] for r in subset}):
            n_train = next(r["n_train"] for r in subset if r["step"] == step)
            cells = []
            for method in methods:
                value = stats[method].get(step)
                cells.append(
                    "-" if value is None else f"{value[0]:.2f} +- {value[1]:.2f} ({value[2]:.1f} s)"
                )
            out.append(f"| {step} | {n_train} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def summary(rows: Sequence[dict[str, Any]]) -> str:
    """The band verdicts as a table, then the fastest variant inside the band per data set."""
    found = verdicts(rows)
    lines = [
        f"| data | pipeline | method | update steps | worst step delta vs cold (pt) | "
        f"median delta (pt) | median time / cold | every step within {BAND} pt | "
        "valid: worst step delta (pt) | valid: every step in band | test ECE (mean) |",
        "|---|---|---|---:|---:|---:|---:|---|---:|---|---:|",
    ]
    for v in found:
        valid, ece = v["valid_worst_delta"], v["ece"]
        lines.append(
            f"| {v['dataset']} | {v['pipeline']} | {v['method']} | {v['steps']} | "
            f"{v['worst_delta']:+.2f} | {v['median_delta']:+.2f} | {v['median_ratio']:.1%} | "
            f"{'yes' if v['in_band'] else 'no'} | "
            + (
                "- | - |"
                if valid is None
                else f"{valid:+.2f} | {'yes' if valid >= -BAND - 1e-9 else 'no'} |"
            )
            + (" - |" if ece is None else f" {ece:.3f} |")
        )
    lines.append("")
    for (name, recipe), subset in groups(rows).items():
        ece = [mean for mean, _, _ in per_step(subset, "cold", "ece").values()]
        if ece:
            mean = statistics.mean(ece) / 100
            lines.append(f"{name} ({recipe}): cold's test ECE, mean over steps {mean:.3f}")
    lines += [fastest_in_band(found, name, recipe) for name, recipe in groups(rows)]
    return "\n".join(lines)


def plot(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Per data set and pipeline: mean accuracy per step with a +- sd band, and mean time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    grouped = groups(rows)
    figure, axes = plt.subplots(2, len(grouped), figsize=(6 * len(grouped), 8), squeeze=False)
    for column, ((name, recipe), subset) in enumerate(grouped.items()):
        for method in METHODS:
            stats = per_step(subset, method)
            if not stats:
                continue
            steps = list(stats)
            mean = np.array([stats[t][0] for t in steps])
            sd = np.array([stats[t][1] for t in steps])
            (line,) = axes[0][column].plot(steps, mean, marker="o", label=method)
            axes[0][column].fill_between(
                steps, mean - sd, mean + sd, color=line.get_color(), alpha=0.15
            )
            axes[1][column].plot(steps, [stats[t][2] for t in steps], marker="o", label=method)
        axes[0][column].set(title=f"{name} ({recipe}): test accuracy (%)", xlabel="chunk")
        axes[1][column].set(
            title=f"{name} ({recipe}): featurize + train (s)", xlabel="chunk", yscale="log"
        )
        axes[0][column].legend()
        for axis in axes[:, column]:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # chunks are whole
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


# --- end to end: whole processes, as a user runs them ---------------------------------------

CLI = [sys.executable, "-m", "lifelong.cli.main"]
# what `lifelong train` imports before it trains: the CLI and the training stack (torch)
IMPORTS = "import lifelong.cli.main, lifelong.cli.train, lifelong.training"
SALT = "finetune-e2e"


def lifelong(project: Path, *args: str) -> tuple[str, float]:
    """Run ``lifelong ARGS`` in ``project`` as a user would (a new process); its stdout and
    wall seconds. A failure stops the benchmark with the command's stderr."""
    started = time.perf_counter()
    done = subprocess.run([*CLI, *args], cwd=project, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"lifelong {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout, wall


def train_run(project: Path, kind: str, *args: str) -> dict[str, Any]:
    """One timed ``lifelong train --json`` process and what its summary says about it."""
    stdout, wall = lifelong(project, "train", "--json", *args)
    result = json.loads(stdout[stdout.index("{") :])
    timings = {k: float(v) for k, v in result["timings"].items()}
    info = result["training"]
    return {
        "kind": kind,
        "version": result["version"],
        "parent": result["parent"],
        "wall_s": wall,
        "timings": timings,
        "outside_s": wall - sum(timings.values()),
        # examples new since the parent's (an update) or the latest snapshot (a cold run)
        "added": result["data_diff"]["added"],
        "n_train": info["n_train"],
        "epochs_run": info["epochs_run"],
        "best_epoch": info["best_epoch"],
        "accuracy": result["metrics"]["accuracy"],
    }


def config_set(path: Path, assignments: Sequence[str]) -> None:
    """Apply ``KEY=VALUE`` edits (dotted keys, YAML values: the package's own ``--set``
    parser) to a project's config.yml, validated before the file is replaced."""
    raw = apply_overrides(read_config_mapping(path), list(assignments))
    parse_config(raw, where=str(path), overrides=list(assignments))
    atomic_write_text(path, yaml.safe_dump(raw, sort_keys=False))


def startup(repeats: int = 5) -> dict[str, float]:
    """Median wall seconds of a bare interpreter and of one that imports what ``lifelong
    train`` needs, each a new process (the fixed cost every command pays before any work)."""

    def median_wall(code: str) -> float:
        walls = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            walls.append(time.perf_counter() - started)
        return statistics.median(walls)

    return {"python_s": median_wall("pass"), "python_and_imports_s": median_wall(IMPORTS)}


def end_to_end(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Cold ``lifelong train`` on all data against ``lifelong train --finetune V`` from the
    model V of the first 90%, in ``args.pairs`` alternating pairs on one temporary project.

    The project's split salt is fixed, so every run, config and variant tests on the same
    examples. It holds 90% of the train split (seeded shuffle) as data/part0.jsonl; V is trained
    on it, then the last 10% lands as data/part1.jsonl. Every update names V, so each one
    really has the new 10% (an update from the newest version, a cold model on all data, would
    have nothing new). A cold train with a champion registered is still a cold train. Pairs
    alternate which runs first, so drift of the machine's load hits both sides alike.
    """
    train_all, _, _ = load(name, args.datasets)
    shuffled = train_all[:]
    random.Random(0).shuffle(shuffled)
    split = int(0.9 * len(shuffled))
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "project"
        lifelong(Path(folder), "init", "--no-sample", str(project))
        # init draws a random salt: a fixed one keeps the valid/test split across runs
        config_set(project / "config.yml", [f"splits.salt={SALT}", *args.config_set])
        write_jsonl(project / "data" / "part0.jsonl", shuffled[:split])
        base = train_run(project, "base")
        write_jsonl(project / "data" / "part1.jsonl", shuffled[split:])
        runs = []
        for pair in range(args.pairs):
            order = ["cold", "update"] if pair % 2 == 0 else ["update", "cold"]
            for kind in order:
                extra = ("--finetune", base["version"]) if kind == "update" else ()
                run_ = train_run(project, kind, *extra) | {"pair": pair}
                if kind == "update" and not run_["added"]:
                    raise SystemExit(f"update {run_['version']}: no examples new to its parent")
                runs.append(run_)
                print(
                    f"{name} pair {pair} {kind}: wall {run_['wall_s']:.1f} s, "
                    f"timings {run_['timings']}, accuracy {100 * run_['accuracy']:.2f}%",
                    flush=True,
                )
    return {
        "dataset": name,
        "config_set": list(args.config_set),
        "n_base": split,
        "n_all": len(shuffled),
        "base": base,
        "runs": runs,
        "startup": startup(),
    }


def write_jsonl(path: Path, examples: Sequence[Example]) -> None:
    lines = [json.dumps({"text": e.text, "intent": e.label}) for e in examples]
    atomic_write_text(path, "\n".join(lines) + "\n")


def e2e_markdown(results: Sequence[dict[str, Any]]) -> str:
    """Per data set: medians of wall, the JSON's timings and the seconds outside them, for
    cold and update; the update / cold ratios; the start-up cost."""
    out = []
    for result in results:
        runs = result["runs"]
        pairs = len({r["pair"] for r in runs})
        steps = list(runs[0]["timings"])
        config = ", ".join(result["config_set"]) or "project defaults"
        out += [
            f"### {result['dataset']} end to end: {pairs} alternating pairs ({config}); "
            f"update from the model of {result['n_base']} examples to {result['n_all']}",
            "",
            "| run | wall median s (min-max) | "
            + " | ".join(f"{s} s" for s in steps)
            + " | outside training s | epochs run | test accuracy |",
            "|---|---:|" + "---:|" * len(steps) + "---:|---:|---:|",
        ]
        for kind in ("cold", "update"):
            mine = [r for r in runs if r["kind"] == kind]
            walls = [r["wall_s"] for r in mine]
            cells = [f"{statistics.median(r['timings'][s] for r in mine):.2f}" for s in steps]
            outside = statistics.median(r["outside_s"] for r in mine)
            score = statistics.median(r["accuracy"] for r in mine)
            out.append(
                f"| {kind} | {statistics.median(walls):.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
                + " | ".join(cells)
                + f" | {outside:.2f} | {'/'.join(str(r['epochs_run']) for r in mine)} | "
                f"{100 * score:.2f}% |"
            )
        ratios = [
            next(r["wall_s"] for r in runs if r["pair"] == p and r["kind"] == "update")
            / next(r["wall_s"] for r in runs if r["pair"] == p and r["kind"] == "cold")
            for p in sorted({r["pair"] for r in runs})
        ]
        start = result["startup"]
        out += [
            "",
            f"update / cold wall: median of pair ratios {statistics.median(ratios):.1%} "
            f"(pairs: {', '.join(f'{x:.1%}' for x in ratios)})",
            f"python start {start['python_s']:.2f} s; start + imports of the train command "
            f"({IMPORTS!r}) {start['python_and_imports_s']:.2f} s",
            "",
        ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["clinc150", "banking77", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="50%% + two 10%% chunks only")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (shuffle + training)")
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="comma-separated subset of " + ", ".join(METHODS) + " (cold always runs)",
    )
    parser.add_argument("--pipeline", nargs="+", choices=list(PIPELINES), default=["minilm"])
    parser.add_argument(
        "--no-embeddings", action="store_true", help="hashed n-grams only (= --pipeline ngrams)"
    )
    parser.add_argument(
        "--baselines",
        choices=["every", "last"],
        default="every",
        help="TF-IDF + LR at every step or only at the last (it costs ~2.5x cold)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="an extra update method: new+replay with these finetune keys changed "
        "(e.g. rs5000:replay_size=5000,epoch_fraction=0.3); repeatable, always run",
    )
    parser.add_argument("--e2e", action="store_true", help="whole lifelong train processes")
    parser.add_argument("--pairs", type=int, default=3, help="--e2e: alternating cold/update pairs")
    parser.add_argument(
        "--config-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="--e2e: edit the project's config.yml (e.g. finetune.lr_scale=0.25); repeatable",
    )
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument(
        "--save", default="finetune", help="stem of the rows' JSON and the plot in --out"
    )
    args = parser.parse_args()
    try:
        variants = {add_variant(spec) for spec in args.variant}
    except ValueError as error:  # pydantic's ValidationError is one
        parser.error(str(error))
    methods = {m.strip() for m in args.methods.split(",") if m.strip()} | variants
    if unknown := methods - set(METHODS):
        parser.error(f"unknown --methods {', '.join(sorted(unknown))}; pick from {METHODS}")
    args.methods = methods | {"cold"}
    if args.no_embeddings:
        args.pipeline = ["ngrams"]
    args.out.mkdir(parents=True, exist_ok=True)
    names = ["clinc150", "banking77"] if args.dataset == "all" else [args.dataset]
    if args.e2e:
        results = [end_to_end(name, args) for name in names]
        print("\n" + e2e_markdown(results))
        atomic_write_text(args.out / "finetune_e2e.json", json.dumps(results, indent=2))
        return
    rows: list[dict[str, Any]] = []
    for name, recipe, seed in itertools.product(names, args.pipeline, range(args.seeds)):
        rows += run(name, recipe, seed, args)
        # after every seed, so a run cut short still leaves its finished seeds
        atomic_write_text(args.out / f"{args.save}.json", json.dumps(rows, indent=2))
    print("\n" + markdown(rows) + "\n\n" + summary(rows))
    plot(rows, args.out / f"{args.save}.png")
    print(f"\nplot: {args.out / args.save}.png")


if __name__ == "__main__":
    main()
