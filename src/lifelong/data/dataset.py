"""A project's data as one validated unit: the training pool and the optional test files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lifelong.core.errors import Problem
from lifelong.data.read import read_paths
from lifelong.data.snapshot import Snapshot
from lifelong.data.split import SplitData, split_examples
from lifelong.data.validate import check
from lifelong.project import Project


@dataclass(frozen=True)
class Dataset:
    """Validated data of a project.

    ``pool`` holds the examples of ``data:`` (split by hash into train/valid/test unless
    ``test`` holds the examples of explicit ``test:`` files).
    """

    pool: Snapshot
    test: Snapshot | None
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    splits: SplitData = field(default_factory=lambda: SplitData((), (), ()))

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


def load_dataset(project: Project, extra: Sequence[Path] = ()) -> Dataset:
    """Read, validate and split the project's data (plus ``extra`` paths, for previews).

    Raises
    ------
    ValidationFailed
        Listing every error in every file; nothing is returned, so nothing can be written.
    """
    config = project.config
    pool_read = read_paths([*project.data_paths, *extra], config.columns)
    test_read = read_paths(project.test_paths, config.columns) if config.test else None
    problems = list(pool_read.problems)
    pool_examples = check(pool_read, allow_conflicts=config.allow_conflicts)
    test_snapshot = None
    test_examples = None
    if test_read is not None:
        test_examples = check(test_read, allow_conflicts=config.allow_conflicts)
        problems.extend(test_read.problems)
        test_snapshot = Snapshot.of(test_examples)
    pool = Snapshot.of(pool_examples)
    splits = split_examples(
        pool.sorted_examples(),
        config.splits,
        test_snapshot.sorted_examples() if test_snapshot is not None else None,
    )
    notes = [*pool_read.notes, *(test_read.notes if test_read else [])]
    files = [*pool_read.files, *(test_read.files if test_read else [])]
    return Dataset(pool, test_snapshot, tuple(problems), tuple(notes), tuple(files), splits)
