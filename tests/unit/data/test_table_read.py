"""Reading tabular files: every bad input is an error at file:line or naming the column, and
nothing is returned as trainable; a new category or an out-of-range value is not an error; the
same rows in CSV, JSONL and Parquet are the same examples."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifelong.config import CONFIG_FILE, Columns
from lifelong.core.errors import DataError, Problem, ValidationFailed
from lifelong.data import check, load_dataset, read_file, read_paths
from lifelong.data.schema import parse_row
from lifelong.data.split import SplitData
from lifelong.data.trainable import check_trainable
from lifelong.project import Project

COLUMNS = Columns(target="job")
GOOD = "age,sex,job\n30,m,clerk\n41,f,nurse\n52,f,clerk\n"

Record = Mapping[str, Any]


def _project(root: Path, files: Mapping[str, str | bytes], **columns: Any) -> Project:
    """A tabular project predicting ``job`` (``columns`` override config.yml's columns)."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = data / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    config = {"task": "tabular", "columns": {"target": "job", **columns}}
    (root / CONFIG_FILE).write_text(json.dumps(config))
    return Project.load(root)


def _refused(project: Project) -> list[Problem]:
    """The errors :func:`load_dataset` raises with (it must raise: nothing is trainable)."""
    with pytest.raises(ValidationFailed) as caught:
        load_dataset(project)
    return [p for p in caught.value.problems if p.severity == "error"]


def _write_parquet(path: Path, records: Sequence[Record]) -> None:
    pq.write_table(pa.Table.from_pylist(list(records)), path)


def test_a_good_csv_reads_one_example_per_row(tmp_path: Path) -> None:
    dataset = load_dataset(_project(tmp_path, {"a.csv": GOOD}))
    rows = sorted((parse_row(e.text)["age"], e.label) for e in dataset.pool.examples.values())
    assert rows == [(30.0, "clerk"), (41.0, "nurse"), (52.0, "clerk")]
    example = next(e for e in dataset.pool.examples.values() if e.label == "nurse")
    assert parse_row(example.text) == {"age": 41.0, "sex": "f"}
    assert (example.line, Path(str(example.source)).name) == (3, "a.csv")


def test_a_missing_target_column_names_it(tmp_path: Path) -> None:
    (error,) = _refused(_project(tmp_path, {"a.csv": "age,sex\n30,m\n"}))
    assert error.code == "missing-column"
    assert "'job'" in error.message
    assert "'age'" in error.message


def test_a_declared_feature_missing_from_a_later_file_names_file_and_column(
    tmp_path: Path,
) -> None:
    project = _project(
        tmp_path,
        {"a.csv": GOOD, "b.csv": "age,job\n33,clerk\n"},
        features=["age", "sex"],
    )
    (error,) = _refused(project)
    assert (error.code, Path(str(error.source)).name) == ("missing-column", "b.csv")
    assert "'sex'" in error.message


def test_a_feature_column_that_vanished_in_a_later_file_is_named(tmp_path: Path) -> None:
    project = _project(tmp_path, {"a.csv": GOOD, "b.csv": "age,job\n33,clerk\n61,nurse\n"})
    (error,) = _refused(project)
    assert (error.code, Path(str(error.source)).name) == ("schema-mismatch", "b.csv")
    assert "'sex'" in error.message
    assert "a.csv" in error.message


def test_a_column_that_changed_type_in_a_later_file_names_both_files(tmp_path: Path) -> None:
    later = "age,sex,job\nold,m,clerk\nyoung,f,nurse\n"
    (error,) = _refused(_project(tmp_path, {"a.csv": GOOD, "b.csv": later}))
    assert error.code == "schema-mismatch"
    assert "'age'" in error.message
    assert "numeric" in error.message
    assert "categorical" in error.message
    assert "b.csv:2" in error.message  # where the first value that is not a number is


def test_a_non_numeric_value_in_a_numeric_column_is_an_error_at_its_line(
    tmp_path: Path,
) -> None:
    rows = "".join(f"{20 + i},m,clerk\n" for i in range(12))
    content = "age,sex,job\n" + rows + "forty,f,nurse\n"
    (error,) = _refused(_project(tmp_path, {"a.csv": content}))
    assert (error.code, error.line) == ("bad-value", 14)
    assert "'age'" in error.message
    assert "'forty'" in error.message


def test_a_declared_numeric_column_refuses_text_at_its_line(tmp_path: Path) -> None:
    project = _project(tmp_path, {"a.csv": GOOD + "x,m,clerk\n"}, types={"age": "numeric"})
    (error,) = _refused(project)
    assert (error.code, error.line) == ("bad-value", 5)


def test_an_all_missing_column_is_named(tmp_path: Path) -> None:
    content = "age,sex,job\n30,,clerk\n41,NA,nurse\n52,?,clerk\n"
    (error,) = _refused(_project(tmp_path, {"a.csv": content}))
    assert error.code == "empty-column"
    assert "'sex'" in error.message


def test_a_missing_classification_target_is_an_error_at_its_line(tmp_path: Path) -> None:
    (error,) = _refused(_project(tmp_path, {"a.csv": GOOD + "60,m,\n"}))
    assert (error.code, error.line) == ("bad-value", 5)
    assert "'job'" in error.message


@pytest.mark.parametrize("value", ["", "nan", "NaN", "inf", "lots"])
def test_a_regression_target_that_is_not_a_finite_number_is_an_error_at_its_line(
    tmp_path: Path, value: str
) -> None:
    content = f"age,sex,job\n30,m,1.5\n41,f,{value}\n52,f,2.5\n"
    (error,) = _refused(_project(tmp_path, {"a.csv": content}, kind="regression"))
    assert (error.code, error.line) == ("bad-value", 3)
    assert "'job'" in error.message


def test_a_regression_target_nan_in_parquet_and_jsonl_is_an_error_at_its_row(
    tmp_path: Path,
) -> None:
    records = [{"age": 30.0, "job": 1.5}, {"age": 41.0, "job": float("nan")}]
    _write_parquet(tmp_path / "a.parquet", records)
    jsonl = '{"age": 30, "job": 1.5}\n{"age": 41, "job": NaN}\n'
    columns = Columns(target="job", kind="regression")
    for path in (tmp_path / "a.parquet", tmp_path / "b.jsonl"):
        if path.suffix == ".jsonl":
            path.write_text(jsonl)
        (error,) = read_file(path, columns).errors
        assert (error.code, error.line) == ("bad-value", 2)


def test_a_regression_label_is_the_repr_of_the_number(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("age,job\n30,1e3\n41, 2.50 \n")
    result = read_file(path, Columns(target="job", kind="regression"))
    assert [e.label for e in result.examples] == ["1000.0", "2.5"]


def test_invalid_utf8_is_an_error_at_its_line(tmp_path: Path) -> None:
    content = GOOD.encode() + b"60,\xff,clerk\n"
    (error,) = _refused(_project(tmp_path, {"a.csv": content}))
    assert (error.code, error.line) == ("not-utf8", 5)


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (GOOD + "60,m\n", 5),  # too few fields
        (GOOD + "60,m,clerk,extra\n", 5),  # too many
        ('age,sex,job\n30,"m"x,clerk\n', 2),  # strict quoting
    ],
)
def test_malformed_csv_is_an_error_at_its_line(tmp_path: Path, content: str, line: int) -> None:
    errors = _refused(_project(tmp_path, {"a.csv": content}))
    assert [(e.code, e.line) for e in errors] == [("malformed-csv", line)]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ('{"age": 30, "job": "clerk"}\n{"age": 41, "job": \n', 2),
        ('{"age": 30, "job": "clerk"}\n[41, "nurse"]\n', 2),
    ],
)
def test_malformed_jsonl_is_an_error_at_its_line(tmp_path: Path, content: str, line: int) -> None:
    errors = _refused(_project(tmp_path, {"a.jsonl": content}))
    assert [(e.code, e.line) for e in errors] == [("malformed-json", line)]


