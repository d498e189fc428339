"""A cold training toward a teacher's soft targets: the student follows the teacher where the
labels alone would not; a plain n-gram teacher is refused."""

from __future__ import annotations

import random

import pytest
import torch

from lifelong.config import Pipeline, Training
from lifelong.core.types import Example
from lifelong.training import train
from lifelong.training.distill import nothing_to_distill
from lifelong.training.regularizers import Distillation, Teacher

PIPELINE = Pipeline.model_validate({"ngrams": {"buckets": 4096, "dim": 16}, "hidden": 16})
TRAINING = Training(epochs=8, batch_size=16, keep="last")
LABELS = ("billing", "refund", "shipping")
WORDS = {"billing": "invoice charge", "refund": "money back", "shipping": "parcel courier"}


def _examples(seed: int, n: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = LABELS[i % 3]
        filler = " ".join(rng.choice(["please", "my", "the", "now", "help"]) for _ in range(3))
        out.append(Example.make(f"{WORDS[label]} {filler} urgent{i % 2}", label))
    return out


def _teacher_says(example: Example) -> str:
    """The teacher knows what the labels do not: 'urgent1' texts are all about refunds."""
    return "refund" if example.text.endswith("urgent1") else example.label


def test_student_follows_the_teacher_more_than_labels_alone() -> None:
    examples, test = _examples(0, 90), _examples(1, 60)
    logits = torch.tensor(
        [[8.0 if label == _teacher_says(e) else 0.0 for label in LABELS] for e in examples]
    )
    teacher = Teacher(LABELS, logits, Distillation(weight=4.0, temperature=2.0))

    def agreement(use: Teacher | None) -> float:
        outcome = train(examples, examples[:9], pipeline=PIPELINE, training=TRAINING,
                        progress=False, teacher=use)  # fmt: skip
        predicted, _ = outcome.bundle.predict([e.text for e in test])
        return sum(p == _teacher_says(e) for p, e in zip(predicted, test, strict=True)) / len(test)

    assert agreement(teacher) > agreement(None)


def test_a_teacher_trains_cold_only() -> None:
    examples = _examples(0, 9)
    outcome = train(examples, [], pipeline=PIPELINE, training=TRAINING, progress=False)
    teacher = Teacher(LABELS, torch.zeros((9, 3)), Distillation())
    with pytest.raises(ValueError, match="cold"):
        train(examples, [], pipeline=PIPELINE, training=TRAINING, progress=False,
              parent=outcome.bundle, teacher=teacher)  # fmt: skip
    assert "nothing to distill" in str(nothing_to_distill(outcome.bundle))
