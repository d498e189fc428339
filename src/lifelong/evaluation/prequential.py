"""Prequential (test-then-train) evaluation of an online learner over a stream in order.

Each row is first predicted, then learned, so every prediction is on a row the learner has not
seen, and the figures follow the stream's drift. Reported, as in MOA and River:

- accuracy over the whole stream and over a rolling window (the curve that shows drift);
- Cohen's kappa: accuracy above what chance agreement of the label and prediction marginals
  would give, ``(p0 - pe) / (1 - pe)``;
- kappa-temporal (Zliobaite et al. 2015): accuracy above the no-change classifier's (predict
  the previous row's label), ``(p0 - p_nc) / (1 - p_nc)``. On a stream whose labels come in
  runs (Elec2) the no-change classifier is hard to beat, and a negative kappa-temporal says so.

For a regressor (``regression=True``, River's ``predict_one(x) -> float``): MAE and RMSE over
the whole stream, MAE over the rolling window, and the no-change regressor's MAE (predict the
previous row's target), the baseline a drifting or autocorrelated stream should be read against.

The learner is anything with River's ``predict_one(x)`` and ``learn_one(x, y)``. One that
changes only every ``k`` rows (:class:`lifelong.online.OnlineClassifier` or
:class:`~lifelong.online.OnlineRegressor` with ``batch_size=k``)
may also offer ``predict_rows(xs)``: with ``block=k`` the loop then predicts ``k`` rows in one
call before learning them, which gives the same predictions as the row loop, faster (a
regressor's numbers equal to float32 rounding: a batch's forward pass sums in another order).
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lifelong.evaluation._records import EvaluationError


class Learner(Protocol):
    """River's online learner interface (a classifier's ``predict_one`` may answer ``None``)."""

    def predict_one(self, x: Any) -> Any: ...

    def learn_one(self, x: Any, y: Any) -> Any: ...


@dataclass
class PrequentialScore:
    """Running test-then-train counts of a classifier; the figures are properties of them.

    ``None`` predictions (a learner that knows no class yet) count as wrong.
    """

    metric = "accuracy"
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

    @property
    def overall(self) -> float:
        """The headline figure over the whole stream (accuracy)."""
        return self.accuracy

    @property
    def rolling(self) -> float:
        """The curve's figure (accuracy over the last ``window`` rows)."""
        return self.rolling_accuracy

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.n,
            "accuracy": self.accuracy,
            "rolling_accuracy": self.rolling_accuracy,
            "window": self.window,
            "kappa": self.kappa,
            "kappa_temporal": self.kappa_temporal,
            "no_change_accuracy": self.no_change_accuracy,
        }


@dataclass
class PrequentialRegressionScore:
    """Running test-then-train sums of a regressor's errors; the figures are properties.

    The no-change regressor predicts the previous row's target (0.0 for the first row, as an
    untrained River regressor answers).
    """

    metric = "MAE"
    window: int = 1000
    n: int = 0
    absolute: float = 0.0
    squared: float = 0.0
    no_change_absolute: float = 0.0
    previous: float = 0.0
    recent: deque[float] = field(default_factory=deque)

    def update(self, y: float, predicted: float) -> None:
        """Count one row's target and prediction."""
        error = abs(float(y) - float(predicted))
        self.n += 1
        self.absolute += error
        self.squared += error * error
        self.no_change_absolute += abs(float(y) - self.previous)
        self.previous = float(y)
        self.recent.append(error)
        if len(self.recent) > self.window:
            self.recent.popleft()

    @property
    def mae(self) -> float:
        return self.absolute / self.n if self.n else 0.0

    @property
    def rmse(self) -> float:
        return math.sqrt(self.squared / self.n) if self.n else 0.0

    @property
    def rolling_mae(self) -> float:
        """MAE over the last ``window`` rows (summed afresh: a running sum of floats drifts)."""
        return math.fsum(self.recent) / len(self.recent) if self.recent else 0.0

    @property
    def no_change_mae(self) -> float:
        return self.no_change_absolute / self.n if self.n else 0.0

    @property
    def overall(self) -> float:
        """The headline figure over the whole stream (MAE)."""
        return self.mae

    @property
    def rolling(self) -> float:
        """The curve's figure (MAE over the last ``window`` rows)."""
        return self.rolling_mae

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.n,
            "mae": self.mae,
            "rmse": self.rmse,
            "rolling_mae": self.rolling_mae,
            "window": self.window,
            "no_change_mae": self.no_change_mae,
        }


def _kappa(observed: float, baseline: float) -> float:
    """``(observed - baseline) / (1 - baseline)``; 0 when the baseline is perfect."""
    return 0.0 if baseline >= 1.0 else (observed - baseline) / (1.0 - baseline)


@dataclass
class PrequentialResult:
    """What :func:`prequential` measured: the final score, the curve as ``(rows seen, rolling
    figure)`` points (accuracy or MAE over the last window), and the wall time."""

    score: PrequentialScore | PrequentialRegressionScore
    curve: list[tuple[int, float]]
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.score.n / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.score.to_dict(),
            "seconds": self.seconds,
            "rows_per_second": self.rows_per_second,
        }


def prequential(
    learner: Learner,
    stream: Iterable[tuple[Mapping[str, Any], Any]],
    *,
    window: int = 1000,
    block: int = 1,
    every: int | None = None,
    regression: bool = False,
) -> PrequentialResult:
    """Test-then-train ``learner`` over ``stream`` (``(x, y)`` pairs) in order.

    Parameters
    ----------
    window
        Rows in the rolling figure.
    block
        Rows predicted per call of ``learner.predict_rows`` before they are learned (see the
        module docstring: exact only for a learner that changes every ``block`` rows). 1 is the
        plain row loop over ``predict_one``.
    every
        Rows between two points of the curve (default: a tenth of ``window``).
    regression
        Score a regressor's numbers (MAE, RMSE) instead of a classifier's labels.

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
    score: PrequentialScore | PrequentialRegressionScore = (
        PrequentialRegressionScore(window=window) if regression else PrequentialScore(window=window)
    )
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
                curve.append((score.n, score.rolling))
    seconds = time.perf_counter() - start
    if not score.n:
        raise EvaluationError("prequential: the stream has no rows", hint="check the file")
    if not curve or curve[-1][0] != score.n:
        curve.append((score.n, score.rolling))
    return PrequentialResult(score, curve, seconds)


def _blocks(
    stream: Iterable[tuple[Mapping[str, Any], Any]], size: int
) -> Iterable[tuple[list[Mapping[str, Any]], list[Any]]]:
    xs: list[Mapping[str, Any]] = []
    ys: list[Any] = []
    for x, y in stream:
        xs.append(x)
        ys.append(y)
        if len(xs) == size:
            yield xs, ys
            xs, ys = [], []
    if xs:
        yield xs, ys


def plot_prequential(results: Mapping[str, PrequentialResult], path: Path, title: str) -> Path:
    """A PNG of the rolling figure (accuracy or MAE) against rows seen, one line per learner
    (all classifiers or all regressors)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 4.5))
    first = next(iter(results.values())).score
    for name, result in results.items():
        rows, figures = zip(*result.curve, strict=True)
        overall = result.score.overall
        shown = f"{overall:.1%}" if first.metric == "accuracy" else f"{overall:.4g}"
        axis.plot(rows, figures, linewidth=1, label=f"{name} ({shown})")
    axis.set_xlabel("rows seen")
    axis.set_ylabel(f"{first.metric} over the last {first.window} rows")
    axis.set_title(title)
    if first.metric == "accuracy":
        axis.set_ylim(0, 1)
    else:
        axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
