"""Benchmark: fine-tuning strategies against cold retraining as data arrives in chunks.

The training split arrives as 50%, then five 10% chunks (fixed shuffle). After each chunk every
method is scored on the full test split:

- ``cold``: the fast pipeline retrained from scratch on all data so far;
- ``warm``: the previous ``warm`` model fine-tuned on all data for ``epoch_fraction`` of the
  epochs (head surgery for new intents);
- ``shrink_perturb``: likewise, starting from shrink * parent + perturb * fresh;
- ``new+replay``: warm start on the new chunk plus a class-balanced replay sample, at a quarter
  of the cold learning rates; ``+lwf`` and ``+ewc`` add the anti-forgetting regularizers;
- ``tfidf+lr``: scikit-learn TF-IDF (word 1-2 + char_wb 2-5) + LogisticRegression, cold;
- ``sgd``: HashingVectorizer + SGDClassifier, ``partial_fit`` on the new chunk only.

Wall time is featurize + train with the embedding cache warm for everyone. Data sets are read by
path from ``../shared/datasets`` (never copied). Run from the project root::

    HF_HUB_OFFLINE=1 PYTHONPATH=src python bench/finetune.py [--quick] [--dataset clinc150]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline, make_union

from lifelong.config import Distill, Ewc, Finetune, NGrams, Pipeline, Training
from lifelong.core.types import Example
from lifelong.features import make_featurizer
from lifelong.models import ModelBundle
from lifelong.training import train

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
# A quarter of the cold learning rates: hundreds of steps of fresh Adam moments at the full rate
# jolt a converged parent (-0.9 points from cold on BANKING77 at 1.0, -0.1 at 0.25).
REPLAY = Finetune(
    init="warm", data="new+replay", epoch_fraction=0.2, replay_size=3000, lr_scale=0.25
)
FINETUNES = {
    "warm": Finetune(init="warm", epoch_fraction=0.2),
    "shrink_perturb": Finetune(init="shrink_perturb", shrink=0.8, perturb=0.01),
    "new+replay": REPLAY,
    "new+replay+lwf": REPLAY.model_copy(update={"distill": Distill(weight=1)}),
    "new+replay+ewc": REPLAY.model_copy(update={"ewc": Ewc(weight=1)}),
}
METHODS = ["cold", *FINETUNES, "tfidf+lr", "sgd"]


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


def tfidf_lr(data: list[Example]) -> Callable[[list[str]], list[str]]:
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(C=10, max_iter=300),
    )
    model.fit([e.text for e in data], [e.label for e in data])
    return lambda texts: list(model.predict(texts))


class OnlineSGD:
    """The classic incremental baseline: hashed features, ``partial_fit`` on new data only."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels
        self.vectorizers = [
            HashingVectorizer(n_features=1 << 18, ngram_range=(1, 2), alternate_sign=False),
            HashingVectorizer(
                n_features=1 << 18, analyzer="char_wb", ngram_range=(2, 5), alternate_sign=False
            ),
        ]
        self.model = SGDClassifier(loss="log_loss", alpha=1e-5, random_state=0)

    def _x(self, texts: list[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self.vectorizers]).tocsr()

    def update(self, data: list[Example]) -> None:
        x, y = self._x([e.text for e in data]), [e.label for e in data]
        for _ in range(5):
            self.model.partial_fit(x, y, classes=self.labels)

    def predict(self, texts: list[str]) -> list[str]:
        return list(self.model.predict(self._x(texts)))


