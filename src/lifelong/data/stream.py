"""Data larger than memory: files read in chunks, a bounded shuffle, a manifest per file.

A :class:`StreamSource` reads a project's ``.jsonl``, ``.csv`` and ``.parquet`` files (or
folders of parts; texts, or the rows of a tabular project) a chunk of rows at a time: JSON
Lines and CSV line by line from the open file, Parquet by record batches (pyarrow), so memory
holds one chunk whatever the file's size. Every row goes through the same checks as the
whole-file readers (:meth:`ReadResult.add_example`, :func:`~lifelong.data.table_read.add_row`);
a bad row stops the read with its file and line.

A tabular project's files are typed first (:meth:`StreamSource.schemas`): one pass counts each
file's values column by column with the rule of the whole-file reader
(:class:`~lifelong.data.table_read.FileTyping`), and the files' types are compared as
:func:`~lifelong.data.table_read.check_tables` compares them in memory; each row then becomes
its canonical text under its file's types, so a row's hash and split are those it has in memory.

:meth:`StreamSource.scan` is the first pass a streamed training makes before any weight
changes: it checks every row (a bad row in the last chunk fails the run before training, so
nothing half-trained can be registered), hashes each file (sha256) and counts its rows, labels
and splits (a :class:`FileManifest` per file), and keeps bounded, stable samples of the valid
and test splits (the examples of smallest :func:`~lifelong.data.split.split_unit`, so adding
data moves few of them). Splits are computed on the fly from each text, exactly as for data
held in memory.

Duplicates and conflicts are what they are in memory (:func:`~lifelong.data.validate.check`):
the scan keys every row by two 64-bit hashes (16 bytes a row, on disk past a cap:
:mod:`lifelong.data.repeats`); a row repeating an earlier row's text and label is trained once
(counted ``duplicate`` in its file's splits, with a warning), and a text under two labels
refuses the data (a warning with ``allow_conflicts``), named with every location. A conflict
costs the scan one more pass (it reads the conflicting texts back); duplicates alone, a second
read of the files that hold them (or the rows they repeat), to take them out of the counts.
Rasa YAML files (small by nature) are read in memory only. A regression target is not counted
by value (nearly every row has its own): its files' manifests have no labels.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from lifelong.config import Columns, Splits
from lifelong.core.errors import DataError, Problem, ValidationFailed
from lifelong.core.hashing import sha256_file
from lifelong.core.types import Example, FileManifest
from lifelong.data.dataset import read_checked
from lifelong.data.jsonl import EXPECTED_OBJECT, jsonl_object
from lifelong.data.read import data_files
from lifelong.data.repeats import LISTED, MEMORY_ROWS, Repeats, RowKeys, Skips, key
from lifelong.data.result import ReadResult
from lifelong.data.schema import TableSchema, column_key
from lifelong.data.snapshot import Snapshot
from lifelong.data.split import SplitName, split_at, split_unit
from lifelong.data.table_read import (
    TYPED_SUFFIXES,
    FileTyping,
    add_row,
    check_tables,
    duplicate_columns,
    keyed,
    table_header_check,
)
from lifelong.data.tabular import HeaderCheck, csv_rows, table_rows, text_header_check
from lifelong.data.trainable import check_trainable_counts
from lifelong.data.validate import (
    conflict_problems,
    duplicate_warning,
    refusal_hint,
    review_id,
)
from lifelong.project import Project

STREAM_SUFFIXES = (".jsonl", ".csv", ".parquet")
RASA_SUFFIXES = (".yml", ".yaml")
DEFAULT_CHUNK = 4096
"""Rows per chunk: large enough that a chunk's Python overhead is amortized, small enough that
a chunk of long texts stays a few MB."""

T = TypeVar("T")
RawRow = tuple[int, object, object, object, dict[str, object] | None]
"""``(line, text, label, timestamp, meta)`` as a file holds them, before any check (``meta``:
a JSON Lines record's ``review``, else ``None``)."""
Record = tuple[int, dict[str, Any]]
"""``(line, {column: value})`` as a file holds them, before any check."""
Relabels = dict[str, tuple[int, str, Path]]
"""Texts whose label a reviewed relabel decided: text -> (review id, label, the file it is in)."""


@dataclass
class Scan:
    """What the first pass over a stream learned: per-file manifests, the training labels and
    their counts, and bounded samples of the valid and test splits."""

    files: list[FileManifest] = field(default_factory=list)
    train_labels: Counter[str] = field(default_factory=Counter)
    """Training examples per class (empty for a regression target, which has no classes)."""
    n_train: int = 0
    valid: list[Example] = field(default_factory=list)
    test: list[Example] = field(default_factory=list)
    replay: list[Example] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Warnings of the data kept: duplicates, and conflicts allowed by ``allow_conflicts``."""

    def split_sizes(self) -> dict[str, int]:
        """Rows of each split in the files (valid and test: all of them, not the samples)."""
        sizes = Counter[str]()
        for manifest in self.files:
            sizes.update(manifest.splits)
        return {name: sizes.get(name, 0) for name in ("train", "valid", "test")}


class _Smallest:
    """The ``size`` distinct examples of smallest key seen so far (a bounded max-heap; an
    example offered again is passed over, so a duplicate never takes a second place)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._heap: list[tuple[float, str, Example]] = []
        self._held: set[str] = set()

    def offer(self, key: float, example: Example) -> None:
        if self.size == 0 or example.hash in self._held:
            return
        item = (-key, example.hash, example)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            self._held.discard(heapq.heapreplace(self._heap, item)[1])
        else:
            return
        self._held.add(example.hash)

    def examples(self) -> list[Example]:
        return [example for _, _, example in sorted(self._heap, reverse=True)]


def shuffled(items: Iterable[T], size: int, rng: np.random.Generator) -> Iterator[T]:
    """``items`` in a random order drawn through a buffer of at most ``size`` items.

    The buffer fills, then each new item takes the place of a randomly chosen one, which is
    yielded; what remains at the end comes out in random order. An item can move forward at
    most ``size`` places, so the larger the buffer, the closer to a full shuffle; memory is the
    buffer's, whatever the length of ``items``.

    >>> sorted(shuffled(range(10), 3, np.random.default_rng(0)))
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    if size < 1:
        raise ValueError("a shuffle buffer holds at least one item")
    buffer: list[T] = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        slot = int(rng.integers(size))
        yield buffer[slot]
        buffer[slot] = item
    for slot in rng.permutation(len(buffer)):
        yield buffer[slot]


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_ahead(items: Iterator[T], depth: int) -> Iterator[T]:
    """``items`` in their order, drawn by a thread of their own up to ``depth`` items ahead.

    A streamed epoch reads, checks and featurizes its rows in Python between training steps:
    in this thread the next batches are made while the step runs (torch's kernels and the
    compiled optimizer release the GIL), instead of after it. An exception raised by ``items``
    is raised here where its item would have come; once the consumer stops (this generator is
    closed or dropped) the thread stops at its next item.
    """
    if depth < 1:
        raise ValueError("read-ahead holds at least one item")
    ready: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over((True, item)):
                    return
        except BaseException as error:  # handed to the consumer, raised in its thread
            hand_over((False, error))
            return
        hand_over((False, None))

    thread = threading.Thread(target=produce, name="lifelong-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            is_item, value = ready.get()
            if is_item:
                yield value
            elif value is None:
                return
            else:
                raise value
    finally:
        stop.set()
        thread.join()


def _refuse(result: ReadResult) -> None:
    if result.errors:
        raise ValidationFailed(
            result.problems,
            hint="fix the rows named (a streamed training stops at a file's first bad chunk)",
        )


class StreamSource:
    """The training data of a project's ``data:`` paths, read a chunk at a time.

    Parameters
    ----------
    paths
        Files and folders (walked recursively in sorted order, as ``data:`` is).
    columns
        Column names of CSV and Parquet files; with ``columns.target`` the files are a tabular
        project's rows (see the module's docstring).
    splits
        Split fractions and salt (the same stable split as data held in memory).
    chunk_rows
        Rows read, checked and handed on at a time.
    sample_size
        Largest number of valid and of test examples kept by :meth:`scan` (each).
    held_out
        Normalized texts in no split (the examples of ``test:`` and ``trusted:`` files).
    explicit_test
        The project names its test files: the examples the hash would put in test are
        trained on instead (as :func:`~lifelong.data.split.split_examples` does), so the split
        is train or valid only.
    root
        Manifests name files under ``root`` by their path relative to it (a project folder
        moved elsewhere keeps its snapshot ids); others by their absolute path.
    allow_conflicts
        A text under two labels is a warning and trains under both (else :meth:`scan` refuses
        it), as ``allow_conflicts`` does in memory.
    key_rows
        Rows whose duplicate keys :meth:`scan` holds in memory before it moves them to disk
        (:class:`~lifelong.data.repeats.RowKeys`).
    relabels
        Reviewed relabels already known (those a scan of a source over more files found, see
        :func:`with_files`): they apply before any scan of this source; a scan keeps those of
        files outside it and finds those of its own files again.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        columns: Columns,
        splits: Splits,
        *,
        chunk_rows: int = DEFAULT_CHUNK,
        sample_size: int = 20_000,
        held_out: frozenset[str] = frozenset(),
        explicit_test: bool = False,
        root: Path | None = None,
        allow_conflicts: bool = False,
        key_rows: int = MEMORY_ROWS,
        relabels: Relabels | None = None,
    ) -> None:
        self.columns = columns
        self.tabular = columns.target is not None
        self.splits = splits
        self.chunk_rows = chunk_rows
        self.sample_size = sample_size
        self.held_out = held_out
        self.explicit_test = explicit_test
        self.root = root
        self.allow_conflicts = allow_conflicts
        self.key_rows = key_rows
        self.relabels: Relabels = dict(relabels or {})
        """Texts whose label a reviewed relabel decided (see ``relabels``)."""
        self.repeats = Repeats()
        """The duplicates :meth:`scan` found, by ordinal: the rank of a row among the rows no
        relabel replaced, in file order (``_starts``: the ordinal of each file's first)."""
        self._starts: dict[Path, int] = {}
        self._schemas: dict[Path, TableSchema] | None = None
        listing = ReadResult()
        # a text project's Rasa files are listed (then refused), not passed over as unknown
        suffixes = STREAM_SUFFIXES if self.tabular else (*STREAM_SUFFIXES, *RASA_SUFFIXES)
        self.files = data_files(paths, suffixes, listing)
        self.warnings = listing.warnings
        refused = [p for p in self.files if p.suffix.lower() not in STREAM_SUFFIXES]
        if refused:
            raise DataError(
                f"{refused[0]}: a streamed training reads {', '.join(STREAM_SUFFIXES)} files",
                hint="convert the file to JSON Lines, or set training.stream: false",
            )

    def name(self, path: Path) -> str:
        """How a manifest names ``path`` (see ``root``)."""
        if self.root is not None and path.resolve().is_relative_to(self.root.resolve()):
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        return str(path.resolve())

    def split(self, example: Example) -> tuple[SplitName, float]:
        """The example's split and its unit (see :func:`~lifelong.data.split.split_unit`)."""
        unit = split_unit(example.text, self.splits)
        name = split_at(unit, self.splits)
        return ("train" if name == "test" and self.explicit_test else name), unit

    def chunks(self, path: Path) -> Iterator[list[Example]]:
        """The checked examples of one file, ``chunk_rows`` at a time.

        Raises
        ------
        ValidationFailed
            At the first chunk holding a bad row (every bad row of that chunk is listed), or,
            for a tabular project, files whose columns disagree (see :meth:`schemas`).
        """
        if self.tabular:
            yield from self._table_chunks(path)
            return
        source = str(path)
        for rows in chunked(self._raw_rows(path), self.chunk_rows):
            result = ReadResult()
            for line, text, label, timestamp, meta in rows:
                result.add_example(
                    text, label, source, line, timestamp=timestamp, meta=meta, what="row"
                )
            _refuse(result)
            yield result.examples

    def _table_chunks(self, path: Path) -> Iterator[list[Example]]:
        schema = self.schemas().get(path)
        if schema is None:  # a file without rows
            return
        source = str(path)
        target, stamp = column_key(schema.target), column_key(self.columns.timestamp)
        for records in chunked(self._records(path), self.chunk_rows):
            result = ReadResult()
            for line, record in records:
                add_row(result, schema, keyed(record), target, stamp, source, line)
            _refuse(result)
            yield result.examples

    def schemas(self) -> dict[Path, TableSchema]:
        """The typed columns of each file of a tabular project (files without rows have none).

        The first call reads every file once, counting its values a chunk at a time by the
        whole-file reader's rule, then compares the files; later calls reuse the result.

        Raises
        ------
        ValidationFailed
            A malformed line, two names for one column, a column missing from a file, or files
            that disagree on a column's type (both named, with the first value that is not a
            number), as the in-memory read reports them.
        """
        if self._schemas is not None:
            return self._schemas
        result = ReadResult()
        schemas: dict[Path, TableSchema] = {}
        for path in self.files:
            source = str(path)
            typing = FileTyping(source, path.suffix.lower() in TYPED_SUFFIXES)
            for line, record in self._records(path):
                clash = duplicate_columns(record)
                if clash is not None:
                    result.error("duplicate-column", clash, source, line)
                    _refuse(result)
                typing.add(line, keyed(record))
            schema = typing.schema(self.columns, result)
            _refuse(result)
            if schema is not None:
                schemas[path] = schema
        check_tables(result)
        _refuse(result)
        self._schemas = schemas
        return schemas

    def examples(
        self, unseen: Mapping[str, int] | None = None
    ) -> Iterator[tuple[SplitName, Example]]:
        """Every example of every file but the held-out ones, in file order, with its split.

        ``unseen`` (a file's manifest name -> rows to pass over, see :func:`unseen_rows`) keeps
        to the files it names, each from that row on: the rows an update's parent did not see.
        """
        for example in self.kept(unseen):
            if example.text not in self.held_out:
                yield self.split(example)[0], example

    def kept(self, unseen: Mapping[str, int] | None = None) -> Iterator[Example]:
        """Every example the data holds once reviewed relabels and the duplicates found by
        :meth:`scan` are applied, held-out texts included: the in-memory pool's examples, in
        file order (``unseen`` as in :meth:`examples`). Lookups by text go through this, so
        they see the labels the scan and training see."""
        for path in self.files:
            skip = 0
            if unseen is not None:
                if self.name(path) not in unseen:
                    continue
                skip = unseen[self.name(path)]
            yield from self.kept_in(path, skip)

    def kept_in(self, path: Path, skip: int = 0) -> Iterator[Example]:
        """:meth:`kept` of one file, from its row ``skip`` on."""
        ordinal = self._starts.get(path, 0)
        duplicate = Skips(self.repeats.duplicates, ordinal)
        for row, example in enumerate(itertools.chain.from_iterable(self.chunks(path))):
            if self._replaced(example):
                continue
            ordinal += 1
            if row >= skip and not duplicate(ordinal - 1):
                yield example

    def _replaced(self, example: Example) -> bool:
        """Whether a reviewed relabel (found by :meth:`scan`) moved the example's text to
        another label: the example no longer trains, as in memory."""
        decided = self.relabels.get(example.text)
        return decided is not None and decided[1] != example.label

    def train_examples(self, unseen: Mapping[str, int] | None = None) -> Iterator[Example]:
        """The training split's examples, in file order (``unseen`` as in :meth:`examples`)."""
        return (example for name, example in self.examples(unseen) if name == "train")

    def scan(self, replay_size: int = 0) -> Scan:
        """One pass over every file: check every row, hash and count each file, sample the
        valid and test splits (see the module's docstring) and ``replay_size`` training
        examples (a uniform, stable sample: the replay buffer of the bundle).

        It also finds the relabels accepted in review (records with a ``review`` that
        ``replaces`` a label, :func:`~lifelong.data.validate.apply_reviewed_relabels`): from
        then on this source's examples of such a text under another label are left out
        (counted as ``replaced`` in their file's splits). A relabel found after examples it
        overrides were counted makes the scan run once more, with the relabels known: they are
        few (a person accepted each), so the second pass is rare. Conflicts (found by their
        keys, see the module's docstring) make it run once more too; duplicates alone, over
        the files that hold them.

        Raises
        ------
        ValidationFailed
            A bad row, or (without ``allow_conflicts``) a text under more than one label.
        """
        if self.tabular:
            self.schemas()  # typed (and compared) before the first row is made an example
        self.repeats, self._starts = Repeats(), {}
        keys = RowKeys(self.key_rows)
        scan, found = self._pass(replay_size, keys)
        if found != self.relabels:
            keys.close()
            self.relabels = found
            return self.scan(replay_size)
        self.repeats = keys.find()
        if not self.repeats.conflicts:
            if self.repeats:
                self._discount(scan)
            return scan
        scan, _ = self._pass(replay_size, None)
        if any(p.severity == "error" for p in scan.problems):
            raise ValidationFailed(scan.problems, hint=refusal_hint(scan.problems))
        return scan

    def _discount(self, scan: Scan) -> None:
        """Take the duplicates (no conflict found) out of the first pass's counts, reading
        again only the files that hold them or the rows they repeat (the samples already hold
        each example once: see ``_Smallest``)."""
        repeats, by_value = self.repeats, self.columns.kind == "classification"
        starts = np.array([self._starts[path] for path in self.files], dtype=np.int64)
        firsts_at = np.fromiter(repeats.first_of.values(), dtype=np.int64)
        ordinals = np.concatenate([repeats.duplicates, firsts_at])
        files = set(np.searchsorted(starts, ordinals, side="right").tolist())
        duplicate, firsts = Skips(repeats.duplicates), frozenset(repeats.first_of.values())
        located: dict[int, str] = {}
        for index, path in enumerate(self.files):
            if index + 1 not in files:
                continue
            manifest = scan.files[index]
            labels, splits = Counter(manifest.labels), Counter(manifest.splits)
            ordinal = self._starts[path]
            for example in itertools.chain.from_iterable(self.chunks(path)):
                if self._replaced(example):
                    continue
                ordinal += 1
                if ordinal - 1 in firsts:
                    located[ordinal - 1] = example.location
                if not duplicate(ordinal - 1):
                    continue
                held = example.text in self.held_out
                name = "held_out" if held else self.split(example)[0]
                splits.update({name: -1, "duplicate": 1})
                if by_value:
                    labels[example.label] -= 1
                if name == "train":
                    scan.n_train -= 1
                    if by_value:
                        scan.train_labels[example.label] -= 1
                first = repeats.first_of.get(ordinal - 1)
                if first is not None:
                    scan.problems.append(duplicate_warning(example, located[first]))
            scan.files[index] = replace(manifest, labels=dict(+labels), splits=dict(+splits))
        scan.train_labels = +scan.train_labels
        scan.problems.extend(self._repeat_summary({}))

    def _pass(self, replay_size: int, keys: RowKeys | None) -> tuple[Scan, Relabels]:
        """One pass of :meth:`scan`: ``keys`` collects every row's keys (the first pass);
        without it the pass leaves out the duplicates already found and reports them and the
        conflicting texts. Returns the scan and the relabels found."""
        scan = Scan()
        by_value = self.columns.kind == "classification"  # a regression target has no classes
        samples = {
            "valid": _Smallest(self.sample_size),
            "test": _Smallest(self.sample_size),
            "train": _Smallest(replay_size),
        }
        own = frozenset(self.files)
        found = {text: d for text, d in self.relabels.items() if d[2] not in own}
        repeats = self.repeats
        duplicate = Skips(repeats.duplicates)
        listed = sorted(repeats.conflicts)[:LISTED]
        wanted, firsts = frozenset(listed), frozenset(repeats.first_of.values())
        located: dict[int, str] = {}  # ordinal -> location, of the rows duplicates repeat
        conflicting: dict[str, list[Example]] = {}
        ordinal = 0
        for path in self.files:
            self._starts[path] = ordinal
            labels: Counter[str] = Counter()
            splits: Counter[str] = Counter()
            for chunk in self.chunks(path):
                for example in chunk:
                    decided = review_id(example)
                    if decided is not None and decided > found.get(example.text, (-1,))[0]:
                        found[example.text] = (decided, example.label, path)
                    if self._replaced(example):
                        splits["replaced"] += 1
                        continue
                    ordinal += 1
                    if keys is not None:
                        keys.add(example.text, example.label)
                    elif duplicate(ordinal - 1):
                        splits["duplicate"] += 1
                        first = repeats.first_of.get(ordinal - 1)
                        if first is not None:
                            scan.problems.append(duplicate_warning(example, located[first]))
                        continue
                    elif ordinal - 1 in firsts:
                        located[ordinal - 1] = example.location
                    if wanted and key(example.text) in wanted:
                        conflicting.setdefault(example.text, []).append(example)
                    if by_value:
                        labels[example.label] += 1
                    if example.text in self.held_out:
                        splits["held_out"] += 1
                        continue
                    name, unit = self.split(example)
                    splits[name] += 1
                    if name == "train":
                        scan.n_train += 1
                        if by_value:
                            scan.train_labels[example.label] += 1
                    samples[name].offer(unit, example)
            scan.files.append(
                FileManifest(
                    path=self.name(path),
                    sha256=sha256_file(path),
                    bytes=path.stat().st_size,
                    rows=sum(splits.values()),
                    labels=dict(labels),
                    splits=dict(splits),
                )
            )
        scan.problems.extend(self._repeat_summary(conflicting))
        scan.valid = samples["valid"].examples()
        scan.test = samples["test"].examples()
        scan.replay = samples["train"].examples()
        return scan, found

    def _repeat_summary(self, conflicting: Mapping[str, list[Example]]) -> list[Problem]:
        """The conflicts among the texts read back (a shared text hash with one label is no
        conflict), and a count of the duplicates and conflicts not listed one by one."""
        severity = "warning" if self.allow_conflicts else "error"
        conflicts = {t: g for t, g in conflicting.items() if len({e.label for e in g}) > 1}
        problems = conflict_problems(conflicts, self.allow_conflicts)
        more = len(self.repeats.duplicates) - len(self.repeats.first_of)
        if more > 0:
            problems.append(
                Problem("warning", "duplicate", f"{more:,} more duplicates, each kept once")
            )
        unlisted = len(self.repeats.conflicts) - LISTED
        if unlisted > 0:
            message = f"about {unlisted:,} more texts have more than one label"
            problems.append(Problem(severity, "conflict", message))
        return problems

    def _records(self, path: Path) -> Iterator[Record]:
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            expected = "mapping column names to values" if self.tabular else EXPECTED_OBJECT
            return _jsonl_records(path, expected)
        if suffix == ".csv":
            check = table_header_check if self.tabular else text_header_check(self.columns)
            return _csv_records(path, check)
        return self._parquet_records(path)

    def _raw_rows(self, path: Path) -> Iterator[RawRow]:
        columns = self.columns
        suffix = path.suffix.lower()
        for line, record in self._records(path):
            if suffix == ".jsonl":
                # a relabel accepted in review is a JSON Lines record (see scan)
                review = {"review": record["review"]} if "review" in record else None
                text, label = record.get("text"), record.get("intent")
                yield line, text, label, record.get("timestamp"), review
                continue
            stamp = record.get(columns.timestamp) if columns.timestamp else None
            if suffix == ".csv":
                stamp = stamp or None  # an empty CSV field is no timestamp
            yield line, record[columns.text], record[columns.intent], stamp, None

    def _parquet_records(self, path: Path) -> Iterator[Record]:
        """The rows of a Parquet file by record batches: a text project's text, intent and
        timestamp columns, or every column of a tabular project's."""
        import pyarrow.parquet as pq

        source = str(path)
        columns = self.columns
        result = ReadResult()
        try:
            parquet = pq.ParquetFile(path)
            names = parquet.schema_arrow.names
        except Exception as error:  # pyarrow raises several unrelated types for bad files
            raise DataError(
                f"{path}: not a readable Parquet file: {error}",
                hint="write the file again (a truncated copy loses its footer)",
            ) from None
        wanted = None
        if not self.tabular:  # a tabular file's columns are checked by its typing
            missing = [name for name in (columns.text, columns.intent) if name not in names]
            if missing:
                raise DataError(
                    f"{path}: lacks column(s) {', '.join(map(repr, missing))}; found "
                    f"{', '.join(map(repr, names))}",
                    hint="set columns.text / columns.intent in config.yml",
                )
            own = (columns.text, columns.intent, columns.timestamp)
            wanted = [c for c in own if c in names]
        offset = 0
        try:
            for batch in parquet.iter_batches(batch_size=self.chunk_rows, columns=wanted):
                rows = table_rows(batch, result, source, first_line=offset + 1)
                _refuse(result)
                for index, row in enumerate(rows):
                    if row is not None:
                        yield offset + index + 1, row
                offset += batch.num_rows
        except OSError as error:  # a corrupt page inside a readable file
            raise DataError(
                f"{path}: Parquet read failed after row {offset}: {error}",
                hint="write the file again",
            ) from None


