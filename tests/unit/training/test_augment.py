"""Perturbed copies of training texts: reproducible, new, never empty, from the texts' words."""

from __future__ import annotations

from lifelong.training.augment import augmented

TEXTS = ["where is my new card", "i lost my card yesterday", "how do i top up my account"]


def test_copies_are_reproducible_new_and_made_of_the_texts_words() -> None:
    copies = augmented(TEXTS, 5, seed=3)
    assert copies == augmented(TEXTS, 5, seed=3)
    assert copies != augmented(TEXTS, 5, seed=4)
    assert 0 < len(copies) <= 5 * len(TEXTS)
    assert len(set(copies)) == len(copies)
    assert not set(copies) & set(TEXTS)
    vocabulary = {word for text in TEXTS for word in text.split()}
    assert all(text and set(text.split()) <= vocabulary for text in copies)
    assert augmented(TEXTS, 0, seed=3) == []
