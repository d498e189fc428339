"""Stable splits: an example's split is a pure function of its text and the project's salt.

Adding data never moves an existing example between train, valid and test, so the test set only
grows and every version is evaluated on data it never trained on. The split hashes the
normalized *text* (not text + label), so correcting a label never moves an example either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from lifelong.config import Splits
from lifelong.core.hashing import sha256_text
from lifelong.core.types import Example

SplitName = Literal["train", "valid", "test"]
_SCALE = float(1 << 64)


def split_unit(text: str, splits: Splits) -> float:
    """Where a normalized text falls in [0, 1): below ``test`` is test, then valid, then train.

    Also a stable sampling key: the valid examples of smallest unit are a sample that stays put
    as data grows (see :mod:`lifelong.data.stream`).
    """
    return int(sha256_text(f"{splits.salt}\x1f{text}")[:16], 16) / _SCALE


def split_of(text: str, splits: Splits) -> SplitName:
    """The split of a normalized text.

    >>> split_of("where is my order", Splits(valid=0.1, test=0.1, salt="demo"))
    'train'
    """
    return split_at(split_unit(text, splits), splits)


def split_at(unit: float, splits: Splits) -> SplitName:
    """The split of a text whose :func:`split_unit` is ``unit``."""
    if unit < splits.test:
        return "test"
    if unit < splits.test + splits.valid:
        return "valid"
    return "train"


@dataclass(frozen=True)
class SplitData:
    """Examples divided into train, valid and test."""

    train: tuple[Example, ...]
    valid: tuple[Example, ...]
    test: tuple[Example, ...]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def split_examples(
    examples: Iterable[Example],
    splits: Splits,
    explicit_test: Sequence[Example] | None = None,
    held_out: Sequence[Example] = (),
) -> SplitData:
    """Split examples; with ``explicit_test`` the test set is exactly those files.

    With explicit test files, examples whose text is also in the test files are kept out of
    train and valid (no leakage); the rest are split between train and valid in the same
    proportion the hash split would give them. Examples whose text is in ``held_out`` (the
    trusted set, judged apart) are in no split at all.
    """
    parts: dict[SplitName, list[Example]] = {"train": [], "valid": [], "test": []}
    excluded = {example.text for example in held_out}
    if explicit_test is None:
        for example in examples:
            if example.text not in excluded:
                parts[split_of(example.text, splits)].append(example)
    else:
        excluded |= {example.text for example in explicit_test}
        parts["test"] = list(explicit_test)
        for example in examples:
            if example.text in excluded:
                continue
            name = split_of(example.text, splits)
            parts["valid" if name == "valid" else "train"].append(example)
    return SplitData(tuple(parts["train"]), tuple(parts["valid"]), tuple(parts["test"]))
