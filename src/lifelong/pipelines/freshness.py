"""The data-freshness experiment: how much does training on recent data help?

Timestamped examples are cut into ``n_slices`` equal time slices; the newest slice is the test
set. Two series are trained cold on the project's pipeline: each older slice alone ("how stale
is this slice?") and the k newest slices together ("how far back is worth going?"). Accuracy on
the newest slice against the age of the training data answers the question for this project.

A streamed project (``training.stream``) runs it without holding its examples: one pass over
the stream (after its scan has applied reviewed relabels and duplicates) finds the time range
and each slice's span and labels, each window trains by
:func:`~lifelong.training.train_stream` on a :class:`Window` of the stream, and the newest
slice is scored a chunk at a time. Memory holds the slices' summaries, one chunk and the
model; results are those of the in-memory run but for the order examples train in.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from lifelong.core.errors import DataError
from lifelong.core.types import Example
from lifelong.data import load_dataset, split_of
from lifelong.data.stream import StreamSource, chunked, project_source, streams
from lifelong.models import ModelBundle
from lifelong.pipelines.judge import score
from lifelong.project import Project
from lifelong.training import train
from lifelong.training.stream import train_stream


@dataclass(frozen=True)
class FreshnessRow:
    """One training window and its accuracy on the newest slice.

    ``age_days``: from the middle of the window to the start of the test slice.
    """

    series: str
    slices: tuple[int, int]
    start: datetime
    end: datetime
    age_days: float
    n_train: int
    accuracy: float


@dataclass(frozen=True)
class Timeline:
    """``n_slices`` equal spans of time from ``first`` on (the last one ends at the newest)."""

    first: datetime
    span: timedelta
    n_slices: int

    def slice_of(self, when: datetime) -> int:
        if self.span.total_seconds() == 0:
            return self.n_slices - 1
        return min(int((when - self.first) / self.span), self.n_slices - 1)


def timeline(times: Iterable[datetime], n_slices: int) -> Timeline:
    """The slices of ``times`` (read once, in any order).

    Raises
    ------
    DataError
        Fewer than two timestamps per slice.
    """
    count, first, last = 0, None, None
    for when in times:
        count += 1
        first = when if first is None else min(first, when)
        last = when if last is None else max(last, when)
    if count < 2 * n_slices or first is None or last is None:
        raise DataError(
            f"the freshness experiment needs timestamped examples: found {count}, "
            f"want at least {2 * n_slices}",
            hint="add `timestamp` to your data (JSONL/CSV), or use fewer --slices",
        )
    return Timeline(first, (last - first) / n_slices, n_slices)


def _stamped(examples: Iterable[Example]) -> Iterator[tuple[datetime, Example]]:
    return ((datetime.fromisoformat(e.timestamp), e) for e in examples if e.timestamp)


def time_slices(examples: list[Example], n_slices: int) -> list[list[Example]]:
    """Examples with a timestamp, cut into ``n_slices`` equal spans of time (oldest first)."""
    stamped = sorted(_stamped(examples), key=lambda pair: pair[0])
    line = timeline((when for when, _ in stamped), n_slices)
    slices: list[list[Example]] = [[] for _ in range(n_slices)]
    for when, example in stamped:
        slices[line.slice_of(when)].append(example)
    return slices


@dataclass
class _Slice:
    """What the rows of a window need of a slice: its time range (``None``: no example) and
    labels."""

    start: datetime | None = None
    end: datetime | None = None
    labels: set[str] = field(default_factory=set)

    def add(self, when: datetime, label: str) -> None:
        self.start = when if self.start is None else min(self.start, when)
        self.end = when if self.end is None else max(self.end, when)
        self.labels.add(label)


@dataclass(frozen=True)
class _Data:
    """The experiment's data, in memory or streamed: each slice's summary, a training of
    slices ``lo`` to ``hi - 1`` (its model and training examples) and the newest slice."""

    slices: list[_Slice]
    train: Callable[[int, int], tuple[ModelBundle, int]]
    test: Callable[[], Iterable[Example]]


class Window(StreamSource):
    """The examples of a scanned stream ``base`` in slices ``lo`` to ``hi - 1`` of ``line``,
    as a stream of its own: split train or valid only (the in-memory experiment trains on all
    that is not valid), no text held out, ``base``'s relabels and duplicates already applied."""

    def __init__(self, base: StreamSource, line: Timeline, lo: int, hi: int) -> None:
        super().__init__(
            base.files,
            base.columns,
            base.splits,
            chunk_rows=base.chunk_rows,
            sample_size=base.sample_size,
            explicit_test=True,
            root=base.root,
            allow_conflicts=base.allow_conflicts,
            key_rows=base.key_rows,
        )
        self.base, self.line, self.lo, self.hi = base, line, lo, hi

    def chunks(self, path: Path) -> Iterator[list[Example]]:
        inside = (
            e
            for when, e in _stamped(self.base.kept_in(path))
            if self.lo <= self.line.slice_of(when) < self.hi
        )
        return chunked(inside, self.chunk_rows)


