"""Online detectors over the stream of right/wrong feedback on served predictions.

Both follow river's detector contract: ``update(x)`` returns ``self`` and the read-only
``drift_detected`` says whether *this* update revealed a change, so they chain and compose::

    if detector.update(correct).drift_detected: ...
"""

from __future__ import annotations

from collections import deque
from typing import Any, Literal, Protocol, Self

Direction = Literal["both", "down", "up"]


class Detector(Protocol):
    """What the loop needs of a drift detector."""

    def update(self, x: float) -> Self: ...

    @property
    def drift_detected(self) -> bool: ...


class AdwinDetector:
    """ADWIN (river's ``drift.ADWIN``) that can report only falls (or only rises).

    ADWIN keeps a window whose mean is stable and cuts off its older part when the two halves
    differ significantly; it detects changes in both directions. Fed 1 for a right prediction
    and 0 for a wrong one, only a *fall* of accuracy is a reason to retrain, so with
    ``direction="down"`` a detection counts only if the window's mean dropped.

    Parameters
    ----------
    delta
        Confidence of ADWIN's cut test; smaller means fewer false alarms and later detection.
    direction
        Which changes count: ``"both"``, ``"down"`` (a falling mean) or ``"up"``.
    clock
        ADWIN checks for a cut every ``clock`` updates.
    grace_period
        Updates before the first check.

    >>> detector = AdwinDetector(direction="down")
    >>> stream = [1.0] * 500 + [1.0, 0.0] * 250
    >>> any(detector.update(x).drift_detected for x in stream)
    True
    """

    def __init__(
        self,
        delta: float = 0.002,
        direction: Direction = "both",
        clock: int = 32,
        grace_period: int = 10,
    ) -> None:
        self.delta = delta
        self.direction = direction
        self.clock = clock
        self.grace_period = grace_period
        self._adwin: Any = None
        self._drift_detected = False

    def update(self, x: float) -> Self:
        if self._adwin is None:
            from river import drift  # the ``monitoring`` extra

            adwin: Any = drift.ADWIN
            self._adwin = adwin(delta=self.delta, clock=self.clock, grace_period=self.grace_period)
        before = float(self._adwin.estimation)
        self._adwin.update(x)
        after = float(self._adwin.estimation)
        changed = bool(self._adwin.drift_detected)
        if self.direction == "down":
            changed = changed and after < before
        elif self.direction == "up":
            changed = changed and after > before
        self._drift_detected = changed
        return self

    @property
    def drift_detected(self) -> bool:
        return self._drift_detected

    @property
    def estimation(self) -> float:
        """Mean of the current window (accuracy, when fed right/wrong)."""
        return 0.0 if self._adwin is None else float(self._adwin.estimation)


class RollingAccuracy:
    """Accuracy over the last ``window`` outcomes, "drifted" while below ``floor``.

    Parameters
    ----------
    floor
        Accuracy below which the model is not good enough.
    window
        How many recent outcomes count.
    min_count
        Outcomes needed before judging at all (a few early mistakes are not a trend).

    >>> rolling = RollingAccuracy(floor=0.8, window=10, min_count=5)
    >>> [rolling.update(x).drift_detected for x in [1, 1, 0, 0, 0, 1]]
    [False, False, False, False, True, True]
    """

    def __init__(self, floor: float = 0.8, window: int = 200, min_count: int = 30) -> None:
        self.floor = floor
        self.window = window
        self.min_count = min_count
        self._outcomes: deque[float] = deque(maxlen=window)

    def update(self, x: float) -> Self:
        self._outcomes.append(float(x))
        return self

    @property
    def count(self) -> int:
        return len(self._outcomes)

    @property
    def accuracy(self) -> float | None:
        """Mean of the window; ``None`` before any outcome."""
        return sum(self._outcomes) / len(self._outcomes) if self._outcomes else None

    @property
    def drift_detected(self) -> bool:
        accuracy = self.accuracy
        return accuracy is not None and self.count >= self.min_count and accuracy < self.floor
