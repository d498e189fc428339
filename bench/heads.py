"""Benchmark: quality headroom of the fast MiniLM pipeline's head (issue 20).

The fast pipeline of ``MINILM_RECIPE`` (hashed n-grams dim 32 + MiniLM layers 1-6, 10 epochs,
with ``keep: last``) against cheap changes of its head and training, each trained by the real
:class:`~lifelong.training.trainer.Trainer` on features computed once per data set (the
sentence vectors read from the cached hidden states of ``bench/encoder_layers.py``, nothing is
re-encoded):

- ``joint``: today's network (one MLP head on n-grams + vector);
- ``3 unit groups``: today's network whose 512 hidden units are trained as 3 heads of 171, each
  on its own loss, logits averaged (the same network at inference: the cheap ensemble);
- ``split heads``: an n-gram head and an embedding head, each with its own LayerNorm and loss,
  log-probabilities (or logits) averaged;
- ``balanced loss``: cross-entropy weighted by inverse class frequency (skipped where every
  intent has as many training examples: it is then ``joint``);
- ``keep: average``: the weights averaged over the epochs of the schedule's second half (the
  trainer's ``training.keep: average``; every other candidate keeps ``last``, as the recipe
  did when this was measured);
- ``hidden 1024``: a wider head;
- ``3 heads of 512``: 3 full MLP heads on the same input, each on its own loss, log-probabilities
  (or logits) averaged: three times the head's cost;
- ``seed ensemble``: the probabilities of the ``joint`` seeds averaged (one figure, test only:
  the upper bound of ensembling, at K times the training and the serving cost).

Accuracy and ECE (top-class, 15 bins) after a temperature fitted on valid, mean ± sd over
seeds; valid decides, test only reports. Seconds are the trainer's (one thread, shared host)::

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 PYTHONPATH=src python bench/heads.py [--seeds 3]
        [--datasets banking77 clinc150] [--only joint split ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from encoder_layers import concatenated, encoded, spread  # the sibling script
from lifelong.config import Pipeline, Training
from lifelong.core.hashing import sha256_text
from lifelong.core.seed import set_seed
from lifelong.evaluation.metrics import calibration
from lifelong.features import Features, bag_inputs, make_featurizer
from lifelong.features.cache import EmbeddingCache
from lifelong.features.embeddings import MINILM
from lifelong.features.encoders import DEFAULT_RUNTIME, encoder_id
from lifelong.models import IntentClassifier, build_model
from lifelong.models.objective import Classification, model_outputs
from lifelong.scaffold import MINILM_RECIPE
from lifelong.training.calibrate import fit_temperature
from lifelong.training.trainer import Trainer

OUT = Path(__file__).resolve().parent / "out" / "heads"


def mlp(width: int, hidden: int, dropout: float, n_classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes)
    )


class Heads(nn.Module):
    """K MLP heads over the n-gram bag and the vector: stacked logits ``(K, n, C)`` in training
    (each head its own loss), the mean of their log-probabilities in eval.

    ``split``: two heads, one on the bag and one on the vector, each with its own LayerNorm;
    otherwise ``k`` heads on the one LayerNorm of both.
    """

    def __init__(
        self, pipeline: Pipeline, dense_dim: int, n_classes: int, k: int, split: bool
    ) -> None:
        super().__init__()
        dim, hidden, dropout = pipeline.ngrams.dim, pipeline.hidden, pipeline.dropout
        self.bag = nn.EmbeddingBag(pipeline.ngrams.buckets, dim, mode="sum", sparse=True)
        nn.init.normal_(self.bag.weight, std=0.1)
        self.split = split
        self.mean_logits = False
        """Average the heads' logits instead of their log-probabilities at inference: the
        network is then one MLP head of ``k`` times the width (out weights over ``k``)."""
        widths = [dim, dense_dim] if split else [dim + dense_dim] * k
        self.norms = nn.ModuleList(nn.LayerNorm(w) for w in (widths if split else widths[:1]))
        self.heads = nn.ModuleList(mlp(w, hidden, dropout, n_classes) for w in widths)

    def forward(self, features: Features) -> torch.Tensor:
        assert features.sparse is not None
        assert features.dense is not None
        indices, offsets, weights = bag_inputs(features.sparse)
        bag = self.bag(indices, offsets, per_sample_weights=weights)
        dense = torch.from_numpy(features.dense)
        if self.split:
            inputs = [self.norms[0](bag), self.norms[1](dense)]
        else:
            inputs = [self.norms[0](torch.cat([bag, dense], dim=1))] * len(self.heads)
        logits = torch.stack([head(x) for head, x in zip(self.heads, inputs, strict=True)])
        if self.training:
            return logits
        if self.mean_logits:
            return logits.mean(dim=0)
        return torch.logsumexp(F.log_softmax(logits, dim=2), dim=0) - np.log(len(self.heads))


class UnitGroups(IntentClassifier):
    """Today's network whose hidden units are split into ``k`` groups, each trained as its own
    head (its share of ``out``'s columns, times ``k``) on its own loss. The heads' mean logits
    are exactly ``out`` over all units, so at inference this is the plain network: the cheap
    way to build ``K heads`` (same size, speed and bundle layout)."""

    def __init__(self, pipeline: Pipeline, dense_dim: int, n_classes: int, k: int) -> None:
        ngrams = pipeline.ngrams
        super().__init__(
            ngrams.buckets, ngrams.dim, dense_dim, pipeline.hidden, pipeline.dropout, n_classes
        )
        self.k = k

    def forward_bags(
        self,
        indices: torch.Tensor,
        weights: torch.Tensor,
        offsets: torch.Tensor | None = None,
        dense: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if not self.training:
            return super().forward_bags(indices, weights, offsets, dense)
        x = self.bag(indices, offsets, per_sample_weights=weights)
        x = self.norm(x if dense is None else torch.cat([x, dense], dim=1))
        units = self.dropout(torch.relu(self.hidden(x)))
        bounds = np.linspace(0, units.shape[1], self.k + 1).round().astype(int)
        weight, bias = self.out.weight, self.out.bias
        return torch.stack(
            [self.k * units[:, a:b] @ weight[:, a:b].T + bias for a, b in pairwise(bounds)]
        )


@dataclass(frozen=True)
class HeadsLoss(Classification):
    """Cross-entropy of each head (mean over heads), optionally class-weighted."""

    weight: torch.Tensor | None = None

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if outputs.dim() == 2:
            outputs = outputs.unsqueeze(0)
        losses = [
            F.cross_entropy(o, targets, weight=self.weight, label_smoothing=self.label_smoothing)
            for o in outputs
        ]
        return torch.stack(losses).mean()


@dataclass
class Run:
    valid: float
    test: float
    ece: float
    seconds: float
    test_proba: np.ndarray


def evaluate(
    model: nn.Module, parts: dict[str, tuple[Features, torch.Tensor]], seconds: float
) -> Run:
    logits = {split: model_outputs(model, *parts[split][:1]) for split in ("valid", "test")}
    t = fit_temperature(logits["valid"], parts["valid"][1]).value
    proba = torch.softmax(logits["test"] / t, dim=1)
    confidence, predicted = proba.max(dim=1)
    targets = {split: parts[split][1] for split in ("valid", "test")}
    correct = (predicted == targets["test"]).numpy()
    valid_acc = float((logits["valid"].argmax(1) == targets["valid"]).float().mean())
    return Run(
        100 * valid_acc,
        100 * float(correct.mean()),
        100 * calibration(confidence.numpy(), correct).ece,
        seconds,
        proba.numpy(),
    )


Builder = Callable[[Pipeline, int, int], nn.Module]
Candidate = tuple[Builder, HeadsLoss, Literal["last", "average"]]
"""How a candidate builds its network, its loss, and which weights its training keeps."""


def candidates(weights: torch.Tensor, smoothing: float) -> dict[str, Candidate]:
    joint: Builder = lambda p, d, c: build_model(p, c)  # noqa: E731
    plain = HeadsLoss(smoothing)
    return {
        "joint (today)": (joint, plain, "last"),
        "3 unit groups (3 x 171 units)": (lambda p, d, c: UnitGroups(p, d, c, 3), plain, "last"),
        "split heads (n-grams | vector)": (lambda p, d, c: Heads(p, d, c, 2, True), plain, "last"),
        "balanced loss": (joint, HeadsLoss(smoothing, weight=weights), "last"),
        "keep: average (weights of epochs 6-10)": (joint, plain, "average"),
        "hidden 1024": (
            lambda p, d, c: build_model(p.model_copy(update={"hidden": 1024}), c),
            plain,
            "last",
        ),
        "3 heads of 512": (lambda p, d, c: Heads(p, d, c, 3, False), plain, "last"),
    }


def save(name: str, runs: dict[str, list[Run]]) -> None:
    """The runs so far, as JSON in ``bench/out/heads`` (a long run's partial results)."""
    rows = {
        label: [{"valid": r.valid, "test": r.test, "ece": r.ece, "s": r.seconds} for r in found]
        for label, found in runs.items()
    }
    (OUT / f"{name}.json").write_text(json.dumps(rows, indent=1))


def bench(name: str, seeds: int, only: list[str] | None) -> dict[str, list[Run]]:
    examples, states = encoded(name)
    pipeline = Pipeline.model_validate(MINILM_RECIPE["pipeline"])
    recipe = Training.model_validate(MINILM_RECIPE["training"])
    layers = tuple(pipeline.embeddings_layers)
    labels = sorted({e.label for e in examples["train"]})
    index = {label: i for i, label in enumerate(labels)}
    parts: dict[str, tuple[Features, torch.Tensor]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(Path(tmp) / f"{encoder_id(MINILM, DEFAULT_RUNTIME, layers)}.sqlite")
        featurizer = make_featurizer(pipeline, Path(tmp))
        for split, part in examples.items():
            vectors = concatenated(states[split], layers)
            cache.put({sha256_text(e.text): v for e, v in zip(part, vectors, strict=True)})
            targets = torch.tensor([index.get(e.label, -1) for e in part])
            parts[split] = (featurizer.transform([e.text for e in part]), targets)
    train_features, train_targets = parts["train"]
    counts = torch.bincount(train_targets, minlength=len(labels)).float()
    weights = counts.sum() / (len(labels) * counts)
    dense_dim = int(train_features.dense.shape[1])  # type: ignore[union-attr]
    print(f"{name}: {len(labels)} intents, train per intent {counts.min():.0f}-{counts.max():.0f}")
    runs: dict[str, list[Run]] = {}
    for label, (builder, objective, keep) in candidates(weights, pipeline.label_smoothing).items():
        if only and not any(o in label for o in only):
            continue
        if objective.weight is not None and bool((counts == counts[0]).all()):
            print(f"{name} | {label} | skipped: every intent has as many examples (= joint)")
            continue
        runs[label] = []
        for seed in range(seeds):
            training = recipe.model_copy(update={"seed": seed, "keep": keep})
            set_seed(seed)
            model = builder(pipeline, dense_dim, len(labels))
            started = time.perf_counter()
            Trainer(training, objective=objective, progress=False).fit(
                model, train_features, train_targets, parts["valid"]
            )
            run = evaluate(model, parts, time.perf_counter() - started)
            runs[label].append(run)
            save(name, runs)
            if isinstance(model, Heads):
                model.mean_logits = True
                logits_run = evaluate(model, parts, run.seconds)
                runs.setdefault(f"{label}, logits averaged", []).append(logits_run)
                print(
                    f"{name} | {label}, logits averaged | seed {seed} | valid "
                    f"{logits_run.valid:.2f} test {logits_run.test:.2f} ece {logits_run.ece:.2f}",
                    flush=True,
                )
            print(
                f"{name} | {label} | seed {seed} | valid {run.valid:.2f} test {run.test:.2f} "
                f"ece {run.ece:.2f} | {run.seconds:.0f} s",
                flush=True,
            )
    joint = runs.get("joint (today)", [])
    if len(joint) > 1:
        proba = np.mean([r.test_proba for r in joint], axis=0)
        test_targets = parts["test"][1].numpy()
        runs[f"seed ensemble of {len(joint)} joint (test only)"] = [
            Run(
                float("nan"),
                100 * float((proba.argmax(1) == test_targets).mean()),
                100 * calibration(proba.max(1), proba.argmax(1) == test_targets).ece,
                sum(r.seconds for r in joint),
                proba,
            )
        ]
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="candidates whose name contains one of these")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.datasets:
        runs = bench(name, args.seeds, args.only)
        print(f"\n{name}: MINILM_RECIPE fast pipeline, {args.seeds} seed(s), mean ± sd")
        print(
            "| candidate | valid acc | test acc | test ECE % | train s |\n|---|---:|---:|---:|---:|"
        )
        for label, found in runs.items():
            valid = [r.valid for r in found]
            print(
                f"| {label} | {spread(valid)} | {spread([r.test for r in found])} | "
                f"{spread([r.ece for r in found])} | "
                f"{statistics.median(r.seconds for r in found):.0f} |"
            )
        save(name, runs)


if __name__ == "__main__":
    main()
