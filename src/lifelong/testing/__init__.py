"""Helpers for lifelong's own tests and benchmarks: synthetic attacks on the data intake."""

from lifelong.testing.attacks import flip_labels, junk, paraphrases_of_refunds

__all__ = ["flip_labels", "junk", "paraphrases_of_refunds"]
