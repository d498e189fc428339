"""The intake screen: groups the champion does not recognise, and contradicted examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.config import Screen
from lifelong.evaluation import EvaluationError, screen_batch

LABELS = ["greet", "order", "refund"]
# The champion's own test examples: it gives each its label 0.8.
REFERENCE_LABELS = LABELS * 4
REFERENCE = np.array([[0.8 if j == i else 0.1 for j in range(3)] for i in range(3)] * 4)


def _rows(p_label: float, label: int, n: int) -> np.ndarray:
    row = np.full(3, (1 - p_label) / 2)
    row[label] = p_label
    return np.tile(row, (n, 1))


def test_a_group_the_champion_does_not_recognise_is_suspicious() -> None:
    # 10 "order" examples the champion gives order 0.05 (it says refund): support 0.06
    batch = _rows(0.05, 1, 10)
    found = screen_batch(LABELS, ["order"] * 10, batch, REFERENCE_LABELS, REFERENCE, Screen())
    (order,) = found.intents
    assert order.suspicious
    assert order.ratio == pytest.approx(0.05 / 0.8)
    assert order.describe().startswith(
        "10 new examples of 'order': the champion gives them a mean probability of 0.05"
    )
    assert set(found.held(["order"] * 10)) == set(range(10))


def test_clean_new_wordings_keep_most_of_the_support() -> None:
    # new wordings the champion is unsure of (0.4 for the label, 0.3 each for the others)
    batch = _rows(0.4, 0, 12)
    found = screen_batch(LABELS, ["greet"] * 12, batch, REFERENCE_LABELS, REFERENCE, Screen())
    assert [s.suspicious for s in found.intents] == [False]
    assert found.contradicted == ()
    assert found.held(["greet"] * 12) == {}


def test_small_groups_and_unknown_intents_are_not_screened_as_groups() -> None:
    batch = np.vstack([_rows(0.05, 1, 4), np.full((6, 3), 1 / 3)])
    labels = ["order"] * 4 + ["gift_card"] * 6  # 4 < min_examples; gift_card is new
    found = screen_batch(LABELS, labels, batch, REFERENCE_LABELS, REFERENCE, Screen())
    assert found.intents == ()
    # a new intent is never "contradicted": the champion has no probability for it
    assert all(i < 4 for i in found.contradicted)


def test_a_single_contradicted_label_is_held_and_the_check_can_be_off() -> None:
    batch = np.array([[0.01, 0.98, 0.01], [0.6, 0.3, 0.1]])
    labels = ["greet", "greet"]  # the first: greet gets 0.01 of order's 0.98
    found = screen_batch(LABELS, labels, batch, REFERENCE_LABELS, REFERENCE, Screen())
    assert found.contradicted == (0,)
    assert "contradicts this label" in found.held(labels)[0]
    off = screen_batch(
        LABELS, labels, batch, REFERENCE_LABELS, REFERENCE, Screen(max_label_ratio=None)
    )
    assert off.contradicted == ()


def test_shapes_must_agree() -> None:
    with pytest.raises(EvaluationError, match=r"shape \(2, 3\), expected \(3, 3\)"):
        screen_batch(LABELS, ["a"] * 3, np.ones((2, 3)), REFERENCE_LABELS, REFERENCE, Screen())


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(LABELS), st.lists(st.floats(0.01, 1.0), min_size=3, max_size=3)),
        min_size=1,
        max_size=40,
    ),
    boost=st.floats(1.0, 5.0),
)
def test_raising_the_label_probability_never_makes_an_example_suspicious(
    rows: list[tuple[str, list[float]]], boost: float
) -> None:
    labels = [label for label, _ in rows]
    proba = np.array([weights for _, weights in rows])
    proba /= proba.sum(axis=1, keepdims=True)
    before = screen_batch(LABELS, labels, proba, REFERENCE_LABELS, REFERENCE, Screen())
    raised = proba.copy()
    for i, label in enumerate(labels):
        raised[i, LABELS.index(label)] *= boost
    raised /= raised.sum(axis=1, keepdims=True)
    after = screen_batch(LABELS, labels, raised, REFERENCE_LABELS, REFERENCE, Screen())
    assert set(after.held(labels)) <= set(before.held(labels))