def _in_memory(project: Project, n_slices: int, progress: bool) -> _Data:
    config = project.config
    slices = time_slices(list(load_dataset(project).pool.examples.values()), n_slices)
    summaries = [_Slice() for _ in slices]
    for summary, part in zip(summaries, slices, strict=True):
        for when, example in _stamped(part):
            summary.add(when, example.label)

    def fit(lo: int, hi: int) -> tuple[ModelBundle, int]:
        examples = [e for part in slices[lo:hi] for e in part]
        valid = [e for e in examples if split_of(e.text, config.splits) == "valid"]
        held = set(valid)
        kept = [e for e in examples if e not in held] or examples
        outcome = train(
            kept,
            valid,
            pipeline=config.pipeline,
            training=config.training,
            cache_dir=project.state_dir / "cache",
            progress=progress,
        )
        return outcome.bundle, len(kept)

    return _Data(summaries, fit, lambda: slices[-1])


def _streamed(project: Project, n_slices: int, progress: bool) -> _Data:
    config = project.config
    source, _ = project_source(project)
    source.scan()  # every row checked; relabels and duplicates found, as load_dataset does
    line = timeline((when for when, _ in _stamped(source.kept())), n_slices)
    summaries = [_Slice() for _ in range(n_slices)]
    for when, example in _stamped(source.kept()):
        summaries[line.slice_of(when)].add(when, example.label)

    def fit(lo: int, hi: int) -> tuple[ModelBundle, int]:
        outcome = train_stream(
            Window(source, line, lo, hi),
            pipeline=config.pipeline,
            training=config.training,
            cache_dir=project.state_dir / "cache",
            progress=progress,
        )
        return outcome.bundle, int(outcome.report["n_train"])

    return _Data(summaries, fit, lambda: Window(source, line, n_slices - 1, n_slices).kept())


def accuracy(bundle: ModelBundle, examples: Iterable[Example], chunk: int = 4096) -> float:
    """The accuracy of ``bundle`` on ``examples``, scored a chunk at a time (a stream's slice
    is never held whole)."""
    right = total = 0.0
    for part in chunked(examples, chunk):
        right += score(bundle, part).report.accuracy * len(part)
        total += len(part)
    return right / total if total else 0.0


def run_freshness(
    project: Project, *, n_slices: int = 4, progress: bool = False
) -> list[FreshnessRow]:
    """Train on every window, test on the newest slice; rows in the order trained."""
    build = _streamed if streams(project) else _in_memory
    data = build(project, n_slices, progress)
    test_start = data.slices[-1].start
    assert test_start is not None  # the newest slice holds the newest example

    def window(series: str, lo: int, hi: int) -> FreshnessRow | None:
        parts = data.slices[lo:hi]
        if len(set(itertools.chain.from_iterable(p.labels for p in parts))) < 2:
            return None
        bundle, n_train = data.train(lo, hi)
        start = min(p.start for p in parts if p.start is not None)
        end = max(p.end for p in parts if p.end is not None)
        middle = start + (end - start) / 2
        return FreshnessRow(
            series=series,
            slices=(lo, hi - 1),
            start=start,
            end=end,
            age_days=round((test_start - middle).total_seconds() / 86400, 2),
            n_train=n_train,
            accuracy=accuracy(bundle, data.test()),
        )

    rows: list[FreshnessRow | None] = []
    for i in range(n_slices - 1):  # one slice at a time, newest first
        j = n_slices - 2 - i
        rows.append(window("single slice", j, j + 1))
    for k in range(1, n_slices):  # the k newest slices
        rows.append(window("newest k slices", n_slices - 1 - k, n_slices - 1))
    return [row for row in rows if row is not None]


def plot_freshness(rows: list[FreshnessRow], path: Path) -> Path:
    """A PNG of accuracy against the age of the training data, one line per series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for series in dict.fromkeys(row.series for row in rows):
        points = [(r.age_days, r.accuracy) for r in rows if r.series == series]
        axis.plot(*zip(*points, strict=True), marker="o", label=series)
    axis.set_xlabel("age of the training window (days from its middle to the test slice)")
    axis.set_ylabel("accuracy on the newest slice")
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