def _jsonl_records(path: Path, expected: str) -> Iterator[Record]:
    """The objects of a JSON Lines file, line by line from the open file."""
    source = str(path)
    result = ReadResult()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                result.error("not-utf8", _not_utf8(raw, error), source, number)
                _refuse(result)
            record = jsonl_object(line, source, number, result, expected)
            _refuse(result)
            if record is not None:
                yield number, record


def _csv_records(path: Path, check: HeaderCheck) -> Iterator[Record]:
    """The rows of a CSV file, read from the open file as it goes."""
    source = str(path)
    result = ReadResult()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = _located(handle, source, result)
        for line, row in csv_rows(lines, source, result, check):
            _refuse(result)
            yield line, dict(row)
    _refuse(result)


def _located(lines: Iterable[str], source: str, result: ReadResult) -> Iterator[str]:
    """``lines`` of an open text file; a byte that is not UTF-8 stops the read with its line
    (the decoder reads ahead by blocks, so the line is where decoding failed)."""
    number = 0
    iterator = iter(lines)
    while True:
        try:
            line = next(iterator)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            result.error(
                "not-utf8",
                f"bytes that are not valid UTF-8 ({error.reason}) after line {number}; save "
                "the file as UTF-8",
                source,
                number + 1,
            )
            _refuse(result)
        number += line.count("\n")
        yield line


