"""Pre-training checks name the intent that cannot be trained."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from lifelong.core.errors import DataError
from lifelong.core.types import Example
from lifelong.data import SplitData, check_trainable


def _ex(text: str, label: str) -> Example:
    return Example.make(text, label)


def _parts(
    train: Sequence[Example], valid: Sequence[Example] = (), test: Sequence[Example] = ()
) -> SplitData:
    return SplitData(tuple(train), tuple(valid), tuple(test))


def test_accepts_two_intents_with_enough_examples() -> None:
    train = [_ex(f"hi {i}", "greet") for i in range(3)] + [_ex(f"bye {i}", "bye") for i in range(3)]
    check_trainable(_parts(train))


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (_parts([]), "no data"),
        (_parts([_ex(f"hi {i}", "greet") for i in range(5)]), "only one class \\('greet'\\)"),
        (
            _parts([_ex(f"hi {i}", "greet") for i in range(5)] + [_ex("bye", "bye")]),
            "too few examples for the splits: 'bye' \\(1\\)",
        ),
        (
            _parts(
                [_ex(f"hi {i}", "greet") for i in range(5)],
                valid=[_ex("bye", "bye"), _ex("ciao", "bye")],
                test=[_ex("later", "bye")],
            ),
            "no training example for 'bye' \\(3 in valid/test\\)",
        ),
    ],
)
def test_rejects_untrainable_data(parts: SplitData, message: str) -> None:
    with pytest.raises(DataError, match=message):
        check_trainable(parts)
