"""What a reader returns: examples plus every problem found, never a half-raised error.

Readers collect problems instead of raising at the first one so that ``lifelong data validate``
can list every bad line of every file in one run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lifelong.core.errors import Problem
from lifelong.core.text_check import value_problem
from lifelong.core.types import Example

if TYPE_CHECKING:
    from lifelong.data.table_read import FileColumns


@dataclass
class ReadResult:
    """Examples read from one or more files, with problems and notes."""

    examples: list[Example] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    tables: list[FileColumns] = field(default_factory=list)

    def error(self, code: str, message: str, source: str, line: int | None = None) -> None:
        self.problems.append(Problem("error", code, message, source, line))

    def warning(self, code: str, message: str, source: str, line: int | None = None) -> None:
        self.problems.append(Problem("warning", code, message, source, line))

    def extend(self, other: ReadResult) -> None:
        self.examples.extend(other.examples)
        self.problems.extend(other.problems)
        self.notes.extend(other.notes)
        self.files.extend(other.files)
        self.tables.extend(other.tables)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def add_example(
        self,
        text: object,
        label: object,
        source: str,
        line: int | None,
        *,
        timestamp: object = None,
        meta: Mapping[str, object] | None = None,
        what: str = "example",
    ) -> None:
        """Check one raw record's fields and keep it, or record why not (a string that cannot
        be hashed or stored, too: see :mod:`lifelong.core.text_check`)."""
        if not isinstance(text, str):
            self.error("missing-text", f"{what} has no text (expected a string)", source, line)
            return
        if not text.strip():
            self.error("empty-text", f"{what} has empty text", source, line)
            return
        if not isinstance(label, str) or not label.strip():
            self.error("missing-label", f"{what} has no intent label", source, line)
            return
        if timestamp is not None and not isinstance(timestamp, str):
            timestamp = str(timestamp)
        fields = {"text": text, "intent": label, "timestamp": timestamp, "meta": meta}
        for name, value in fields.items():  # JSON and YAML escapes can spell a lone surrogate
            problem = value_problem(value, name)
            if problem is not None:
                self.error("invalid-text", f"{what} {problem}", source, line)
                return
        self.examples.append(
            Example.make(
                text, label, source=source, line=line, timestamp=timestamp, meta=dict(meta or {})
            )
        )