def _not_utf8(raw: bytes, error: UnicodeDecodeError) -> str:
    return (
        f"byte 0x{raw[error.start]:02x} at column {error.start + 1} is not valid UTF-8; save "
        "the file as UTF-8"
    )


def diff_files(old: Sequence[FileManifest], new: Sequence[FileManifest]) -> dict[str, Any]:
    """What changed between two snapshots of files, by file and row count.

    A file is ``added`` or ``removed`` by path and ``changed`` when its sha256 differs (rows
    before and after named: a file that grew by appended rows shows how many); ``new_labels``
    are labels of the new files that no old file had. ``rows_added`` counts the rows of the
    added files plus what each changed file grew by: what the loop's volume trigger counts
    (a file edited in place without growing adds no rows; which of its rows changed is unknown
    without every row's hash).
    """
    before = {f.path: f for f in old}
    after = {f.path: f for f in new}
    changed = [
        {"path": path, "rows_before": before[path].rows, "rows_after": f.rows}
        for path, f in sorted(after.items())
        if path in before and before[path].sha256 != f.sha256
    ]
    old_labels = {label for f in old for label in f.labels}
    return {
        "kind": "files",
        "files_added": sorted(set(after) - set(before)),
        "files_removed": sorted(set(before) - set(after)),
        "files_changed": changed,
        "rows_added": sum(
            f.rows - before[path].rows if path in before else f.rows
            for path, f in after.items()
            if path not in before
            or (before[path].sha256 != f.sha256 and f.rows > before[path].rows)
        ),
        "rows_before": sum(f.rows for f in old),
        "rows_after": sum(f.rows for f in new),
        "new_labels": sorted({label for f in new for label in f.labels} - old_labels),
    }


