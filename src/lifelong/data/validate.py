"""Validation of a set of read examples: reviewed relabels, conflicts, duplicates, and the final
go/no-go.

A relabel accepted in the review queue (``lifelong review accept``) is written into the data as a
record whose ``review`` field says which label it ``replaces``; :func:`apply_reviewed_relabels`
lets that record win over every other label of its text, so the old example stops training
without anyone editing the files it came from (the user's own data stays as they wrote it, and
the decision stays visible and revertible: delete the ingested line and the old label is back).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from lifelong.core.errors import Problem, ValidationFailed
from lifelong.core.types import Example
from lifelong.data.result import ReadResult


def find_conflicts(examples: list[Example]) -> dict[str, list[Example]]:
    """Texts that appear under more than one label: normalized text -> the examples."""
    by_text: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_text[example.text].append(example)
    return {
        text: group
        for text, group in by_text.items()
        if len({example.label for example in group}) > 1
    }


def review_id(example: Example) -> int | None:
    """The review-queue id of a reviewed relabel, ``None`` for any other example."""
    review: Any = example.meta.get("review")
    if isinstance(review, dict) and isinstance(review.get("id"), int) and review.get("replaces"):
        return int(review["id"])
    return None


def apply_reviewed_relabels(examples: list[Example], result: ReadResult) -> list[Example]:
    """Drop every example whose text has a reviewed relabel to another label.

    For each text the relabel decided last (highest review id) wins; the examples it overrides
    are listed in a note, so `data validate` shows what no longer trains and why.
    """
    winner: dict[str, tuple[int, str]] = {}
    for example in examples:
        reviewed = review_id(example)
        if reviewed is not None and reviewed > winner.get(example.text, (-1, ""))[0]:
            winner[example.text] = (reviewed, example.label)
    if not winner:
        return examples
    kept: list[Example] = []
    for example in examples:
        decided = winner.get(example.text)
        if decided is not None and decided[1] != example.label:
            result.notes.append(
                f"{example.location}: {example.text!r} as {example.label!r} is replaced by "
                f"reviewed relabel #{decided[0]} to {decided[1]!r}"
            )
            continue
        kept.append(example)
    return kept


def dedupe(examples: list[Example], result: ReadResult) -> list[Example]:
    """Keep the first of each exact duplicate (same normalized text and label), warn of the rest."""
    seen: dict[str, Example] = {}
    kept: list[Example] = []
    for example in examples:
        first = seen.get(example.hash)
        if first is None:
            seen[example.hash] = example
            kept.append(example)
        else:
            result.problems.append(duplicate_warning(example, first.location))
    return kept


def duplicate_warning(example: Example, first: str) -> Problem:
    """The warning of a duplicate of the example at location ``first`` (a stream's too)."""
    message = f"duplicate of {first} ({example.label!r}); kept once"
    return Problem("warning", "duplicate", message, example.source or "-", example.line)


def check(result: ReadResult, *, allow_conflicts: bool = False) -> list[Example]:
    """Validate everything read; return deduplicated examples or raise.

    Reviewed relabels are applied first (:func:`apply_reviewed_relabels`), so a text relabeled
    through the review queue is no conflict.
    Every conflict is listed with all its locations. With ``allow_conflicts`` they become
    warnings and every labeling is kept (a deliberate multi-label use).

    Raises
    ------
    ValidationFailed
        If any error was found; nothing downstream should be written then.
    """
    examples = dedupe(apply_reviewed_relabels(result.examples, result), result)
    result.problems.extend(conflict_problems(find_conflicts(examples), allow_conflicts))
    if not examples and not result.errors:
        result.error("no-data", "no examples found", ", ".join(result.files) or "data")
    if result.errors:
        raise ValidationFailed(result.problems, hint=refusal_hint(result.errors))
    return examples


def conflict_problems(
    conflicts: Mapping[str, list[Example]], allow_conflicts: bool
) -> list[Problem]:
    """One problem per conflicting text (sorted by text), naming every label and location:
    an error, or a warning with ``allow_conflicts``. A stream reports its conflicts through
    this too (:mod:`lifelong.data.stream`), so both paths say the same."""
    problems = []
    for text, group in sorted(conflicts.items()):
        places = "; ".join(f"{e.label!r} at {e.location}" for e in group)
        first = group[0]
        problems.append(
            Problem(
                "warning" if allow_conflicts else "error",
                "conflict",
                f"text {text!r} has more than one label: {places}",
                first.source,
                first.line,
            )
        )
    return problems


def refusal_hint(errors: list[Problem]) -> str:
    """What to do about validation ``errors`` (a conflict may be deliberate: say how)."""
    hint = "fix the lines above and run `lifelong data validate` again"
    if any(p.code == "conflict" for p in errors):
        hint += " (or set allow_conflicts: true in config.yml if conflicts are intended)"
    return hint
