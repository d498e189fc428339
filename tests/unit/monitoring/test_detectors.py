"""ADWIN and the rolling accuracy under the detector contract."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lifelong.monitoring import AdwinDetector, RollingAccuracy
from lifelong.monitoring.detectors import Detector

Outcomes = Callable[[float, int], list[bool]]


def detections(detector: Detector, stream: list[bool]) -> list[int]:
    return [i for i, x in enumerate(stream) if detector.update(float(x)).drift_detected]


@pytest.mark.parametrize("direction", ["both", "down"])
def test_adwin_fires_on_an_accuracy_drop(outcomes: Outcomes, direction: str) -> None:
    stream = outcomes(0.95, 1000) + outcomes(0.6, 1000)
    found = detections(AdwinDetector(direction=direction), stream)  # type: ignore[arg-type]
    assert found
    assert 1000 <= found[0] < 1200


def test_adwin_is_quiet_on_a_stable_stream(outcomes: Outcomes) -> None:
    assert detections(AdwinDetector(), outcomes(0.95, 3000)) == []


def test_adwin_down_ignores_a_rise(outcomes: Outcomes) -> None:
    stream = outcomes(0.6, 1000) + outcomes(0.95, 1000)
    assert detections(AdwinDetector(direction="both"), stream)
    assert detections(AdwinDetector(direction="down"), stream) == []


def test_adwin_update_returns_itself_and_tracks_the_mean() -> None:
    detector = AdwinDetector()
    assert detector.update(1.0) is detector
    for _ in range(99):
        detector.update(1.0)
    assert detector.estimation == pytest.approx(1.0)


def test_rolling_accuracy_uses_only_the_window() -> None:
    rolling = RollingAccuracy(floor=0.8, window=4, min_count=2)
    for x in [0, 0, 0, 1, 1, 1, 1]:
        rolling.update(x)
    assert rolling.accuracy == 1.0
    assert not rolling.drift_detected


def test_rolling_accuracy_waits_for_min_count() -> None:
    rolling = RollingAccuracy(floor=0.8, window=50, min_count=3)
    assert rolling.accuracy is None
    assert [rolling.update(0).drift_detected for _ in range(3)] == [False, False, True]
