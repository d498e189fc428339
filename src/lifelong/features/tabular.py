"""Rows of numbers and categories into a sparse table of fixed width.

Each row has one entry per feature column, so the model's input is an ``EmbeddingBag`` over
``buckets`` rows as for hashed n-grams, and the whole fast network (head surgery, compact
weights, regularizers) serves tabular data unchanged:

- numeric column ``i``: entry ``i`` weighted by the value standardized with running statistics
  (clipped to ``+-CLIP``), or, when the value is missing, entry ``n_numeric + i`` weighted 1;
- categorical column: its ``column=value`` pair hashed into the rest of the table, weighted 1.
  A new category lands in an existing bucket, so it never forces a cold retrain.

The statistics (count, mean, variance, missing count, range, categories seen up to a cap) are
the featurizer's state: stored in the bundle, merged with the new rows' by an update (Chan's
parallel variance), and read by drift monitoring.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from lifelong.core.errors import ConfigError, IncompatibleModel
from lifelong.data.schema import CATEGORICAL, NUMERIC, ColumnType
from lifelong.features.base import Features, murmur_bucket

CLIP = 6.0
"""Standardized values are clipped to this many standard deviations: an outlier still reads as
large, without one row's value swamping a batch."""

MAX_CATEGORIES = 256
"""Categories remembered per column (to count unseen ones); past it a column is ``open``."""

_MISSING_CATEGORY = "\x00missing"

Row = Mapping[str, float | str | None]


