"""Repeated texts of a stream (duplicates and conflicts) found in a fixed number of bytes a row.

In memory, :func:`~lifelong.data.validate.check` keeps the first of each repeated example (same
normalized text, same label) and refuses a text under two labels (a conflict). A stream cannot
hold its texts, so :class:`RowKeys` holds two 64-bit hashes per row instead, in the order the
rows come: its normalized text's and its label's, **16 bytes a row** while the scan runs (and
one block of keys as Python integers, about 5 MB). :meth:`RowKeys.find` sorts them once, which
for that moment takes about **43 bytes a row** (the keys, their order and the sorted keys:
measured by ``bench/repeats.py``, 164 MB at 4 M rows). So past ``memory_rows`` rows (default
1 M: 16 MB held, 43 MB sorting) the keys go to a temporary SQLite table on disk (about 50 bytes
a row of disk), which SQLite sorts out of core: memory then peaks at the spill (the keys held
so far, 16 MB, and a block) and stays at one block whatever the rows (2x slower to add, 5x to
sort). :meth:`RowKeys.find` returns :class:`Repeats`: the rows that repeat
an earlier row (8 bytes each: few, in most data) and the text hashes seen with more than one
label.

A text hash is 64 bits: two different texts share one with odds of about n^2 / 2^65 (1 in
100,000 at 20 M rows). A shared text hash with two labels is only a candidate conflict: the
stream reads those rows' texts again and reports only a text truly under two labels. A
duplicate needs both hashes equal (128 bits), whose odds are negligible.
"""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

BLOCK_ROWS = 65_536
"""Keys kept in Python lists before they become an array (or go to disk): 64k rows."""
MEMORY_ROWS = 1_000_000
"""Rows whose keys are held in memory (16 MB; 43 MB while sorted) before they go to SQLite."""
LISTED = 100
"""Duplicates (and conflicting texts) reported one by one; the rest are counted."""


def key(value: str) -> int:
    """A 64-bit hash of ``value``: Python's own string hash (SipHash, signed 64 bits as SQLite's
    integers are; a string caches it, and the stream hashes each text anyway). It is salted per
    process, which is all keys need: they never leave the scan that made them."""
    return hash(value)


@dataclass(frozen=True)
class Repeats:
    """What :meth:`RowKeys.find` found.

    ``duplicates``: the ordinals (row numbers in the order the keys were added) of rows that
    repeat an earlier row's text and label, sorted. ``first_of``: for the first ``LISTED`` of
    them, the ordinal of the row each repeats (what a warning names). ``conflicts``: the text
    hashes seen under more than one label (candidates: see the module's docstring).
    """

    duplicates: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    first_of: dict[int, int] = field(default_factory=dict)
    conflicts: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.duplicates.size or self.conflicts)


class Skips:
    """Whether a row is a duplicate, asked row by row in increasing ordinal (a walk along the
    sorted duplicates, so no set of them is built)."""

    def __init__(self, duplicates: NDArray[np.int64], start: int = 0) -> None:
        self._duplicates = duplicates
        self._next = int(np.searchsorted(duplicates, start))  # the first asked is ``start``

    def __call__(self, ordinal: int) -> bool:
        duplicates, position = self._duplicates, self._next
        while position < duplicates.size and duplicates[position] < ordinal:
            position += 1
        self._next = position
        return position < duplicates.size and int(duplicates[position]) == ordinal


