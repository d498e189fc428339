"""Synthetic data attacks, for the gate's tests and ``bench/poison.py``.

Each function returns labeled examples that a careless pipeline would train on: junk under one
intent, paraphrases of one intent labelled as another, and label flips of a clean batch. They
are deterministic for a seed, so a test that must reject them fails the same way every run.
They generate data only; nothing here trains or writes.

>>> rows = paraphrases_of_refunds(5, label="order_status", seed=0)
>>> len(rows), {r["intent"] for r in rows}
(5, {'order_status'})
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

Row = dict[str, str]

_OPENERS = ("", "hi, ", "hello, ", "quick question: ", "sorry to bother you, ", "hey, ")
_REFUND_CORES = (
    "where is my refund",
    "when will my refund arrive",
    "has my refund been sent",
    "my refund still hasn't come through",
    "what's happening with my refund",
    "I'm still waiting for my refund",
    "can you tell me when I get my money back",
    "is the refund on its way",
    "the refund for my return is missing",
    "how much longer for my refund",
)
_CLOSERS = (
    "",
    " please",
    " for order A1234",
    ", it's been two weeks",
    " for the tent I sent back",
    " on my card",
    " thanks",
    "?",
)


def paraphrases_of_refunds(n: int, *, label: str, seed: int = 0) -> list[Row]:
    """``n`` distinct paraphrases of a refund-status question, all labelled ``label``.

    The "paraphrases of A labelled B" attack: a batch that teaches the model to answer one
    intent's questions with another intent.
    """
    combos = [
        f"{opener}{core}{closer}".strip()
        for opener, core, closer in itertools.product(_OPENERS, _REFUND_CORES, _CLOSERS)
    ]
    random.Random(seed).shuffle(combos)
    if n > len(combos):
        raise ValueError(f"at most {len(combos)} distinct paraphrases, asked for {n}")
    return [{"text": text, "intent": label} for text in combos[:n]]


def junk(n: int, *, label: str, vocabulary: Sequence[str], seed: int = 0) -> list[Row]:
    """``n`` distinct texts of 3 to 8 words drawn from ``vocabulary``, all labelled ``label``.

    The "junk under one intent" attack: random words sharing the project's own vocabulary, so
    their features overlap the real intents'.
    """
    words = sorted(set(vocabulary))
    if len(words) < 8:
        raise ValueError("the vocabulary needs at least 8 distinct words")
    rng = random.Random(seed)
    texts: dict[str, None] = {}
    while len(texts) < n:
        texts[" ".join(rng.sample(words, rng.randint(3, 8)))] = None
    return [{"text": text, "intent": label} for text in texts]


def flip_labels(rows: Sequence[Row], fraction: float, *, seed: int = 0) -> list[Row]:
    """A copy of ``rows`` with ``fraction`` of them moved to another (random) intent of the
    batch: the "noisy annotator" attack. Other keys are kept."""
    labels = sorted({r["intent"] for r in rows})
    if len(labels) < 2:
        raise ValueError("flipping labels needs at least two intents in the batch")
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(rows)), round(fraction * len(rows))))
    flipped = []
    for i, row in enumerate(rows):
        if i in chosen:
            others = [label for label in labels if label != row["intent"]]
            row = {**row, "intent": rng.choice(others)}
        flipped.append(dict(row))
    return flipped