@dataclass
class ColumnStats:
    """Running statistics of one column (numeric: Welford's count/mean/m2 and range)."""

    count: int = 0
    missing: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float | None = None
    high: float | None = None
    categories: list[str] = field(default_factory=list)
    open: bool = False

    @property
    def std(self) -> float:
        """Population standard deviation; 1 where it is 0 or unknown (a constant column)."""
        var = self.m2 / self.count if self.count else 0.0
        return float(np.sqrt(var)) if var > 1e-12 else 1.0

    def merge(self, other: ColumnStats) -> ColumnStats:
        """The statistics of both samples together (Chan et al.'s pairwise update)."""
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / n if n else 0.0
        m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / n if n else 0.0
        lows = [v for v in (self.low, other.low) if v is not None]
        highs = [v for v in (self.high, other.high) if v is not None]
        seen = sorted({*self.categories, *other.categories})
        return ColumnStats(
            count=n,
            missing=self.missing + other.missing,
            mean=mean,
            m2=m2,
            low=min(lows) if lows else None,
            high=max(highs) if highs else None,
            categories=seen[:MAX_CATEGORIES],
            open=self.open or other.open or len(seen) > MAX_CATEGORIES,
        )

    def forget(self, factor: float) -> ColumnStats:
        """These statistics weighing ``factor`` of their rows (at least one): mean and variance
        kept, count, missing count and ``m2`` scaled down.

        Forgetting before each :meth:`merge` makes exponentially weighted statistics, which
        follow a drifting stream (standardizing by its recent mean and spread) where the plain
        running ones average over all of it. The range and categories stay as they are.
        """
        count = max(1, round(self.count * factor)) if self.count else 0
        scale = count / self.count if self.count else 0.0
        return ColumnStats(
            count=count,
            missing=round(self.missing * factor),
            mean=self.mean,
            m2=self.m2 * scale,
            low=self.low,
            high=self.high,
            categories=list(self.categories),
            open=self.open,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "missing": self.missing,
            "mean": self.mean,
            "m2": self.m2,
            "low": self.low,
            "high": self.high,
            "categories": self.categories,
            "open": self.open,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnStats:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def column_stats(values: Sequence[float | str | None], kind: ColumnType) -> ColumnStats:
    """Statistics of one column's values."""
    if kind == NUMERIC:
        raw = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        return numeric_stats(raw.reshape(-1, 1))[0]
    present = [v for v in values if v is not None]
    seen = sorted({str(v) for v in present})
    return ColumnStats(
        count=len(present),
        missing=len(values) - len(present),
        categories=seen[:MAX_CATEGORIES],
        open=len(seen) > MAX_CATEGORIES,
    )


def numeric_stats(raw: np.ndarray[Any, Any]) -> list[ColumnStats]:
    """Statistics of each column of ``raw`` (rows x numeric columns, NaN where missing), in one
    vectorized pass: an online learner merges a batch's statistics at every update, where a
    loop over columns and rows in Python would cost more than the network's step."""
    present = ~np.isnan(raw)
    count = present.sum(axis=0)
    filled = np.where(present, raw, 0.0)
    mean = filled.sum(axis=0) / np.maximum(count, 1)
    m2 = (np.where(present, raw - mean, 0.0) ** 2).sum(axis=0)
    low = np.where(present, raw, np.inf).min(axis=0, initial=np.inf)
    high = np.where(present, raw, -np.inf).max(axis=0, initial=-np.inf)
    return [
        ColumnStats(
            count=int(n),
            missing=len(raw) - int(n),
            mean=float(mu),
            m2=float(sq),
            low=float(lo) if n else None,
            high=float(hi) if n else None,
        )
        for n, mu, sq, lo, hi in zip(count, mean, m2, low, high, strict=True)
    ]


def infer_columns(rows: Sequence[Row]) -> list[tuple[str, ColumnType | None]]:
    """Column types of canonical rows, sorted by key: a JSON number is numeric, a string
    categorical, and a column with no value in ``rows`` ``None``."""
    kinds: dict[str, ColumnType] = {}
    for row in rows:
        for key, value in row.items():
            if value is not None and key not in kinds:
                kinds[key] = CATEGORICAL if isinstance(value, str) else NUMERIC
    keys = sorted({key for row in rows for key in row})
    return [(key, kinds.get(key)) for key in keys]


def _resolve(
    found: list[tuple[str, ColumnType | None]], parent: Sequence[tuple[str, ColumnType]]
) -> list[tuple[str, ColumnType]]:
    """The columns of new rows checked against a parent model's, or an error naming each
    column that changed."""
    if not parent:
        return [(key, kind or NUMERIC) for key, kind in found]
    before, now = dict(parent), dict(found)
    changed = [f"column {k!r} is new (the parent model has none)" for k in now if k not in before]
    changed += [f"column {k!r} of the parent model is gone" for k in before if k not in now]
    changed += [
        f"column {k!r} was {before[k]} in the parent model and is {kind} in the data"
        for k, kind in now.items()
        if k in before and kind is not None and kind != before[k]
    ]
    if changed:
        raise IncompatibleModel(
            "the data's columns differ from the parent model's:\n  " + "\n  ".join(changed),
            hint="restore the columns (or columns.types), or train a new model from scratch: "
            "`lifelong train` (without --finetune)",
        )
    return list(parent)


class TabularFeaturizer:
    """Canonical rows (see :mod:`lifelong.data.schema`) into a CSR matrix of width ``buckets``.

    Parameters
    ----------
    buckets
        Width of the table: ``2 * n_numeric`` entries for the numeric columns and their missing
        flags, the rest for hashed categories.
    columns
        ``(key, type)`` of each feature column, sorted by key; empty until :meth:`fit`.
    stats
        Per-column statistics; empty until :meth:`fit`.

    Examples
    --------
    >>> f = TabularFeaturizer(64)
    >>> f.fit([{"age": 30.0, "job": "a"}, {"age": 50.0, "job": "b"}])
    >>> float(f.transform_rows([{"age": 40.0, "job": "a"}]).sparse.toarray()[0, 0])
    0.0
    """

    def __init__(
        self,
        buckets: int,
        columns: Sequence[tuple[str, ColumnType]] = (),
        stats: Mapping[str, ColumnStats] | None = None,
    ) -> None:
        self.buckets = buckets
        self.columns = [(str(k), t) for k, t in columns]
        self.stats = dict(stats or {})
        self._hash_cache: dict[tuple[str, str], int] = {}
        self._layout()

    def _layout(self) -> None:
        self.numeric = [k for k, t in self.columns if t == NUMERIC]
        self.categorical = [k for k, t in self.columns if t == CATEGORICAL]
        self.offset = 2 * len(self.numeric)
        if self.columns and self.buckets - self.offset < 16:
            raise ConfigError(
                f"pipeline.tabular.buckets is {self.buckets}: too narrow for "
                f"{len(self.numeric)} numeric columns (needs at least {self.offset + 16})",
                hint=f"set pipeline.tabular.buckets to {max(4096, 4 * self.offset)} or more",
            )
        known = [self.stats.get(k, ColumnStats()) for k in self.numeric]
        self._mean = np.array([s.mean for s in known], dtype=np.float64)
        self._std = np.array([s.std for s in known], dtype=np.float64)

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "tabular",
            "buckets": self.buckets,
            "columns": [[k, t] for k, t in self.columns],
            "layout": "standardized-missing-hashed",
        }

    def state(self) -> dict[str, Any]:
        """The statistics, JSON-safe (stored in the bundle beside :meth:`spec`)."""
        return {k: s.to_dict() for k, s in sorted(self.stats.items())}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], state: Mapping[str, Any]) -> TabularFeaturizer:
        """The featurizer a bundle recorded (see :meth:`spec` and :meth:`state`)."""
        columns = [(str(k), t) for k, t in spec.get("columns", [])]
        stats = {k: ColumnStats.from_dict(v) for k, v in state.items()}
        return cls(int(spec["buckets"]), columns, stats)

    def fit(
        self, rows: Sequence[Row], parent: TabularFeaturizer | None = None, *, merge: bool = False
    ) -> None:
        """Learn the columns and statistics of ``rows``.

        With a ``parent`` the columns must be the parent's (else :class:`IncompatibleModel`
        names each one that changed); ``merge`` adds the parent's statistics to those of
        ``rows``, for an update that trains on new rows only (one that trains on all the data
        counts every row itself).
        """
        self.fit_chunks([rows], parent, merge=merge)

    def fit_chunks(
        self,
        chunks: Iterable[Sequence[Row]],
        parent: TabularFeaturizer | None = None,
        *,
        merge: bool = False,
    ) -> None:
        """:meth:`fit` on rows given a chunk at a time (a stream's, in bounded memory).

        A column's type is its first value's, as in :func:`infer_columns`; each chunk's
        statistics are merged into the running ones by :meth:`ColumnStats.merge` (Chan et
        al.'s pairwise update; missing counts added, categories united), so any chunking gives
        the statistics of all the rows at once, to float rounding. A column absent from the
        earlier chunks counts their rows as missing.
        """
        kinds: dict[str, ColumnType | None] = {}
        stats: dict[str, ColumnStats] = {}
        seen = 0
        for rows in chunks:
            for key, kind in infer_columns(rows):
                if kinds.get(key) is None:
                    kinds[key] = kind
                if key not in stats and seen:
                    stats[key] = ColumnStats(missing=seen)
            for key, kind in kinds.items():
                chunk = column_stats([row.get(key) for row in rows], kind or NUMERIC)
                stats[key] = stats[key].merge(chunk) if key in stats else chunk
            seen += len(rows)
        self.columns = _resolve(sorted(kinds.items()), parent.columns if parent else ())
        fitted = {key: stats[key] for key, _ in self.columns}
        if parent is not None and merge:
            fitted = {k: parent.stats.get(k, ColumnStats()).merge(s) for k, s in fitted.items()}
        self.stats = fitted
        self._layout()

    def transform(self, texts: Sequence[str]) -> Features:
        """Featurize canonical row texts (``Example.text`` of a tabular example)."""
        return self.transform_rows([json.loads(text) for text in texts])

    def transform_rows(self, rows: Sequence[Row]) -> Features:
        """Featurize typed rows; a key absent from a row is a missing value."""
        n, n_num = len(rows), len(self.numeric)
        raw = np.array(
            [[_number(row.get(k)) for k in self.numeric] for row in rows], dtype=np.float64
        ).reshape(n, n_num)
        categories = [[row.get(k) for k in self.categorical] for row in rows]
        indices, values = self.encode(raw, categories)
        width = indices.shape[1]
        matrix = sp.csr_matrix(
            (values.ravel(), indices.ravel(), np.arange(n + 1, dtype=np.int64) * width),
            shape=(n, self.buckets),
        )
        return Features(sparse=matrix)

    def encode(
        self, raw: np.ndarray[Any, Any], categories: Sequence[Sequence[object]]
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """The table entries of rows already split into their numeric values (``raw``, rows x
        :attr:`numeric`, NaN where missing) and categorical ones (a row's values in
        :attr:`categorical` order, ``None`` where missing): ``(indices, weights)``, both rows x
        columns, one entry per column (the layout of :meth:`transform_rows`'s CSR rows, which
        an online learner feeds to the network without building the matrix).
        """
        n, n_num = raw.shape[0], len(self.numeric)
        width = n_num + len(self.categorical)
        indices = np.empty((n, width), dtype=np.int64)
        values = np.ones((n, width), dtype=np.float32)
        if n_num:
            missing = np.isnan(raw)
            z = np.clip((raw - self._mean) / self._std, -CLIP, CLIP)
            positions = np.arange(n_num, dtype=np.int64)
            indices[:, :n_num] = np.where(missing, positions + n_num, positions)
            values[:, :n_num] = np.where(missing, 1.0, z)
        span = self.buckets - self.offset
        for j, key in enumerate(self.categorical):
            indices[:, n_num + j] = [
                self.offset + self._bucket(key, row[j], span) for row in categories
            ]
        return indices, values

    def merge_stats(self, batch: Mapping[str, ColumnStats], forget: float = 1.0) -> None:
        """Add a batch's statistics to the running ones (the past weighing ``forget`` of its
        rows first, see :meth:`ColumnStats.forget`): an online update's :meth:`fit` with
        ``merge``, without re-reading the rows' types (the learner checked them)."""
        self.stats = {
            key: (past.forget(forget) if forget < 1.0 else past).merge(batch[key])
            for key, past in self.stats.items()
        }
        self._layout()

    def _bucket(self, key: str, value: object, span: int) -> int:
        pair = (key, _MISSING_CATEGORY if value is None else str(value))
        bucket = self._hash_cache.get(pair)
        if bucket is None:
            if len(self._hash_cache) >= 1 << 16:
                self._hash_cache.clear()
            bucket = murmur_bucket(f"{pair[0]}\x1f{pair[1]}", span)
            self._hash_cache[pair] = bucket
        return bucket


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")
