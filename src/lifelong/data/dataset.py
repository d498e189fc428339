"""A project's data as one validated unit: the training pool and the optional test files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lifelong.core.errors import Problem
from lifelong.data.read import read_paths
from lifelong.data.result import ReadResult
from lifelong.data.snapshot import Snapshot
from lifelong.data.split import SplitData, split_examples
from lifelong.data.validate import check
from lifelong.project import Project


@dataclass(frozen=True)
class Dataset:
    """Validated data of a project.

    ``pool`` holds the examples of ``data:`` (split by hash into train/valid/test unless
    ``test`` holds the examples of explicit ``test:`` files). ``trusted`` holds the examples
    of ``trusted:`` files: never trained on (a pool example with the same text is in no
    split), judged apart by the gate.
    """

    pool: Snapshot
    test: Snapshot | None
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    splits: SplitData = field(default_factory=lambda: SplitData((), (), ()))
    trusted: Snapshot | None = None

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def split_counts(self) -> dict[str, dict[str, int]]:
        """label -> split -> count, for summaries."""
        table: dict[str, dict[str, int]] = {}
        for name in ("train", "valid", "test"):
            counts = Counter(e.label for e in getattr(self.splits, name))
            for label, count in counts.items():
                table.setdefault(label, {"train": 0, "valid": 0, "test": 0})[name] = count
        return dict(sorted(table.items()))


def read_checked(paths: Sequence[Path], project: Project) -> tuple[ReadResult, Snapshot | None]:
    """Read and validate files held apart from the pool (``test:``, ``trusted:``); ``None``
    when there are none.

    Raises
    ------
    ValidationFailed
        Listing every error in every file.
    """
    result = ReadResult()
    if not paths:
        return result, None
    config = project.config
    result = read_paths(paths, config.columns)
    examples = check(result, allow_conflicts=config.allow_conflicts)
    return result, Snapshot.of(examples)


def load_dataset(project: Project, extra: Sequence[Path] = ()) -> Dataset:
    """Read, validate and split the project's data (plus ``extra`` paths, for previews).

    Raises
    ------
    ValidationFailed
        Listing every error in every file; nothing is returned, so nothing can be written.
    """
    config = project.config
    pool_read = read_paths([*project.data_paths, *extra], config.columns)
    pool_examples = check(pool_read, allow_conflicts=config.allow_conflicts)
    test_read, test_snapshot = read_checked(project.test_paths, project)
    trusted_read, trusted = read_checked(project.trusted_paths, project)
    reads = [pool_read, test_read, trusted_read]
    pool = Snapshot.of(pool_examples)
    splits = split_examples(
        pool.sorted_examples(),
        config.splits,
        test_snapshot.sorted_examples() if test_snapshot is not None else None,
        held_out=trusted.sorted_examples() if trusted is not None else (),
    )
    problems = [problem for result in reads for problem in result.problems]
    notes = [note for result in reads for note in result.notes]
    files = [name for result in reads for name in result.files]
    return Dataset(
        pool, test_snapshot, tuple(problems), tuple(notes), tuple(files), splits, trusted
    )
