"""Snapshots: immutable, content-addressed sets of examples, and the diff between two."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

from lifelong.core.types import Example, snapshot_id


@dataclass(frozen=True)
class Snapshot:
    """A set of examples, named by :func:`~lifelong.core.types.snapshot_id` of their hashes.

    Build one with :meth:`of`; equal content gives an equal ``id`` whatever the order.
    """

    examples: Mapping[str, Example] = field(default_factory=dict)

    @classmethod
    def of(cls, examples: Iterable[Example]) -> Snapshot:
        return cls({example.hash: example for example in examples})

    @cached_property
    def id(self) -> str:
        return snapshot_id(self.examples)

    @cached_property
    def label_counts(self) -> dict[str, int]:
        counts = Counter(example.label for example in self.examples.values())
        return dict(sorted(counts.items()))

    @property
    def labels(self) -> list[str]:
        return list(self.label_counts)

    def __len__(self) -> int:
        return len(self.examples)

    def sorted_examples(self) -> list[Example]:
        """Examples in hash order: deterministic whatever order they were read in."""
        return [self.examples[h] for h in sorted(self.examples)]


@dataclass(frozen=True)
class SnapshotDiff:
    """What changed from one snapshot to another.

    A text present on both sides under different labels is *relabeled* (listed as old/new
    pairs), not counted as a removal plus an addition.
    """

    added: tuple[Example, ...]
    removed: tuple[Example, ...]
    relabeled: tuple[tuple[Example, Example], ...]
    new_labels: tuple[str, ...]
    vanished_labels: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.relabeled)

    def summary(
        self, kind: Literal["classification", "regression"] = "classification"
    ) -> dict[str, object]:
        """A JSON-safe summary, as recorded on a model version.

        A regression target is a number, nearly every one distinct: its "labels" are not
        classes, so instead of new and vanished labels the summary has the range of the added
        and removed rows' targets (``relabeled`` then counts rows whose target changed).
        """
        counts: dict[str, object] = {
            "added": len(self.added),
            "removed": len(self.removed),
            "relabeled": len(self.relabeled),
        }
        if kind == "regression":
            return {
                **counts,
                "target": {
                    "added": target_range(self.added),
                    "removed": target_range(self.removed),
                },
            }
        return {
            **counts,
            "new_labels": list(self.new_labels),
            "vanished_labels": list(self.vanished_labels),
            "added_per_label": dict(sorted(Counter(e.label for e in self.added).items())),
        }


def target_range(examples: Sequence[Example]) -> dict[str, float] | None:
    """Rows, least, mean and greatest of regression targets (``None`` for no rows)."""
    if not examples:
        return None
    values = [float(e.label) for e in examples]
    return {
        "rows": len(values),
        "min": min(values),
        "mean": sum(values) / len(values),
        "max": max(values),
    }


def _by_text(examples: Iterable[Example]) -> dict[str, list[Example]]:
    grouped: dict[str, list[Example]] = {}
    for example in examples:
        grouped.setdefault(example.text, []).append(example)
    return grouped


def diff(old: Snapshot, new: Snapshot) -> SnapshotDiff:
    """Compute what turns ``old`` into ``new`` (see :func:`apply_diff`)."""
    only_old = [old.examples[h] for h in sorted(old.examples.keys() - new.examples.keys())]
    only_new = [new.examples[h] for h in sorted(new.examples.keys() - old.examples.keys())]
    old_texts, new_texts = _by_text(only_old), _by_text(only_new)
    relabeled: list[tuple[Example, Example]] = []
    for text in sorted(old_texts.keys() & new_texts.keys()):
        before, after = old_texts[text], new_texts[text]
        # Pair one-to-one; a text that is multi-labeled on one side keeps the rest as plain
        # additions or removals.
        for a, b in zip(before, after, strict=False):
            relabeled.append((a, b))
    paired_old = {a.hash for a, _ in relabeled}
    paired_new = {b.hash for _, b in relabeled}
    old_labels, new_labels = set(old.label_counts), set(new.label_counts)
    return SnapshotDiff(
        added=tuple(e for e in only_new if e.hash not in paired_new),
        removed=tuple(e for e in only_old if e.hash not in paired_old),
        relabeled=tuple(relabeled),
        new_labels=tuple(sorted(new_labels - old_labels)),
        vanished_labels=tuple(sorted(old_labels - new_labels)),
    )


def diff_from_labels(
    old_labels: Mapping[str, str], gone: Iterable[Example], new: Snapshot
) -> SnapshotDiff:
    """:func:`diff` with the old side known by hash and label, plus ``gone``: its examples
    whose hashes ``new`` lacks (the only ones a diff reads beyond their labels). A registered
    snapshot is read so (``Registry.get_snapshot_labels``, then ``get_examples``) without
    decoding the examples both sides share: most of them, for an update.
    """
    changed = diff(
        Snapshot.of(gone), Snapshot({h: e for h, e in new.examples.items() if h not in old_labels})
    )
    before, after = set(old_labels.values()), set(new.label_counts)
    return replace(
        changed,
        new_labels=tuple(sorted(after - before)),
        vanished_labels=tuple(sorted(before - after)),
    )


def apply_diff(base: Snapshot, change: SnapshotDiff) -> Snapshot:
    """Apply ``change`` to ``base``: ``apply_diff(a, diff(a, b))`` has the content of ``b``."""
    examples = dict(base.examples)
    for example in change.removed:
        examples.pop(example.hash, None)
    for old, new in change.relabeled:
        examples.pop(old.hash, None)
        examples[new.hash] = new
    for example in change.added:
        examples[example.hash] = example
    return Snapshot(examples)
