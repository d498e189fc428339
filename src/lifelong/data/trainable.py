"""Checks that split data can train a classifier, run before any training starts.

Failing early with the intent's name beats a cryptic error after featurizing, or a model that
silently can never predict an intent it had no training example of.
"""

from __future__ import annotations

from collections import Counter

from lifelong.core.errors import DataError
from lifelong.data.split import SplitData

MIN_EXAMPLES_PER_INTENT = 3


def check_trainable(parts: SplitData, *, min_examples: int = MIN_EXAMPLES_PER_INTENT) -> None:
    """Raise :class:`DataError` unless ``parts`` can train a classifier.

    Requires at least two intents, and for every intent at least ``min_examples`` examples
    in all and at least one in the training split (the hash split may put every example of a
    tiny intent into valid or test).
    """
    train = Counter(e.label for e in parts.train)
    total = train + Counter(e.label for e in (*parts.valid, *parts.test))
    if not total:
        raise DataError(
            "no data: the project has no examples",
            hint="add files to data/ (see `lifelong data validate`)",
        )
    if len(total) < 2:
        (only,) = total
        raise DataError(
            f"only one intent ({only!r}): a classifier needs at least two",
            hint="add examples of at least one more intent",
        )
    too_few = sorted(label for label, n in total.items() if n < min_examples)
    if too_few:
        detail = ", ".join(f"{label!r} ({total[label]})" for label in too_few)
        raise DataError(
            f"too few examples for the splits: {detail}; each intent needs at least {min_examples}",
            hint="add examples of these intents, or remove them from the data",
        )
    untrained = sorted(label for label in total if train[label] == 0)
    if untrained:
        detail = ", ".join(f"{label!r} ({total[label]} in valid/test)" for label in untrained)
        raise DataError(
            f"no training example for {detail}: the stable split put all of them in valid/test",
            hint="add a few more examples of these intents",
        )