class RowKeys:
    """The (text hash, label hash) of every row, in order; see the module's docstring."""

    def __init__(self, memory_rows: int = MEMORY_ROWS) -> None:
        self.memory_rows = memory_rows
        self.rows = 0
        self._texts: list[int] = []
        self._labels: list[int] = []
        self._blocks: list[NDArray[np.int64]] = []
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._db: sqlite3.Connection | None = None

    @property
    def on_disk(self) -> bool:
        """Whether the keys went to the table on disk (past ``memory_rows``)."""
        return self._db is not None

    def add(self, text: str, label: str) -> None:
        """Key the next row (its ordinal is the number of rows added before it)."""
        self._texts.append(key(text))
        self._labels.append(key(label))
        self.rows += 1
        if len(self._texts) == BLOCK_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._texts:
            return
        block = np.array([self._texts, self._labels], dtype=np.int64)
        self._texts, self._labels = [], []
        if self._db is None and self.rows <= self.memory_rows:
            self._blocks.append(block)
            return
        db = self._db or self._open()
        first = self.rows - block.shape[1]
        ordinals = range(first, self.rows)
        db.executemany(
            "INSERT INTO keys VALUES (?, ?, ?)",
            zip(ordinals, block[0].tolist(), block[1].tolist(), strict=True),
        )

    def _open(self) -> sqlite3.Connection:
        """The table on disk, with the blocks held so far moved into it."""
        self._folder = tempfile.TemporaryDirectory(prefix="lifelong-keys-")
        db = sqlite3.connect(Path(self._folder.name) / "keys.sqlite")
        db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;"
            "CREATE TABLE keys (ord INTEGER PRIMARY KEY, text INTEGER, label INTEGER);"
        )
        first = 0
        for block in self._blocks:
            ordinals = range(first, first + block.shape[1])
            db.executemany(
                "INSERT INTO keys VALUES (?, ?, ?)",
                zip(ordinals, block[0].tolist(), block[1].tolist(), strict=True),
            )
            first += block.shape[1]
        self._blocks = []
        self._db = db
        return db

    def find(self) -> Repeats:
        """The duplicates and candidate conflicts of the rows added (then the keys are freed)."""
        self._flush()
        try:
            return self._find_on_disk() if self._db is not None else self._find_in_memory()
        finally:
            self.close()

    def _find_in_memory(self) -> Repeats:
        if not self._blocks:
            return Repeats()
        keys = np.concatenate(self._blocks, axis=1)
        self._blocks = []
        order = np.lexsort((keys[1], keys[0]))  # stable: a key's first row comes first
        texts, labels = keys[0][order], keys[1][order]
        same_text = texts[1:] == texts[:-1]
        same = same_text & (labels[1:] == labels[:-1])
        conflicts = frozenset(np.unique(texts[1:][same_text & ~same]).tolist())
        del texts, labels
        at = np.flatnonzero(same) + 1  # sorted positions of the rows that repeat the one before
        starts = np.flatnonzero(np.r_[True, ~same])  # where each run of one key begins
        firsts = order[starts[np.searchsorted(starts, at, side="right") - 1]]
        by_row = np.argsort(order[at], kind="stable")
        duplicates, firsts = order[at][by_row].astype(np.int64), firsts[by_row]
        first_of = dict(zip(duplicates[:LISTED].tolist(), firsts[:LISTED].tolist(), strict=True))
        return Repeats(duplicates, first_of, conflicts)

    def _find_on_disk(self) -> Repeats:
        assert self._db is not None
        db = self._db
        db.execute("CREATE INDEX keys_by_text ON keys (text, label, ord)")
        rows = db.execute(
            "SELECT ord, first FROM (SELECT ord, first_value(ord) OVER (PARTITION BY text, "
            "label ORDER BY ord) AS first FROM keys) WHERE ord != first ORDER BY ord"
        )
        first_of = dict(rows.fetchmany(LISTED))
        rest = np.fromiter((ordinal for ordinal, _ in rows), dtype=np.int64)
        duplicates = np.concatenate([np.array(list(first_of), dtype=np.int64), rest])
        conflicts = db.execute(
            "SELECT text FROM keys GROUP BY text HAVING min(label) != max(label)"
        )
        return Repeats(duplicates, first_of, frozenset(text for (text,) in conflicts))

    def close(self) -> None:
        """Free the keys (and remove the table on disk)."""
        self._blocks, self._texts, self._labels = [], [], []
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