def run(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    train_all, valid, test = load(name, args.datasets)
    fractions = [0.5, 0.1, 0.1] if args.quick else [0.5, 0.1, 0.1, 0.1, 0.1, 0.1]
    parts = chunks(train_all, fractions, seed=0)
    if args.no_embeddings:  # the package defaults are tuned for hashed n-grams alone
        pipeline, training = Pipeline(), Training()
    else:  # with MiniLM the sentence vector carries most signal: a narrow bag, gentle rates
        pipeline = Pipeline(embeddings="minilm", ngrams=NGrams(dim=32))
        training = Training(epochs=10, lr=0.005, sparse_lr=0.005)
    cache = args.out / "cache"
    # warm the embedding cache for everyone: no method pays for MiniLM in its timings
    make_featurizer(pipeline, cache).transform([e.text for e in [*train_all, *valid, *test]])
    test_texts = [e.text for e in test]
    common = {"pipeline": pipeline, "training": training, "cache_dir": cache, "progress": False}

    def fit(data: list[Example], **kwargs: Any) -> tuple[ModelBundle, float]:
        outcome = train(data, valid, **common, **kwargs)
        timings = outcome.report["timings"]
        return outcome.bundle, timings["featurize_s"] + timings["train_s"]

    rows: list[dict[str, Any]] = []
    sgd = OnlineSGD(sorted({e.label for e in train_all}))
    parents: dict[str, ModelBundle] = {}
    seen: list[Example] = []
    for step, chunk in enumerate(parts):
        previous, seen = seen, [*seen, *chunk]
        row: dict[str, Any] = {"dataset": name, "step": step, "n_train": len(seen)}
        cold, seconds = fit(seen)
        results = {"cold": (cold, seconds)}
        for method, finetune in FINETUNES.items():
            if step == 0:
                parents[method] = cold
                continue
            bundle, seconds = fit(
                seen, finetune=finetune, parent=parents[method], previous=previous
            )
            parents[method], results[method] = bundle, (bundle, seconds)
        for method, (bundle, seconds) in results.items():
            labels, _ = bundle.predict(test_texts)
            row[method] = (accuracy(labels, test), seconds)
        predict, seconds = timed(tfidf_lr, seen)
        row["tfidf+lr"] = (accuracy(predict(test_texts), test), seconds)
        _, seconds = timed(sgd.update, chunk)
        row["sgd"] = (accuracy(sgd.predict(test_texts), test), seconds)
        rows.append(row)
        print(markdown([row], header=step == 0), flush=True)
    return rows


def markdown(rows: list[dict[str, Any]], header: bool = True) -> str:
    lines = []
    if header:
        lines.append("| data | step | n | " + " | ".join(METHODS) + " |")
        lines.append("|---" * (3 + len(METHODS)) + "|")
    for row in rows:
        cells = []
        for method in METHODS:
            value = row.get(method)
            cells.append("-" if value is None else f"{100 * value[0]:.2f}% {value[1]:.1f}s")
        lines.append(
            f"| {row['dataset']} | {row['step']} | {row['n_train']} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def summary(rows: list[dict[str, Any]]) -> str:
    """Per data set and fine-tune method: median accuracy delta and time ratio versus cold."""
    lines = [
        "| data | method | median delta vs cold (points) | median time / cold |",
        "|---|---|---|---|",
    ]
    for name in sorted({str(r["dataset"]) for r in rows}):
        updates = [r for r in rows if r["dataset"] == name and r["step"] != 0]
        for method in [*FINETUNES, "tfidf+lr", "sgd"]:
            deltas = [100 * (r[method][0] - r["cold"][0]) for r in updates]
            ratios = [r[method][1] / r["cold"][1] for r in updates]
            lines.append(
                f"| {name} | {method} | {statistics.median(deltas):+.2f} | "
                f"{statistics.median(ratios):.1%} |"
            )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({str(r["dataset"]) for r in rows})
    figure, axes = plt.subplots(2, len(names), figsize=(6 * len(names), 8), squeeze=False)
    for column, name in enumerate(names):
        subset = [r for r in rows if r["dataset"] == name]
        for method in METHODS:
            steps = [r["step"] for r in subset if method in r]
            axes[0][column].plot(
                steps,
                [100 * r[method][0] for r in subset if method in r],
                marker="o",
                label=method,
            )
            axes[1][column].plot(
                steps,
                [r[method][1] for r in subset if method in r],
                marker="o",
                label=method,
            )
        axes[0][column].set(title=f"{name}: test accuracy (%)", xlabel="chunk")
        axes[1][column].set(title=f"{name}: featurize + train (s)", xlabel="chunk", yscale="log")
        axes[0][column].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["clinc150", "banking77", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="50%% + two 10%% chunks only")
    parser.add_argument("--no-embeddings", action="store_true", help="hashed n-grams only")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = ["clinc150", "banking77"] if args.dataset == "all" else [args.dataset]
    rows = [row for name in names for row in run(name, args)]
    print("\n" + markdown(rows) + "\n\n" + summary(rows))
    plot(rows, args.out / "finetune.png")
    (args.out / "finetune.json").write_text(json.dumps(rows, indent=2))
    print(f"\nplot: {args.out / 'finetune.png'}")


if __name__ == "__main__":
    main()