def unseen_rows(old: Sequence[FileManifest], new: Sequence[FileManifest]) -> dict[str, int]:
    """The files of ``new`` that hold rows ``old`` did not, by name, with the rows of each to
    pass over (:meth:`StreamSource.examples`): what a ``new+replay`` update trains on.

    An added file counts from its first row. A changed file that grew counts from its old row
    count on: it is taken to have grown at its end, as a daily export appends (the one change
    whose new rows are known without every row's hash). A file changed without growing counts
    whole, since which of its rows changed is unknown. Unchanged files are left out.

    >>> a, b = FileManifest("a.jsonl", "s1", 10, 5, {}, {}), FileManifest("b", "s3", 4, 2, {}, {})
    >>> unseen_rows([a], [FileManifest("a.jsonl", "s2", 14, 7, {}, {}), b])
    {'a.jsonl': 5, 'b': 0}
    >>> unseen_rows([a, b], [a, b])
    {}
    """
    before = {f.path: f for f in old}
    unseen = {}
    for manifest in new:
        seen = before.get(manifest.path)
        if seen is None or seen.sha256 != manifest.sha256:
            grew = seen is not None and manifest.rows > seen.rows
            unseen[manifest.path] = seen.rows if grew and seen is not None else 0
    return unseen


def should_stream(
    paths: Sequence[Path], columns: Columns, setting: bool | str, above_mb: float
) -> bool:
    """Whether a training reads ``paths`` as a stream (``training.stream``).

    ``True`` and ``False`` force it; ``auto`` streams a project whose data files are all of a
    streamed type (a text project's Rasa files keep it in memory; a tabular project reads no
    other type) and weigh more than ``above_mb`` in all.
    """
    if setting != "auto":
        return bool(setting)
    text = columns.target is None
    files = data_files(paths, (*STREAM_SUFFIXES, *(RASA_SUFFIXES if text else ())), ReadResult())
    if any(path.suffix.lower() not in STREAM_SUFFIXES for path in files):
        return False
    return sum(path.stat().st_size for path in files) > above_mb * 2**20