def test_a_truncated_parquet_file_is_an_error_naming_it(tmp_path: Path) -> None:
    whole = tmp_path / "whole.parquet"
    _write_parquet(whole, [{"age": float(i), "job": f"j{i % 2}"} for i in range(50)])
    data = whole.read_bytes()
    errors = _refused(_project(tmp_path / "p", {"a.parquet": data[: len(data) // 2]}))
    assert [e.code for e in errors] == ["malformed-parquet"]
    assert Path(str(errors[0].source)).name == "a.parquet"


def test_a_string_that_is_not_text_is_an_error_at_its_line(tmp_path: Path) -> None:
    (error,) = _refused(_project(tmp_path, {"a.csv": GOOD + "60,a\x00b,clerk\n"}))
    assert (error.code, error.line) == ("invalid-text", 5)
    assert "'sex'" in error.message


def test_errors_in_several_files_are_all_listed(tmp_path: Path) -> None:
    files = {"a.csv": GOOD + "60,m\n", "b.csv": GOOD.encode() + b"\xfe\n"}
    errors = _refused(_project(tmp_path, files))
    assert sorted(e.code for e in errors) == ["malformed-csv", "not-utf8"]


def test_a_new_category_and_an_out_of_range_value_in_a_later_file_are_no_error(
    tmp_path: Path,
) -> None:
    later = "age,sex,job\n130,x,clerk\n-5,unknown,nurse\n"
    dataset = load_dataset(_project(tmp_path, {"a.csv": GOOD, "b.csv": later}))
    assert not [p for p in dataset.problems if p.severity == "error"]
    values = {
        (parse_row(e.text)["age"], parse_row(e.text)["sex"]) for e in dataset.pool.examples.values()
    }
    assert {(130.0, "x"), (-5.0, "unknown")} <= values


def test_missing_feature_values_are_kept_as_null(tmp_path: Path) -> None:
    dataset = load_dataset(_project(tmp_path, {"a.csv": GOOD + ",,nurse\n"}))
    rows = [parse_row(e.text) for e in dataset.pool.examples.values()]
    assert {"age": None, "sex": None} in rows


def test_a_target_with_one_class_is_refused_at_training_in_neutral_words(
    tmp_path: Path,
) -> None:
    content = "age,job\n" + "".join(f"{i},clerk\n" for i in range(20))
    dataset = load_dataset(_project(tmp_path, {"a.csv": content}))
    with pytest.raises(DataError, match="only one class \\('clerk'\\)") as caught:
        check_trainable(dataset.splits)
    assert "intent" not in caught.value.message


def test_regression_targets_are_not_checked_as_classes() -> None:
    from lifelong.core.types import Example

    rows = [Example(text=f'{{"a":{i}.0}}', label=repr(float(i))) for i in range(10)]
    check_trainable(SplitData(tuple(rows), (), ()), kind="regression")
    with pytest.raises(DataError, match="no data"):
        check_trainable(SplitData((), (), ()), kind="regression")


def test_a_text_file_in_a_tabular_folder_is_a_warning_not_read(tmp_path: Path) -> None:
    project = _project(tmp_path, {"a.csv": GOOD, "nlu.yml": "nlu: []\n"})
    dataset = load_dataset(project)
    assert [p.code for p in dataset.problems] == ["unknown-type"]


# -- the same rows in every format ---------------------------------------------------------

_NAMES = ["Age", "income", "Job Title", "branch"]
_WORDS = st.text(alphabet="aAbBé ,\"'\n;xyz0123.-", min_size=0, max_size=8)
_VALUE = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12, max_value=1e12),
    st.integers(min_value=-(10**9), max_value=10**9).map(float),
)


def _csv_text(records: Sequence[Record], names: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for record in records:
        writer.writerow(
            [
                ""
                if record[n] is None
                else repr(record[n])
                if isinstance(record[n], float)
                else record[n]
                for n in names
            ]
        )
    return out.getvalue()


@st.composite
def _tables(draw: st.DrawFn) -> tuple[list[str], list[dict[str, Any]]]:
    names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3, unique=True))
    numeric = {n: draw(st.booleans()) for n in names}
    n_rows = draw(st.integers(min_value=1, max_value=8))
    records = []
    for _ in range(n_rows):
        record: dict[str, Any] = {
            n: draw(_VALUE if numeric[n] else st.one_of(st.none(), _WORDS)) for n in names
        }
        record["target"] = draw(st.sampled_from(["yes", "No", " maybe "]))
        records.append(record)
    return [*names, "target"], records


def _outcome(path: Path) -> tuple[list[str], list[str]]:
    result = read_paths([path], Columns(target="target"))
    return sorted(e.hash for e in result.examples), sorted(p.code for p in result.errors)


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=_tables())
def test_csv_jsonl_and_parquet_of_the_same_rows_are_the_same_examples(
    tmp_path: Path, table: tuple[list[str], list[dict[str, Any]]]
) -> None:
    names, records = table
    csv_path, jsonl_path, parquet_path = (tmp_path / f"t.{s}" for s in ("csv", "jsonl", "parquet"))
    csv_path.write_text(_csv_text(records, names), encoding="utf-8")
    jsonl_path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    schema = pa.schema(
        [
            (n, pa.float64() if any(isinstance(r[n], float) for r in records) else pa.string())
            for n in names
        ]
    )
    pq.write_table(pa.Table.from_pylist(records, schema=schema), parquet_path)
    expected = _outcome(csv_path)
    assert _outcome(jsonl_path) == expected
    assert _outcome(parquet_path) == expected


def test_check_returns_the_examples_of_good_files(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(GOOD)
    assert len(check(read_paths([path], COLUMNS))) == 3
