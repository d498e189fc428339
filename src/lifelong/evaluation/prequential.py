"""Prequential (test-then-train) evaluation of an online learner over a stream in order.

Each row is first predicted, then learned, so every prediction is on a row the learner has not
seen, and the figures follow the stream's drift. Reported, as in MOA and River:

- accuracy over the whole stream and over a rolling window (the curve that shows drift);
- Cohen's kappa: accuracy above what chance agreement of the label and prediction marginals
  would give, ``(p0 - pe) / (1 - pe)``;
- kappa-temporal (Zliobaite et al. 2015): accuracy above the no-change classifier's (predict
  the previous row's label), ``(p0 - p_nc) / (1 - p_nc)``. On a stream whose labels come in
  runs (Elec2) the no-change classifier is hard to beat, and a negative kappa-temporal says so.

The learner is anything with River's ``predict_one(x)`` and ``learn_one(x, y)``. One that
changes only every ``k`` rows (:class:`lifelong.online.OnlineClassifier` with ``batch_size=k``)
may also offer ``predict_rows(xs)``: with ``block=k`` the loop then predicts ``k`` rows in one
call before learning them, which gives the same predictions as the row loop, faster.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lifelong.evaluation._records import EvaluationError


class Learner(Protocol):
    """River's online classifier interface (``predict_one`` may answer ``None``)."""

    def predict_one(self, x: Any) -> Any: ...

    def learn_one(self, x: Any, y: Any) -> Any: ...


@dataclass
class PrequentialScore:
    """Running test-then-train counts; the figures are properties of them.

    ``None`` predictions (a learner that knows no class yet) count as wrong.
    """

    window: int = 1000
    n: int = 0
    correct: int = 0
    no_change_correct: int = 0
    true_counts: Counter[Hashable] = field(default_factory=Counter)
    predicted_counts: Counter[Hashable] = field(default_factory=Counter)
    previous: Hashable | None = None
    recent: deque[bool] = field(default_factory=deque)
    recent_correct: int = 0

    def update(self, y: Hashable, predicted: Hashable | None) -> None:
        """Count one row's label and prediction."""
        hit = predicted is not None and predicted == y
        self.n += 1
        self.correct += hit
        self.no_change_correct += self.previous is not None and self.previous == y
        self.previous = y
        self.true_counts[y] += 1
        if predicted is not None:
            self.predicted_counts[predicted] += 1
        self.recent.append(hit)
        self.recent_correct += hit
        if len(self.recent) > self.window:
            self.recent_correct -= self.recent.popleft()

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def rolling_accuracy(self) -> float:
        """Accuracy over the last ``window`` rows."""
        return self.recent_correct / len(self.recent) if self.recent else 0.0

    @property
    def kappa(self) -> float:
        """Cohen's kappa of the labels and the predictions (0 where chance explains all)."""
        if not self.n:
            return 0.0
        chance = sum(
            count * self.predicted_counts[label] for label, count in self.true_counts.items()
        ) / (self.n * self.n)
        return _kappa(self.accuracy, chance)

    @property
    def no_change_accuracy(self) -> float:
        """Accuracy of predicting the previous row's label (the first row counts as wrong)."""
        return self.no_change_correct / self.n if self.n else 0.0

    @property
    def kappa_temporal(self) -> float:
        return _kappa(self.accuracy, self.no_change_accuracy)


def _kappa(observed: float, baseline: float) -> float:
    """``(observed - baseline) / (1 - baseline)``; 0 when the baseline is perfect."""
    return 0.0 if baseline >= 1.0 else (observed - baseline) / (1.0 - baseline)


@dataclass
class PrequentialResult:
    """What :func:`prequential` measured: the final score, the rolling-accuracy curve as
    ``(rows seen, accuracy over the last window)`` points, and the wall time."""

    score: PrequentialScore
    curve: list[tuple[int, float]]
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.score.n / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        score = self.score
        return {
            "rows": score.n,
            "accuracy": score.accuracy,
            "rolling_accuracy": score.rolling_accuracy,
            "window": score.window,
            "kappa": score.kappa,
            "kappa_temporal": score.kappa_temporal,
            "no_change_accuracy": score.no_change_accuracy,
            "seconds": self.seconds,
            "rows_per_second": self.rows_per_second,
        }


def prequential(
    learner: Learner,
    stream: Iterable[tuple[Mapping[str, Any], Hashable]],
    *,
    window: int = 1000,
    block: int = 1,
    every: int | None = None,
) -> PrequentialResult:
    """Test-then-train ``learner`` over ``stream`` (``(x, y)`` pairs) in order.

    Parameters
    ----------
    window
        Rows in the rolling accuracy.
    block
        Rows predicted per call of ``learner.predict_rows`` before they are learned (see the
        module docstring: exact only for a learner that changes every ``block`` rows). 1 is the
        plain row loop over ``predict_one``.
    every
        Rows between two points of the curve (default: a tenth of ``window``).

    Raises
    ------
    EvaluationError
        ``block > 1`` for a learner without ``predict_rows``, or an empty stream.
    """
    if block > 1 and not hasattr(learner, "predict_rows"):
        raise EvaluationError(
            f"prequential: block={block} needs a learner with predict_rows "
            f"({type(learner).__name__} has none)",
            hint="use block=1 (the row loop) for this learner",
        )
    score = PrequentialScore(window=window)
    step = every or max(1, window // 10)
    curve: list[tuple[int, float]] = []
    start = time.perf_counter()
    for xs, ys in _blocks(stream, block):
        if block > 1:
            predictions: Sequence[Any] = learner.predict_rows(xs)  # type: ignore[attr-defined]
        else:
            predictions = [learner.predict_one(xs[0])]
        for x, y, predicted in zip(xs, ys, predictions, strict=True):
            score.update(y, predicted)
            learner.learn_one(x, y)
            if score.n % step == 0:
                curve.append((score.n, score.rolling_accuracy))
    seconds = time.perf_counter() - start
    if not score.n:
        raise EvaluationError("prequential: the stream has no rows", hint="check the file")
    if not curve or curve[-1][0] != score.n:
        curve.append((score.n, score.rolling_accuracy))
    return PrequentialResult(score, curve, seconds)


def _blocks(
    stream: Iterable[tuple[Mapping[str, Any], Hashable]], size: int
) -> Iterable[tuple[list[Mapping[str, Any]], list[Hashable]]]:
    xs: list[Mapping[str, Any]] = []
    ys: list[Hashable] = []
    for x, y in stream:
        xs.append(x)
        ys.append(y)
        if len(xs) == size:
            yield xs, ys
            xs, ys = [], []
    if xs:
        yield xs, ys


def plot_prequential(results: Mapping[str, PrequentialResult], path: Path, title: str) -> Path:
    """A PNG of rolling accuracy against rows seen, one line per learner."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 4.5))
    for name, result in results.items():
        rows, accuracy = zip(*result.curve, strict=True)
        axis.plot(rows, accuracy, linewidth=1, label=f"{name} ({result.score.accuracy:.1%})")
    window = next(iter(results.values())).score.window
    axis.set_xlabel("rows seen")
    axis.set_ylabel(f"accuracy over the last {window} rows")
    axis.set_title(title)
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