def streams(project: Project) -> bool:
    """Whether the project's training reads its data as a stream (``training.stream``)."""
    config = project.config
    training = config.training
    return should_stream(
        project.data_paths, config.columns, training.stream, training.stream_above_mb
    )


def project_source(project: Project) -> tuple[StreamSource, Snapshot | None]:
    """The project's ``data:`` as a stream, and its ``test:`` files' examples (read whole,
    checked; they and the ``trusted:`` files' texts are in no split of the stream)."""
    config = project.config
    _, test_files = read_checked(project.test_paths, project)
    _, trusted = read_checked(project.trusted_paths, project)
    held_out = frozenset(
        e.text
        for snapshot in (test_files, trusted)
        if snapshot is not None
        for e in snapshot.sorted_examples()
    )
    source = StreamSource(
        project.data_paths,
        config.columns,
        config.splits,
        held_out=held_out,
        explicit_test=test_files is not None,
        root=project.root,
        allow_conflicts=config.allow_conflicts,
    )
    return source, test_files


def scan_trainable(project: Project, source: StreamSource, replay_size: int = 0) -> Scan:
    """The stream's first pass (every row checked), refused as training would refuse it."""
    scan = source.scan(replay_size)
    kind = project.config.columns.kind
    total: Counter[str] = Counter()
    for manifest in scan.files:
        total.update(manifest.labels)
    rows = sum(manifest.rows for manifest in scan.files)
    if kind == "regression" and rows:  # no classes to count: only whether there are rows
        total = Counter({"rows": rows})
    check_trainable_counts(scan.train_labels, total, kind=kind)
    return scan
