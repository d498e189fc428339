"""Checks that split data can train a model, run before any training starts.

Failing early with the class's name (an intent of a text project, a target value of a tabular
one) beats a cryptic error after featurizing, or a model that silently can never predict a
class it had no training example of. A regression target has no classes: its data needs only
to be there.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from lifelong.core.errors import DataError
from lifelong.data.split import SplitData

MIN_EXAMPLES_PER_INTENT = 3


def untrainable_intents(
    parts: SplitData, *, min_examples: int = MIN_EXAMPLES_PER_INTENT
) -> dict[str, str]:
    """Intents that cannot train, each with why: fewer than ``min_examples`` in all, or none in
    the training split (the hash split may put every example of a tiny intent into valid or
    test). Ingestion holds the new intents this names for review; training refuses them."""
    train, total = _counts(parts)
    return _untrainable(train, total, min_examples)


def _counts(parts: SplitData) -> tuple[Counter[str], Counter[str]]:
    train = Counter(e.label for e in parts.train)
    return train, train + Counter(e.label for e in (*parts.valid, *parts.test))


def _untrainable(train: Counter[str], total: Counter[str], min_examples: int) -> dict[str, str]:
    why: dict[str, str] = {}
    for label in sorted(total):
        if total[label] < min_examples:
            why[label] = f"{total[label]} example(s), each intent needs at least {min_examples}"
        elif train[label] == 0:
            why[label] = f"{total[label]} example(s), all in valid/test by the stable split"
    return why


def check_trainable(
    parts: SplitData,
    *,
    min_examples: int = MIN_EXAMPLES_PER_INTENT,
    kind: Literal["classification", "regression"] = "classification",
) -> None:
    """Raise :class:`DataError` unless ``parts`` can train a model.

    A classifier needs at least two classes and no class :func:`untrainable_intents` names;
    a regressor (``kind="regression"``, whose labels are numbers, nearly all distinct) only
    examples.
    """
    check_trainable_counts(*_counts(parts), min_examples=min_examples, kind=kind)


def check_trainable_counts(
    train: Counter[str],
    total: Counter[str],
    *,
    min_examples: int = MIN_EXAMPLES_PER_INTENT,
    kind: Literal["classification", "regression"] = "classification",
) -> None:
    """:func:`check_trainable` on label counts: of the training split, and of all splits (a
    streamed training counts them in its first pass instead of holding the examples)."""
    if not total:
        raise DataError(
            "no data: the project has no examples",
            hint="add files to data/ (see `lifelong data validate`)",
        )
    if kind == "regression":
        return
    if len(total) < 2:
        (only,) = total
        raise DataError(
            f"only one class ({only!r}) in the data: a classifier needs at least two",
            hint="add examples of at least one more class (intent, or target value)",
        )
    why = _untrainable(train, total, min_examples)
    too_few = [label for label in why if total[label] < min_examples]
    if too_few:
        detail = ", ".join(f"{label!r} ({total[label]})" for label in too_few)
        raise DataError(
            f"too few examples for the splits: {detail}; each class needs at least {min_examples}",
            hint="add examples of these classes, or remove them from the data",
        )
    if why:
        detail = ", ".join(f"{label!r} ({total[label]} in valid/test)" for label in why)
        raise DataError(
            f"no training example for {detail}: the stable split put all of them in valid/test",
            hint="add a few more examples of these classes",
        )
