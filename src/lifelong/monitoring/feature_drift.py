"""Drift of each input column of a tabular model: has what the model is asked about moved away
from what it was trained on?

Confidences and predicted classes (:mod:`lifelong.monitoring.drift`) show drift only once it
moves the model's answers; a column drifting can be seen before that, and named. For each
feature column :func:`feature_drift` compares a reference sample of rows (the training rows)
with recent rows:

- numeric: PSI (how large the change of histogram is) and the KS test (whether there is one)
  on the present values, and the count of values outside the reference's range;
- categorical: a chi-square test of homogeneity on the category counts, and the count of
  values of categories the reference never had (a new category is no error for the model, it
  hashes into the table, so this is where it shows);
- every column: a chi-square test on missing-versus-present, and the missing count (a source
  that stops sending a field drifts without any value changing).

With many columns, some test would fire on unchanged data by chance alone, so the p-value
tests' level is divided by the number of columns (Bonferroni): ``alpha`` is then the chance of
a false alarm for the whole table, not for each column. PSI's threshold is a size, not a level,
and stays as it is.

Rows are the typed values of canonical rows (``lifelong.data.schema.parse_row``): a float, a
normalized category string, or ``None`` (missing); a key absent from a row is missing.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from lifelong.monitoring.drift import DriftResult, chi_square_labels, ks_test, psi

ColumnKind = Literal["numeric", "categorical"]
Row = Mapping[str, float | str | None]
Figure = float | int | bool | str | None

MIN_SAMPLES = 50
"""Present values needed on each side before a column's value tests run (fewer give noisy
statistics); the counts are reported either way."""

RARE = 5
"""Categories seen fewer times than this over both samples are pooled into one cell: the
chi-square approximation needs expected counts of about five."""

_RARE_CELL = "\x00rare"


@dataclass(frozen=True)
class ColumnDrift:
    """The drift of one feature column.

    ``missing`` / ``reference_missing`` count missing values of the recent and reference rows;
    ``unseen`` counts recent categorical values of categories the reference does not know,
    ``out_of_range`` recent numeric values outside the reference's range. ``tests`` holds the
    tests run (none when either side had too few values).
    """

    column: str
    kind: ColumnKind
    n_reference: int
    n_current: int
    reference_missing: int
    missing: int
    unseen: int
    out_of_range: int
    tests: tuple[DriftResult, ...]

    @property
    def drifted(self) -> bool:
        return any(test.drifted for test in self.tests)

    def figures(self) -> dict[str, Figure]:
        """Flat, JSON-safe figures prefixed by the column name, for logs."""
        prefix = f"{self.column}."
        figures: dict[str, Figure] = {
            prefix + "missing": self.missing,
            prefix + "reference_missing": self.reference_missing,
            prefix + "unseen": self.unseen,
            prefix + "out_of_range": self.out_of_range,
            prefix + "drifted": self.drifted,
        }
        for test in self.tests:
            figures |= {prefix + name: value for name, value in test.figures().items()}
        return figures

    def describe(self) -> str:
        """One line naming the tests that fired, for a trigger's reason."""
        fired = [
            f"{t.test} {t.statistic:.3f} >= {t.threshold}"
            if t.p_value is None
            else f"{t.test} p={t.p_value:.2g} < {t.threshold:.2g}"
            for t in self.tests
            if t.drifted
        ]
        return f"{self.column}: {', '.join(fired) or 'no drift'}"


@dataclass(frozen=True)
class FeatureDriftReport:
    """Every column's :class:`ColumnDrift`, in the order the columns were given."""

    columns: tuple[ColumnDrift, ...]
    n_reference: int
    n_current: int

    @property
    def drifted(self) -> list[str]:
        """Names of the columns that drifted."""
        return [column.column for column in self.columns if column.drifted]

    def __getitem__(self, name: str) -> ColumnDrift:
        return next(column for column in self.columns if column.column == name)

    def figures(self) -> dict[str, Figure]:
        figures: dict[str, Figure] = {"n_reference": self.n_reference, "n_current": self.n_current}
        for column in self.columns:
            figures |= column.figures()
        return figures


