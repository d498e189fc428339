"""Prometheus metrics in the text exposition format, written by hand (no client library).

The server needs three kinds (counters, gauges, histograms with fixed buckets) and a renderer;
that is a few dozen lines, cheaper than a dependency. Every metric takes a lock per update, so
the request threads, the log writer and the model loader can all record safely.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)

Labels = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _series(name: str, names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return name
    pairs = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True))
    return f"{name}{{{pairs}}}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


@dataclass
class _Metric:
    name: str
    help: str
    labelnames: tuple[str, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _check(self, labels: Labels) -> None:
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {labels}")

    def _header(self, kind: str) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {kind}"]


@dataclass
class Counter(_Metric):
    """A monotonically increasing count per label set."""

    _values: dict[Labels, float] = field(default_factory=dict, repr=False)

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        self._check(labels)
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        with self._lock:
            return self._values.get(labels, 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        lines = self._header("counter")
        lines += [f"{_series(self.name, self.labelnames, k)} {_number(v)}" for k, v in items]
        return lines


@dataclass
class Gauge(_Metric):
    """A value that goes up and down; ``replace`` swaps the whole label set at once."""

    _values: dict[Labels, float] = field(default_factory=dict, repr=False)

    def replace(self, values: Mapping[Labels, float]) -> None:
        for labels in values:
            self._check(labels)
        with self._lock:
            self._values = dict(values)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        lines = self._header("gauge")
        lines += [f"{_series(self.name, self.labelnames, k)} {_number(v)}" for k, v in items]
        return lines


@dataclass
class Histogram(_Metric):
    """Observations counted into fixed buckets (upper bounds), with their sum and count."""

    buckets: tuple[float, ...] = LATENCY_BUCKETS
    _counts: dict[Labels, list[int]] = field(default_factory=dict, repr=False)
    _sums: dict[Labels, float] = field(default_factory=dict, repr=False)

    def observe(self, value: float, *labels: str) -> None:
        self._check(labels)
        slot = bisect.bisect_left(self.buckets, value)  # le semantics: value <= bound
        with self._lock:
            counts = self._counts.get(labels)
            if counts is None:
                counts = self._counts[labels] = [0] * (len(self.buckets) + 1)
            counts[slot] += 1
            self._sums[labels] = self._sums.get(labels, 0.0) + value

    def observe_many(self, values: Sequence[float], *labels: str) -> None:
        """:meth:`observe` each of ``values``, taking the lock once (a batch's confidences)."""
        self._check(labels)
        if not values:
            return
        slots = [bisect.bisect_left(self.buckets, value) for value in values]
        with self._lock:
            counts = self._counts.get(labels)
            if counts is None:
                counts = self._counts[labels] = [0] * (len(self.buckets) + 1)
            total = self._sums.get(labels, 0.0)
            for slot, value in zip(slots, values, strict=True):
                counts[slot] += 1
                total += value
            self._sums[labels] = total

    def render(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v), self._sums[k]) for k, v in self._counts.items())
        lines = self._header("histogram")
        names = (*self.labelnames, "le")
        for labels, counts, total in items:
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                series = _series(f"{self.name}_bucket", names, (*labels, _number(bound)))
                lines.append(f"{series} {running}")
            lines.append(f"{_series(self.name + '_sum', self.labelnames, labels)} {total!r}")
            lines.append(f"{_series(self.name + '_count', self.labelnames, labels)} {running}")
        return lines


class ServerMetrics:
    """The server's metrics: requests, latency, confidences, models, prediction log."""

    def __init__(self) -> None:
        self.requests = Counter(
            "lifelong_requests_total", "HTTP requests by route and status.", ("route", "status")
        )
        self.latency = Histogram(
            "lifelong_request_seconds", "HTTP request latency by route.", ("route",)
        )
        self.confidence = Histogram(
            "lifelong_prediction_confidence",
            "Top-intent confidence of served predictions.",
            ("role",),
            buckets=CONFIDENCE_BUCKETS,
        )
        self.model_info = Gauge(
            "lifelong_model_info",
            "The model version serving each role (value 1).",
            ("role", "version"),
        )
        self.model_loads = Counter(
            "lifelong_model_loads_total", "Model loads by role and result.", ("role", "result")
        )
        self.log_rows = Counter(
            "lifelong_prediction_log_rows_total",
            "Prediction log rows by outcome (written, dropped, failed).",
            ("outcome",),
        )

    def render(self) -> str:
        """The whole exposition, ending with a newline."""
        metrics: list[Counter | Gauge | Histogram] = [
            self.requests,
            self.latency,
            self.confidence,
            self.model_info,
            self.model_loads,
            self.log_rows,
        ]
        return "\n".join(line for metric in metrics for line in metric.render()) + "\n"
