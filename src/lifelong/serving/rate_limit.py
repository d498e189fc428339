"""A per-client token bucket: how ``/feedback`` keeps one client from flooding training data.

Hand-written rather than a library (``slowapi``, ``limits``) because what is needed is twenty
lines with no storage back end: one process, one endpoint, buckets in memory. A limit shared by
several server processes would need Redis; a flood then still meets the review queue and the
gate, so a per-process bucket is the cheap first line, not the only one.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """``rate`` requests a minute per key on average, up to ``burst`` at once.

    Parameters
    ----------
    rate
        Tokens added per minute.
    burst
        Bucket size: how many requests a client that was quiet may send back to back.
    clock
        Monotonic seconds (injectable for tests).
    max_keys
        Full buckets are forgotten when more keys than this are held (a full bucket is what a
        new key gets anyway), so a scan of many addresses cannot grow memory without bound.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.per_second = rate / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[Hashable, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: Hashable) -> float:
        """Take one token for ``key``: ``0.0`` when allowed, else the seconds to wait."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.per_second)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.per_second

    def _forget_full(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.stamp) * self.per_second >= self.burst:
                del self._buckets[key]


def retry_after(seconds: float) -> str:
    """The ``Retry-After`` header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
