"""Validation of a set of read examples: conflicts, duplicates, and the final go/no-go."""

from __future__ import annotations

from collections import defaultdict

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
            result.warning(
                "duplicate",
                f"duplicate of {first.location} ({example.label!r}); kept once",
                example.source or "-",
                example.line,
            )
    return kept


def check(result: ReadResult, *, allow_conflicts: bool = False) -> list[Example]:
    """Validate everything read; return deduplicated examples or raise.

    Every conflict is listed with all its locations. With ``allow_conflicts`` they become
    warnings and every labeling is kept (a deliberate multi-label use).

    Raises
    ------
    ValidationFailed
        If any error was found; nothing downstream should be written then.
    """
    examples = dedupe(result.examples, result)
    for text, group in sorted(find_conflicts(examples).items()):
        places = "; ".join(f"{e.label!r} at {e.location}" for e in group)
        first = group[0]
        result.problems.append(
            Problem(
                "warning" if allow_conflicts else "error",
                "conflict",
                f"text {text!r} has more than one label: {places}",
                first.source,
                first.line,
            )
        )
    if not examples and not result.errors:
        result.error("no-data", "no examples found", ", ".join(result.files) or "data")
    if result.errors:
        hint = "fix the lines above and run `lifelong data validate` again"
        if any(p.code == "conflict" for p in result.errors):
            hint += " (or set allow_conflicts: true in config.yml if conflicts are intended)"
        raise ValidationFailed(result.problems, hint=hint)
    return examples
