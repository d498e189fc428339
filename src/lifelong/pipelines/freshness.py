"""The data-freshness experiment: how much does training on recent data help?

Timestamped examples are cut into ``n_slices`` equal time slices; the newest slice is the test
set. Two series are trained cold on the project's pipeline: each older slice alone ("how stale
is this slice?") and the k newest slices together ("how far back is worth going?"). Accuracy on
the newest slice against the age of the training data answers the question for this project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lifelong.core.errors import DataError
from lifelong.core.types import Example
from lifelong.data import load_dataset, split_of
from lifelong.pipelines.judge import score
from lifelong.project import Project
from lifelong.training import train


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


def time_slices(examples: list[Example], n_slices: int) -> list[list[Example]]:
    """Examples with a timestamp, cut into ``n_slices`` equal spans of time (oldest first)."""
    stamped = [(datetime.fromisoformat(e.timestamp), e) for e in examples if e.timestamp]
    if len(stamped) < 2 * n_slices:
        raise DataError(
            f"the freshness experiment needs timestamped examples: found {len(stamped)}, "
            f"want at least {2 * n_slices}",
            hint="add `timestamp` to your data (JSONL/CSV), or use fewer --slices",
        )
    stamped.sort(key=lambda pair: pair[0])
    first, last = stamped[0][0], stamped[-1][0]
    span = (last - first) / n_slices
    slices: list[list[Example]] = [[] for _ in range(n_slices)]
    for when, example in stamped:
        index = n_slices - 1 if span.total_seconds() == 0 else int((when - first) / span)
        slices[min(index, n_slices - 1)].append(example)
    return slices


def run_freshness(
    project: Project, *, n_slices: int = 4, progress: bool = False
) -> list[FreshnessRow]:
    """Train on every window, test on the newest slice; rows in the order trained."""
    config = project.config
    slices = time_slices(list(load_dataset(project).pool.examples.values()), n_slices)
    test = slices[-1]
    test_start = min(datetime.fromisoformat(e.timestamp or "") for e in test)

    def window(series: str, lo: int, hi: int) -> FreshnessRow | None:
        examples = [e for part in slices[lo:hi] for e in part]
        labels = {e.label for e in examples}
        if len(labels) < 2:
            return None
        valid = [e for e in examples if split_of(e.text, config.splits) == "valid"]
        held = set(valid)
        fit = [e for e in examples if e not in held] or examples
        outcome = train(
            fit,
            valid,
            pipeline=config.pipeline,
            training=config.training,
            cache_dir=project.state_dir / "cache",
            progress=progress,
        )
        times = [datetime.fromisoformat(e.timestamp or "") for e in examples]
        start, end = min(times), max(times)
        middle = start + (end - start) / 2
        return FreshnessRow(
            series=series,
            slices=(lo, hi - 1),
            start=start,
            end=end,
            age_days=round((test_start - middle).total_seconds() / 86400, 2),
            n_train=len(fit),
            accuracy=score(outcome.bundle, test).report.accuracy,
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
