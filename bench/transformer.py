"""Benchmark: the ``transformer`` pipeline (MiniLM fine-tuned end to end) beside ``fast``.

End-to-end fine-tuning is slow on a CPU, so this runs on a class-balanced subset of a data set:
``--per-intent`` training examples of each intent, then an update with ``--new`` more of each
(a warm fine-tune on all of it, one epoch). Both pipelines are scored on the full test split;
the fast pipeline runs with MiniLM sentence embeddings (the ``bench/finetune.py`` recipe), its
embedding cache warm. Prints a markdown table of test accuracy and featurize + train time.

    HF_HUB_OFFLINE=1 PYTHONPATH=src python bench/transformer.py [--dataset banking77]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from finetune import DATASETS, accuracy, load  # the sibling script (bench/ is sys.path[0])
from lifelong.config import Finetune, NGrams, Pipeline, Training, TransformerSettings
from lifelong.core.types import Example
from lifelong.features import make_featurizer
from lifelong.models import ModelBundle
from lifelong.training import train

PIPELINES: dict[str, tuple[Pipeline, Training]] = {
    "fast + MiniLM": (
        Pipeline(embeddings="minilm", ngrams=NGrams(dim=32)),
        Training(epochs=10, lr=0.005, sparse_lr=0.005),
    ),
    "transformer": (
        Pipeline(
            name="transformer",
            dropout=0.1,
            label_smoothing=0.0,
            transformer=TransformerSettings(max_length=48, lr=1e-4),
        ),
        Training(epochs=4, batch_size=32, patience=1),
    ),
}


def balanced(examples: list[Example], per_intent: int, skip: int = 0) -> list[Example]:
    """Examples ``skip`` to ``skip + per_intent`` of each intent, in content-hash order."""
    by_label: dict[str, list[Example]] = defaultdict(list)
    for example in sorted(examples, key=lambda e: e.hash):
        by_label[example.label].append(example)
    return [e for group in by_label.values() for e in group[skip : skip + per_intent]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["clinc150", "banking77"], default="banking77")
    parser.add_argument("--per-intent", type=int, default=20)
    parser.add_argument("--new", type=int, default=5, help="examples per intent in the update")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train_all, valid_all, test = load(args.dataset, args.datasets)
    first = balanced(train_all, args.per_intent)
    grown = first + balanced(train_all, args.new, skip=args.per_intent)
    valid = balanced(valid_all, 5)
    texts = [e.text for e in test]
    cache = args.out / "cache"
    rows: list[dict[str, Any]] = []
    for name, (pipeline, training) in PIPELINES.items():
        make_featurizer(pipeline, cache).transform([e.text for e in [*grown, *valid, *test]])
        common: dict[str, Any] = {
            "pipeline": pipeline,
            "training": training,
            "cache_dir": cache,
            "progress": False,
        }
        parent: ModelBundle | None = None
        for step, (data, finetune) in enumerate(
            [(first, None), (grown, Finetune(init="warm", epochs=1))]
        ):
            outcome = train(data, valid, finetune=finetune, parent=parent, **common)
            timings = outcome.report["timings"]
            started = time.perf_counter()
            labels, _ = outcome.bundle.predict(texts)
            row = {
                "pipeline": name,
                "step": "cold" if step == 0 else "update (1 epoch)",
                "n_train": len(data),
                "accuracy": accuracy(labels, test),
                "seconds": timings["featurize_s"] + timings["train_s"],
                "epochs_run": outcome.report["epochs_run"],
                "predict_ms_per_text": 1000 * (time.perf_counter() - started) / len(texts),
            }
            rows.append(row)
            parent = outcome.bundle
            print(json.dumps(row), flush=True)
    print(f"\n{args.dataset}: {args.per_intent} + {args.new} examples per intent\n")
    print("| pipeline | step | n | test accuracy | featurize + train | epochs | predict ms/text |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['pipeline']} | {r['step']} | {r['n_train']} | {100 * r['accuracy']:.2f}% | "
            f"{r['seconds']:.1f} s | {r['epochs_run']} | {r['predict_ms_per_text']:.2f} |"
        )
    (args.out / "transformer.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