def feature_drift(
    reference_rows: Sequence[Row],
    recent_rows: Sequence[Row],
    columns: Mapping[str, ColumnKind] | Sequence[tuple[str, ColumnKind]],
    *,
    psi_threshold: float | None = 0.2,
    alpha: float | None = 0.01,
    bins: int = 10,
    min_samples: int = MIN_SAMPLES,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    categories: Mapping[str, Collection[str]] | None = None,
) -> FeatureDriftReport:
    """Compare ``recent_rows`` with ``reference_rows``, column by column (see the module doc).

    Parameters
    ----------
    columns
        Feature columns and their types (``TabularFeaturizer.columns`` fits).
    psi_threshold
        PSI at or above which a numeric column has drifted; ``None``: PSI is not computed.
    alpha
        False-alarm level of the p-value tests over the whole table (divided by the number of
        columns for each column's tests); ``None``: they are not run (the counts still are).
    ranges, categories
        The range of a numeric column and the categories of a categorical one over all the
        training data (the bundle's ``TabularFeaturizer.stats``: ``low``/``high``, and
        ``categories`` where not ``open``), for the out-of-range and unseen counts; a column
        absent from them takes its range or categories from ``reference_rows``.

    Examples
    --------
    >>> reference = [{"age": float(i % 50)} for i in range(500)]
    >>> recent = [{"age": float(i % 50) + 30.0} for i in range(500)]
    >>> report = feature_drift(reference, recent, {"age": "numeric"})
    >>> report.drifted, report["age"].out_of_range
    (['age'], 300)
    """
    pairs = list(columns.items()) if isinstance(columns, Mapping) else list(columns)
    level = None if alpha is None else alpha / max(len(pairs), 1)
    results = tuple(
        column_drift(
            name,
            kind,
            [row.get(name) for row in reference_rows],
            [row.get(name) for row in recent_rows],
            psi_threshold=psi_threshold,
            alpha=level,
            bins=bins,
            min_samples=min_samples,
            value_range=(ranges or {}).get(name),
            known=(categories or {}).get(name),
        )
        for name, kind in pairs
    )
    return FeatureDriftReport(results, len(reference_rows), len(recent_rows))


def column_drift(
    name: str,
    kind: ColumnKind,
    reference: Sequence[float | str | None],
    current: Sequence[float | str | None],
    *,
    psi_threshold: float | None,
    alpha: float | None,
    bins: int,
    min_samples: int,
    value_range: tuple[float, float] | None,
    known: Collection[str] | None,
) -> ColumnDrift:
    """The drift of one column's values (``alpha`` is this column's level, not the table's):
    the tests of :func:`feature_drift`, also for a sample of numbers that is no feature, such
    as a regression model's predicted values."""
    numeric = kind == "numeric"
    ref = [v for v in reference if _present(v, numeric)]
    cur = [v for v in current if _present(v, numeric)]
    tests: list[DriftResult] = []
    if (
        alpha is not None
        and min(len(reference), len(current)) >= max(min_samples, 1)
        and (len(ref) < len(reference) or len(cur) < len(current))
    ):
        missing = chi_square_labels(
            {"missing": len(reference) - len(ref), "present": len(ref)},
            {"missing": len(current) - len(cur), "present": len(cur)},
            alpha,
        )
        tests.append(dataclasses.replace(missing, test="missing_chi2"))
    enough = min(len(ref), len(cur)) >= max(min_samples, 1)
    unseen = out_of_range = 0
    if numeric:
        ref_num = [float(v) for v in ref if v is not None]
        cur_num = [float(v) for v in cur if v is not None]
        if value_range is None and ref_num:
            value_range = (min(ref_num), max(ref_num))
        if value_range is not None:
            low, high = value_range
            out_of_range = sum(1 for v in cur_num if v < low or v > high)
        if enough and psi_threshold is not None:
            tests.append(psi(ref_num, cur_num, bins, psi_threshold))
        if enough and alpha is not None:
            tests.append(ks_test(ref_num, cur_num, alpha))
    else:
        ref_counts, cur_counts = Counter(map(str, ref)), Counter(map(str, cur))
        seen = set(known) if known is not None else set(ref_counts)
        unseen = sum(count for value, count in cur_counts.items() if value not in seen)
        if enough and alpha is not None:
            tests.append(chi_square_labels(*_pool_rare(ref_counts, cur_counts), alpha))
    return ColumnDrift(
        column=name,
        kind=kind,
        n_reference=len(ref),
        n_current=len(cur),
        reference_missing=len(reference) - len(ref),
        missing=len(current) - len(cur),
        unseen=unseen,
        out_of_range=out_of_range,
        tests=tuple(tests),
    )


def _present(value: object, numeric: bool) -> bool:
    """Whether ``value`` counts as present: a number in a numeric column (anything else there,
    as ``TabularFeaturizer`` does, is missing), anything but ``None`` in a categorical one."""
    if numeric:
        return isinstance(value, int | float) and not isinstance(value, bool) and value == value
    return value is not None


def _pool_rare(
    reference: Counter[str], current: Counter[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Both counts with the categories rarer than :data:`RARE` overall pooled into one."""
    total = reference + current
    pooled: list[dict[str, int]] = [{}, {}]
    for side, counts in enumerate((reference, current)):
        for value, count in counts.items():
            cell = value if total[value] >= RARE else _RARE_CELL
            pooled[side][cell] = pooled[side].get(cell, 0) + count
    return pooled[0], pooled[1]


def value_drift(
    reference: Sequence[float],
    current: Sequence[float],
    *,
    psi_threshold: float | None,
    alpha: float | None,
    bins: int,
    min_samples: int,
) -> ColumnDrift:
    """The drift of a regression model's predicted values (``predicted_value``): recent ones
    against its values on the test split, by the numeric column tests (the drift trigger and
    the dashboard both judge them so)."""
    return column_drift(
        "predicted_value",
        "numeric",
        reference,
        current,
        psi_threshold=psi_threshold,
        alpha=alpha,
        bins=bins,
        min_samples=min_samples,
        value_range=None,
        known=None,
    )
