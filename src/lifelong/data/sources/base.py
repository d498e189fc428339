"""The two-phase contract every source of new examples follows.

A cycle asks each source for what is ``pending()``, builds and commits a snapshot holding those
examples, and only then calls ``commit(receipts)``. A crash between the two leaves the source
as it was, so the next cycle is offered the same examples again: redelivery is harmless because
examples are content-hashed (a snapshot holds each hash once), and nothing is ever lost because a
source forgets data only on ``commit``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from lifelong.core.errors import LifelongError, Problem
from lifelong.core.types import Example


class SourceUnavailable(LifelongError):
    """A transport cannot be reached, or lacks what the source reads (a topic, a stream).

    Raised before anything is read or acknowledged: the cycle fails with no side effect and the
    next one retries.
    """


@dataclass(frozen=True)
class Receipt:
    """Proof of delivery of part of a batch; opaque to the caller, meaningful to its source.

    ``source`` names the source that issued it, so a receipt handed to the wrong source is
    caught instead of acknowledging the wrong data.
    """

    source: str
    key: str
    check: str = ""


@dataclass
class Batch:
    """What a source offers: examples, the receipts that acknowledge them, and problems.

    Problems are data the source could not turn into examples (a malformed file or message) and
    warnings of the readers; the source has already set such data aside with a record of why.
    """

    source: str
    examples: list[Example] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when there is nothing to ingest and nothing to acknowledge."""
        return not self.examples and not self.receipts


class Source(Protocol):
    """A source of new labeled examples with exactly-once delivery into snapshots."""

    @property
    def name(self) -> str:
        """Stable name used in receipts and messages, e.g. ``inbox:/project/inbox``."""
        ...

    def pending(self) -> Batch:
        """New examples not yet committed. Calling it again before ``commit`` redelivers."""
        ...

    def commit(self, receipts: Iterable[Receipt]) -> None:
        """Forget what ``receipts`` acknowledge; call only once their snapshot is committed."""
        ...

    def close(self) -> None:
        """Release connections (a Kafka consumer leaves its group); unacknowledged data stays
        pending for the next reader. Safe to call twice."""
        ...


@contextmanager
def closing_all(sources: list[Source]) -> Iterator[list[Source]]:
    """The sources, each closed on the way out, error or not."""
    try:
        yield sources
    finally:
        for source in sources:
            source.close()


def own_receipts(name: str, receipts: Iterable[Receipt]) -> list[Receipt]:
    """The receipts as a list, after checking that source ``name`` issued every one.

    Raises
    ------
    ValueError
        A receipt of another source: acknowledging it here would lose that source's data.
    """
    mine = list(receipts)
    for receipt in mine:
        if receipt.source != name:
            raise ValueError(
                f"receipt of source {receipt.source!r} passed to {name!r}; "
                "commit each batch's receipts to the source that issued them"
            )
    return mine
