"""A registry filled as months of the continual loop would fill it, for the dashboard's tests
and ``bench/ui.py``: cold majors and their fine-tune / compress / distill lines, gate verdicts
(some rejecting), promotions through :func:`~lifelong.registry.promote`, cycles, a prediction
log with shadow rows and a feedback log.

The records have the shape the pipeline writes (metrics with per-intent tables, confusion
matrix and reference window; verdicts with reasons, paired statistics, slices and per-intent
deltas) but the figures are drawn from a seeded generator: no model is trained. Every version
shares one tiny artifact, so promotions pass their sha256 check.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lifelong.core.types import Example
from lifelong.registry import (
    CycleRecord,
    EdgeKind,
    ModelVersion,
    PredictionRecord,
    Registry,
    promote,
)

LABELS = (
    "greet",
    "goodbye",
    "order_status",
    "refund_status",
    "return_item",
    "cancel_order",
    "shipping_options",
    "store_hours",
    "payment_methods",
    "talk_to_human",
)
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def fill_registry(
    registry: Registry,
    bundle: Path,
    *,
    versions: int = 12,
    predictions: int = 5000,
    labels: Sequence[str] = LABELS,
    feedback_log: Path | None = None,
    seed: int = 0,
) -> None:
    """Register ``versions`` versions over ``bundle`` (a folder of any files) and log
    ``predictions`` predictions (one in ten a shadow row) spread over the versions' lifetimes.

    Every tenth version is a cold training (a new major), one in six fine-tunes is rejected by
    its verdict and stays a leaf, and every other edge kind appears. ``feedback_log`` receives
    one correction for every 50 predictions.
    """
    rng = random.Random(seed)
    snapshot = registry.put_snapshot(
        [Example.make(f"{label} example {i}", label) for label in labels for i in range(3)]
    )
    champion: ModelVersion | None = None
    served: list[tuple[datetime, str]] = []
    for n in range(versions):
        at = START + timedelta(hours=12 * n)
        cold = champion is None or n % 10 == 0
        parent = None if cold or champion is None else champion
        edge: EdgeKind | None = None
        if parent is not None:
            edge = "finetune" if n % 7 else rng.choice(["compress", "distill"])
        rejected = parent is not None and n % 6 == 5
        quality = 0.8 + 0.15 * rng.random()
        if rejected and parent is not None:  # worse than the champion it was judged against
            quality = float(parent.metrics["accuracy"]) - 0.02 - 0.03 * rng.random()
        version = registry.register(
            bundle,
            snapshot_id=snapshot.id,
            config={"pipeline": {"name": "fast", "hidden": 128 + 64 * (n % 3)}, "seed": n},
            parent=None if parent is None else parent.label,
            edge=edge,
            data_diff=_data_diff(rng, labels, parent),
            metrics=_metrics(rng, labels, quality, parent),
            timings={"featurize": 0.01, "train": 2.0 + rng.random(), "evaluate": 0.1},
            training={"kind": "cold" if parent is None else edge, "epochs": 3},
            notes="cold training" if parent is None else f"{edge} of champion {parent.label}",
        )
        registry.set_verdict(version.label, _verdict(rng, version, champion, labels, rejected))
        if not rejected:
            promote(registry, version.label, reason=f"cycle {n + 1}", command="lifelong update")
            champion = registry.resolve(version.label)
            served.append((at, version.label))
        registry.store.record_cycle(_cycle(n, at, version, rejected, champion))
    _log_predictions(registry, rng, served, predictions, labels, feedback_log)


def _data_diff(
    rng: random.Random, labels: Sequence[str], parent: ModelVersion | None
) -> dict[str, Any]:
    if parent is None:
        return {}
    new = [labels[rng.randrange(len(labels))]] if rng.random() < 0.3 else []
    return {
        "against": parent.label,
        "added": rng.randrange(20, 200),
        "removed": rng.randrange(0, 5),
        "relabeled": rng.randrange(0, 8),
        "new_labels": new,
        "vanished_labels": [],
        "added_per_label": {label: rng.randrange(0, 20) for label in labels},
    }


def _metrics(
    rng: random.Random, labels: Sequence[str], quality: float, parent: ModelVersion | None
) -> dict[str, Any]:
    per_intent = []
    counts = []
    for i, label in enumerate(labels):
        recall = min(1.0, quality + rng.uniform(-0.1, 0.05))
        support = rng.randrange(8, 20)
        right = round(recall * support)
        row = [0] * len(labels)
        row[i] = right
        for _ in range(support - right):
            row[rng.randrange(len(labels))] += 1
        counts.append(row)
        per_intent.append(
            {
                "label": label,
                "precision": recall,
                "recall": recall,
                "f1": recall,
                "support": support,
            }
        )
    metrics: dict[str, Any] = {
        "accuracy": quality,
        "macro_f1": quality - 0.01,
        "valid_accuracy": quality + 0.01,
        "split_sizes": {"train": 700, "valid": 110, "test": 140},
        "test": {
            "accuracy": quality,
            "macro_f1": quality - 0.01,
            "n_examples": 140,
            "labels": list(labels),
            "per_intent": per_intent,
            "confusion": {"labels": list(labels), "counts": counts},
            "latency_ms_per_example": 0.3,
        },
        "reference": {
            "confidences": [round(rng.betavariate(8, 2), 4) for _ in range(200)],
            "label_counts": {label: rng.randrange(10, 30) for label in labels},
        },
    }
    if parent is not None:
        before = float(parent.metrics["accuracy"])
        after = before + rng.uniform(-0.04, 0.02)
        metrics["forgetting"] = {
            "parent_accuracy_old": before,
            "child_accuracy_old": after,
            "backward_transfer": after - before,
            "n_old": 120,
            "n_new": 20,
        }
    return metrics


def _verdict(
    rng: random.Random,
    version: ModelVersion,
    champion: ModelVersion | None,
    labels: Sequence[str],
    rejected: bool,
) -> dict[str, Any]:
    if champion is None:
        return {
            "kind": "first",
            "decision": "promote",
            "challenger_version": version.label,
            "champion_version": None,
            "reasons": ["first model of the project: accuracy 0.9 >= floor 0.5"],
        }
    mine, theirs = version.metrics["accuracy"], champion.metrics["accuracy"]
    if rejected:
        reasons = [f"accuracy {mine:.3f} is significantly below the champion's {theirs:.3f}"]
    else:
        reasons = [f"accuracy {mine:.3f} vs champion {theirs:.3f}: not significantly worse"]
    return {
        "kind": "challenger",
        "decision": "reject" if rejected else "promote",
        "challenger_version": version.label,
        "champion_version": champion.label,
        "challenger_accuracy": mine,
        "champion_accuracy": theirs,
        "difference": mine - theirs,
        "n_examples": 140,
        "reasons": reasons,
        "mcnemar": {"only_a": rng.randrange(10), "only_b": rng.randrange(10), "p_value": 0.3},
        "bootstrap": {"difference": mine - theirs, "low": -0.03, "high": 0.05, "confidence": 0.95},
        "slices": [
            {
                "name": "old",
                "n_examples": 120,
                "champion_accuracy": theirs,
                "challenger_accuracy": mine,
                "negative_flips": rng.randrange(8),
                "positive_flips": rng.randrange(8),
                "violated": rejected,
                "checked": True,
            }
        ],
        "intent_deltas": [
            {
                "label": label,
                "support": 12,
                "champion_recall": 0.9,
                "challenger_recall": 0.9 - (0.2 if rejected and i == 0 else 0.0),
                "allowed_drop": 0.1,
                "violated": rejected and i == 0,
            }
            for i, label in enumerate(labels)
        ],
        "latency": {"champion_ms": 0.4, "challenger_ms": 0.3},
    }


def _cycle(
    n: int, at: datetime, version: ModelVersion, rejected: bool, champion: ModelVersion | None
) -> CycleRecord:
    fraction = 0.05 + n % 5 / 20
    return CycleRecord(
        id=0,
        started_at=at,
        finished_at=at + timedelta(seconds=9),
        outcome="rejected" if rejected else "promoted",
        trigger={
            "fired": ["volume"],
            "reason": f"volume: {fraction:.1%} new examples >= 5.0%",
            "checks": [
                {
                    "name": "volume",
                    "fired": True,
                    "reason": f"{fraction:.1%} new examples >= 5.0%",
                    "figures": {"fraction": fraction, "min_fraction": 0.05},
                },
                {"name": "drift", "fired": False, "reason": "psi 0.03 < 0.2", "figures": {}},
            ],
        },
        data={"new": 40 + n, "held": n % 3},
        strategy={"kind": version.edge or "cold", "plans": [{"reason": version.notes}]},
        versions=[version.label],
        champion=None if champion is None else champion.label,
        durations={"ingest": 0.04, "train": 7.5, "gate": 1.2},
        error="",
    )


def _log_predictions(
    registry: Registry,
    rng: random.Random,
    served: list[tuple[datetime, str]],
    total: int,
    labels: Sequence[str],
    feedback_log: Path | None,
    chunk: int = 100_000,
) -> None:
    """Log ``total`` rows in chunks, each champion's share between its promotion and the
    next; every tenth row is a shadow of the row before it."""
    if not served or total <= 0:
        return
    end = served[-1][0] + timedelta(hours=12)
    first = served[0][0]
    step = (end - first) / total
    boundaries = [at for at, _ in served[1:]]
    rows: list[PredictionRecord] = []
    feedback: list[str] = []
    previous: PredictionRecord | None = None
    index = 0
    for i in range(total):
        at = first + step * i
        while index < len(boundaries) and at >= boundaries[index]:
            index += 1
        intent = labels[rng.randrange(len(labels))]
        shadow_of = None
        if i % 10 == 9 and previous is not None:
            shadow_of = previous.prediction_id
            intent = previous.intent if rng.random() < 0.85 else intent
        previous = PredictionRecord(
            prediction_id=f"p{i:012d}",
            at=at,
            text_hash=f"{i:064x}",
            version=served[index][1],
            intent=intent,
            confidence=round(min(1.0, rng.betavariate(8, 2 + i / total)), 4),
            latency_ms=1.0,
            shadow_of=shadow_of,
        )
        rows.append(previous)
        if feedback_log is not None and i % 50 == 0:
            right = intent if rng.random() < 0.9 else labels[0]
            record = {"text": f"text {i}", "intent": right, "predicted": intent}
            record |= {"prediction_id": previous.prediction_id, "timestamp": at.isoformat()}
            feedback.append(json.dumps(record))
        if len(rows) >= chunk:
            registry.store.log_predictions(rows)
            rows = []
    registry.store.log_predictions(rows)
    if feedback_log is not None:
        feedback_log.parent.mkdir(parents=True, exist_ok=True)
        feedback_log.write_text("".join(line + "\n" for line in feedback), encoding="utf-8")
