"""Per-feature drift of tabular rows: quiet on unchanged data, loud on a shifted mean or a new
dominant category, with counts of missing, unseen and out-of-range values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lifelong.monitoring.feature_drift import feature_drift

COLUMNS = {"age": "numeric", "income": "numeric", "job": "categorical", "branch": "categorical"}
JOBS = ["clerk", "nurse", "driver", "teacher"]


def _rows(
    rng: np.random.Generator,
    n: int,
    *,
    age_mean: float = 40.0,
    jobs: list[str] = JOBS,
    job_p: list[float] | None = None,
    income_missing: float = 0.1,
) -> list[dict[str, float | str | None]]:
    ages = rng.normal(age_mean, 10.0, n)
    incomes = rng.lognormal(10.0, 0.5, n)
    job = rng.choice(jobs, n, p=job_p)
    branch = rng.choice(["north", "south", "east"], n)
    gone = rng.random(n) < income_missing
    return [
        {
            "age": float(ages[i]),
            "income": None if gone[i] else float(incomes[i]),
            "job": str(job[i]),
            "branch": str(branch[i]),
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_no_column_drifts_on_unchanged_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    report = feature_drift(_rows(rng, 3000), _rows(rng, 1000), COLUMNS)
    assert report.drifted == []
    assert [c.column for c in report.columns] == list(COLUMNS)
    assert all(c.tests for c in report.columns)  # tested, not skipped
    assert report["job"].unseen == 0


def test_a_mean_shift_is_found_in_that_column_only(rng: np.random.Generator) -> None:
    report = feature_drift(_rows(rng, 3000), _rows(rng, 1000, age_mean=48.0), COLUMNS)
    assert report.drifted == ["age"]
    fired = {t.test for t in report["age"].tests if t.drifted}
    assert fired == {"psi", "ks"}
    assert report["age"].out_of_range > 0  # the shifted tail passes the reference's maximum
    assert "age: " in report["age"].describe()


def test_a_new_dominant_category_is_found_and_counted(rng: np.random.Generator) -> None:
    recent = _rows(rng, 1000, jobs=[*JOBS, "pilot"], job_p=[0.1, 0.1, 0.1, 0.1, 0.6])
    report = feature_drift(_rows(rng, 3000), recent, COLUMNS)
    assert report.drifted == ["job"]
    assert 500 < report["job"].unseen < 700
    (chi2,) = [t for t in report["job"].tests if t.test == "chi2"]
    assert chi2.drifted


def test_a_column_going_missing_is_drift_and_counted(rng: np.random.Generator) -> None:
    report = feature_drift(_rows(rng, 3000), _rows(rng, 1000, income_missing=0.5), COLUMNS)
    assert report.drifted == ["income"]
    assert [t.test for t in report["income"].tests if t.drifted] == ["missing_chi2"]
    assert 400 < report["income"].missing < 600
    assert 200 < report["income"].reference_missing < 400


def test_known_categories_and_ranges_from_the_bundle_take_precedence(
    rng: np.random.Generator,
) -> None:
    reference, recent = _rows(rng, 500), [{"age": 200.0, "job": "pilot"}]
    report = feature_drift(
        reference,
        recent,
        {"age": "numeric", "job": "categorical"},
        ranges={"age": (0.0, 250.0)},
        categories={"job": [*JOBS, "pilot"]},
    )
    assert (report["age"].out_of_range, report["job"].unseen) == (0, 0)
    plain = feature_drift(reference, recent, {"age": "numeric", "job": "categorical"})
    assert (plain["age"].out_of_range, plain["job"].unseen) == (1, 1)


def test_too_few_rows_are_counted_but_not_tested(rng: np.random.Generator) -> None:
    report = feature_drift(_rows(rng, 3000), _rows(rng, 10, age_mean=90.0), COLUMNS)
    assert report.drifted == []
    assert all(not c.tests for c in report.columns)
    assert report["age"].out_of_range > 0
    assert report.n_current == 10


def test_absent_keys_and_non_numbers_in_a_numeric_column_count_as_missing() -> None:
    reference = [{"age": float(i)} for i in range(100)]
    report = feature_drift(reference, [{}, {"age": "x"}, {"age": 3.0}], {"age": "numeric"})
    assert (report["age"].missing, report["age"].n_current) == (2, 1)


def test_figures_are_flat_and_json_safe(rng: np.random.Generator) -> None:
    report = feature_drift(_rows(rng, 300), _rows(rng, 300, age_mean=60.0), COLUMNS)
    figures = report.figures()
    assert json.loads(json.dumps(figures, allow_nan=False)) == figures
    assert figures["age.psi_drifted"] is True
    assert figures["job.unseen"] == 0


def test_disabled_tests_are_not_run_but_counts_are(rng: np.random.Generator) -> None:
    report = feature_drift(
        _rows(rng, 300), _rows(rng, 300, age_mean=90.0), COLUMNS, psi_threshold=None, alpha=None
    )
    assert all(not c.tests for c in report.columns)
    assert report["age"].out_of_range > 0
