"""Perturbed copies of training texts, for a student to hear its teacher on more than the
texts both were trained on.

On its own training texts a teacher mostly repeats their labels; what it knows beyond them
shows on texts it has not seen. Tang et al. (2019, "Distilling Task-Specific Knowledge from BERT
into Simple Neural Networks") make such texts from the training set itself: each word is
dropped or swapped for a random word of the corpus with a small probability, and some copies
are cut to a short n-gram of the text. The teacher labels the copies (softly), so no copy needs
to keep its source's intent.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

DROP = 0.1
"""Probability that a word is left out of a copy."""
SWAP = 0.1
"""Probability that a word is replaced by a random word of the texts' vocabulary."""
CUT = 0.25
"""Probability that a copy is cut to a random n-gram of 1 to 5 of its words."""


def augmented(texts: Sequence[str], copies: int, seed: int) -> list[str]:
    """Up to ``copies`` perturbed copies of each normalized text of ``texts``: distinct, none
    empty, none equal to a text of ``texts``, the same for the same ``seed``.

    >>> augmented(["where is my card", "i lost my card"], 4, 0)
    ['lost lost my card', 'i lost card', 'lost my card']
    """
    rng = random.Random(seed)
    vocabulary = sorted({word for text in texts for word in text.split()})
    made: dict[str, None] = {}
    for text in texts:
        words = text.split()
        for _ in range(copies):
            copy = []
            for word in words:
                draw = rng.random()
                if draw >= DROP:
                    copy.append(rng.choice(vocabulary) if draw < DROP + SWAP else word)
            if copy and rng.random() < CUT:
                n = rng.randint(1, min(5, len(copy)))
                start = rng.randint(0, len(copy) - n)
                copy = copy[start : start + n]
            if copy:
                made.setdefault(" ".join(copy))
    known = set(texts)
    return [text for text in made if text not in known]
