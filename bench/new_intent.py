"""Benchmark: what an update needs to learn a new intent from 14 examples.

The sample project (``lifelong init``) trains 1.0 cold; then 14 examples of a new intent
(``loyalty``, from :mod:`lifelong.testing.new_intent`: 3 in the test split, 1 in valid, 10 in
train, as a user's file would split) are added and 1.0 is updated with the default update
(warm start, ``epoch_fraction`` 0.2: 2 of 10 epochs; with ``--update new+replay``,
``bench/finetune.py``'s new+replay update instead: the new examples and a replay sample of the
old at a quarter of the learning rate) and each candidate for the new intent:

- ``none``: neither oversampling nor imprinting (the behaviour before ``finetune.new_intents``);
- ``epochs``: the update trains all 10 epochs when it adds intents (``epoch_fraction: 1.0``);
- ``oversample``: the new intent's examples repeated ``ceil(10 / 2) = 5`` times in each of
  the 2 epochs;
- ``imprint``: the new intent's head row started from its examples' mean hidden features;
- ``oversample+imprint``: both (the default);
- ``cold``: a cold retrain on all data (the reference).

Per seed (the split salt and the training seed), the table gives the recall of the new intent
on its 3 test examples and on the 46 pool texts never trained on, the accuracy on the old
intents' test examples, and the update's train time; then the medians over seeds. Run from the
project root::

    PYTHONPATH=src python bench/new_intent.py [--seeds 3] [--update warm|new+replay]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from finetune import REPLAY  # the sibling script (bench/ is sys.path[0])
from lifelong.config import Finetune, NewIntents
from lifelong.core.types import Example
from lifelong.data import load_dataset, split_examples
from lifelong.models import ModelBundle
from lifelong.project import Project
from lifelong.scaffold import init_project
from lifelong.testing.new_intent import LABEL, few_examples, held_out
from lifelong.training import train

CANDIDATES: dict[str, NewIntents | None] = {
    "none": NewIntents(oversample=False, imprint=False),
    "epochs": NewIntents(oversample=False, imprint=False, epoch_fraction=1.0),
    "oversample": NewIntents(oversample=True, imprint=False),
    "imprint": NewIntents(oversample=False, imprint=True),
    "oversample+imprint": NewIntents(oversample=True, imprint=True),
    "cold": None,
}


def _recall(bundle: ModelBundle, texts: list[str]) -> float:
    predicted, _ = bundle.predict(texts)
    return sum(p == LABEL for p in predicted) / len(texts)


def _accuracy(bundle: ModelBundle, examples: list[Example]) -> float:
    predicted, _ = bundle.predict([e.text for e in examples])
    return sum(p == e.label for p, e in zip(predicted, examples, strict=True)) / len(examples)


UPDATES = {"warm": Finetune(), "new+replay": REPLAY}


def run_seed(seed: int, root: Path, update: Finetune) -> list[dict[str, Any]]:
    """Train 1.0 cold and every candidate update (``update`` with each candidate's
    ``new_intents``) for one seed (salt and training seed)."""
    init_project(root)
    overrides = [f"splits.salt=bench-{seed}", f"training.seed={seed}"]
    project = Project.load(root, overrides)
    config = project.config
    base = load_dataset(project)
    common: dict[str, Any] = {"pipeline": config.pipeline, "progress": False}
    training = config.training
    parent = train(list(base.splits.train), list(base.splits.valid), training=training, **common)
    rows = few_examples(config.splits)
    new = [Example.make(r["text"], r["intent"]) for r in rows]
    splits = split_examples([*base.pool.sorted_examples(), *new], config.splits)
    old_test = [e for e in splits.test if e.label != LABEL]
    new_test = [e.text for e in splits.test if e.label == LABEL]
    unseen = held_out(rows)
    results = []
    for name, new_intents in CANDIDATES.items():
        if new_intents is None:
            outcome = train(list(splits.train), list(splits.valid), training=training, **common)
        else:
            outcome = train(
                list(splits.train),
                list(splits.valid),
                training=training,
                finetune=update.model_copy(update={"new_intents": new_intents}),
                parent=parent.bundle,
                previous=list(base.splits.train),
                **common,
            )
        results.append(
            {
                "seed": seed,
                "method": name,
                "epochs": outcome.report["epochs_run"],
                "new_test": _recall(outcome.bundle, new_test),
                "new_unseen": _recall(outcome.bundle, unseen),
                "old_accuracy": _accuracy(outcome.bundle, old_test),
                "train_s": outcome.report["timings"]["train_s"],
            }
        )
    results.append(
        {
            "seed": seed,
            "method": "parent 1.0",
            "epochs": parent.report["epochs_run"],
            "new_test": 0.0,
            "new_unseen": 0.0,
            "old_accuracy": _accuracy(parent.bundle, old_test),
            "train_s": parent.report["timings"]["train_s"],
        }
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds (salt and training seed)")
    parser.add_argument("--update", choices=sorted(UPDATES), default="warm", help="the update")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            rows.extend(run_seed(seed, Path(tmp) / "demo", UPDATES[args.update]))
    header = f"{'method':<20} {'seed':>4} {'epochs':>6} {'new 3 test':>10} "
    header += f"{'new 46 unseen':>13} {'old acc':>8} {'train s':>8}"
    print(header)
    for row in rows:
        print(
            f"{row['method']:<20} {row['seed']:>4} {row['epochs']:>6} {row['new_test']:>10.2f} "
            f"{row['new_unseen']:>13.2f} {row['old_accuracy']:>8.3f} {row['train_s']:>8.2f}"
        )
    print("\nmedians over seeds")
    print(header.replace(f" {'seed':>4}", ""))
    for method in [*CANDIDATES, "parent 1.0"]:
        group = [r for r in rows if r["method"] == method]

        def median(key: str, group: list[dict[str, Any]] = group) -> float:
            return statistics.median(r[key] for r in group)

        print(
            f"{method:<20} {median('epochs'):>6.0f} {median('new_test'):>10.2f} "
            f"{median('new_unseen'):>13.2f} {median('old_accuracy'):>8.3f} "
            f"{median('train_s'):>8.2f}"
        )


if __name__ == "__main__":
    main()
