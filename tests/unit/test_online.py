"""OnlineClassifier and OnlineRegressor: River's contract, new classes mid-stream, learn_many,
determinism, target standardization."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.core.errors import ConfigError, DataError
from lifelong.online import OnlineClassifier, OnlineRegressor, records


def _stream(n: int, seed: int = 0) -> list[tuple[dict[str, object], str]]:
    """A separable stream: the label is which side of 0.5 ``a`` is (``b`` is noise)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.random(), rng.random()
        rows.append(({"a": a, "b": b, "kind": rng.choice(["x", "y"])}, "hi" if a > 0.5 else "lo"))
    return rows


def test_knows_nothing_before_its_first_update() -> None:
    model = OnlineClassifier(batch_size=4)
    x = {"a": 1.0}
    assert model.predict_one(x) is None
    assert model.predict_proba_one(x) == {}
    for _ in range(3):
        model.learn_one(x, "c")
    assert model.predict_one(x) is None  # 3 rows buffered, no update yet
    model.learn_one(x, "c")
    assert model.predict_one(x) == "c"
    assert model.predict_proba_one(x) == pytest.approx({"c": 1.0})


def test_learns_a_separable_stream() -> None:
    torch.set_num_threads(1)
    model = OnlineClassifier(batch_size=16)
    for x, y in _stream(1600):
        model.learn_one(x, y)
    test = _stream(200, seed=1)
    hits = sum(model.predict_one(x) == y for x, y in test)
    assert hits / len(test) > 0.9
    proba = model.predict_proba_one(test[0][0])
    assert set(proba) == {"hi", "lo"}
    assert sum(proba.values()) == pytest.approx(1.0)


def test_a_new_class_mid_stream_is_learned_and_the_old_ones_kept() -> None:
    model = OnlineClassifier(batch_size=16)
    for x, y in _stream(800):
        model.learn_one(x, y)
    assert model.classes == ["hi", "lo"] or model.classes == ["lo", "hi"]
    before = [model.predict_one(x) for x, _ in _stream(50, seed=2)]
    for i in range(800):  # a third class on a new category
        if i % 2:
            model.learn_one({"a": 0.9, "b": 0.5, "kind": "z"}, 7)
        else:
            x, y = _stream(1, seed=100 + i)[0]
            model.learn_one(x, y)
    assert model.classes[-1] == 7
    assert model.predict_one({"a": 0.9, "b": 0.5, "kind": "z"}) == 7
    after = [model.predict_one(x) for x, _ in _stream(50, seed=2)]
    assert sum(a == b for a, b in zip(before, after, strict=True)) >= 45


def test_learn_many_equals_the_loop_and_a_seed_fixes_the_model() -> None:
    rows = _stream(200)
    table = {key: [x[key] for x, _ in rows] for key in ("a", "b", "kind")}
    labels = [y for _, y in rows]
    looped, many, other = (OnlineClassifier(batch_size=8, seed=s) for s in (3, 3, 4))
    for x, y in rows:
        looped.learn_one(x, y)
    many.learn_many(table, labels)
    for x, y in rows:
        other.learn_one(x, y)
    probe = records(table)[:20]
    assert many.predict_proba_many(table)[:20] == looped.predict_proba_rows(probe)
    assert many.predict_many(table) == looped.predict_rows(records(table))
    assert other.predict_proba_rows(probe) != looped.predict_proba_rows(probe)


def test_a_new_feature_key_is_an_error_naming_it_and_a_missing_one_is_a_missing_value() -> None:
    model = OnlineClassifier(batch_size=2)
    model.learn_one({"a": 1.0, "b": 2.0}, "p")
    model.learn_one({"a": 0.0, "b": None}, "q")
    model.learn_one({"a": 0.5}, "p")  # b absent: missing
    assert model.predict_one({"a": float("nan")}) in {"p", "q"}
    with pytest.raises(DataError, match=r"row 4 .*\['c'\]"):
        model.learn_one({"a": 1.0, "c": 3.0}, "p")


def test_learn_many_checks_lengths_and_records_reads_tables() -> None:
    model = OnlineClassifier()
    with pytest.raises(DataError, match="2 rows but 1 labels"):
        model.learn_many({"a": [1.0, 2.0]}, ["x"])
    with pytest.raises(DataError, match="cannot read rows from a int"):
        records(3)
    pyarrow = pytest.importorskip("pyarrow")
    assert records(pyarrow.table({"a": [1.0], "b": ["u"]})) == [{"a": 1.0, "b": "u"}]


def test_forgetting_statistics_follow_a_shift_in_scale() -> None:
    running, forgetting = (
        OnlineClassifier(batch_size=10),
        OnlineClassifier(batch_size=10, forget=0.5),
    )
    for model in (running, forgetting):
        for i in range(200):
            model.learn_one({"a": float(i % 2) + (100.0 if i >= 100 else 0.0)}, str(i % 2))
    assert running.featurizer is not None
    assert forgetting.featurizer is not None
    assert running.featurizer.stats["a"].mean == pytest.approx(50.5)
    assert forgetting.featurizer.stats["a"].mean > 99.0
    with pytest.raises(ConfigError, match=r"forget=0\.0 in"):
        OnlineClassifier(forget=0.0)


def _line(n: int, seed: int = 0) -> list[tuple[dict[str, object], float]]:
    """A linear target in units far from 1 (``y = 300 a - 200 b + 1000``, a category noise)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.random(), rng.random()
        rows.append(({"a": a, "b": b, "kind": rng.choice(["x", "y"])}, 300 * a - 200 * b + 1000))
    return rows


def test_the_regressor_learns_a_line_to_a_small_mae() -> None:
    torch.set_num_threads(1)
    model = OnlineRegressor(batch_size=16)
    assert model.predict_one({"a": 0.5, "b": 0.5, "kind": "x"}) == 0.0  # River's untrained answer
    for x, y in _line(3008):
        model.learn_one(x, y)
    test = _line(200, seed=1)
    mae = sum(abs(model.predict_one(x) - y) for x, y in test) / len(test)
    spread = sum(abs(y - 1050) for _, y in test) / len(test)  # the mean's MAE, about 80
    assert mae < 0.1 * spread
    assert model.target_stats.count == 3008
    assert model.target_stats.mean == pytest.approx(1050, abs=10)


def test_the_regressor_learn_many_equals_the_loop_and_a_seed_fixes_it() -> None:
    rows = _line(120)
    table = {key: [x[key] for x, _ in rows] for key in ("a", "b", "kind")}
    targets = [y for _, y in rows]
    looped, many, other = (OnlineRegressor(batch_size=8, seed=s) for s in (3, 3, 4))
    for x, y in rows:
        looped.learn_one(x, y)
    many.learn_many(table, targets)
    other.learn_many(table, targets)
    assert many.predict_many(table) == looped.predict_rows(records(table))
    assert other.predict_many(table) != looped.predict_many(table)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), None, "12", True])
def test_a_target_that_is_not_a_finite_number_is_an_error_and_is_not_buffered(
    bad: object,
) -> None:
    model = OnlineRegressor(batch_size=2)
    model.learn_one({"a": 1.0}, 2)  # an int is a number
    with pytest.raises(DataError, match=r"row 2 .*a regressor learns finite numbers"):
        model.learn_one({"a": 1.0}, bad)
    model.learn_one({"a": 3.0}, 4.0)
    assert model.n_learned == 2
    assert model.target_stats.mean == pytest.approx(3.0)


def test_the_target_statistics_forget_as_the_features_do() -> None:
    running, forgetting = OnlineRegressor(batch_size=10), OnlineRegressor(batch_size=10, forget=0.5)
    for model in (running, forgetting):
        for i in range(200):
            model.learn_one({"a": float(i % 2)}, float(i % 2) + (100.0 if i >= 100 else 0.0))
    assert running.target_stats.mean == pytest.approx(50.5)
    assert forgetting.target_stats.mean > 99.0
    assert forgetting.featurizer is not None
    assert forgetting.featurizer.stats["a"].mean == pytest.approx(0.5)


@settings(deadline=None, max_examples=25)
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=40),
    st.integers(min_value=1, max_value=8),
)
def test_running_target_statistics_are_those_of_every_target_learned(
    targets: list[float], batch: int
) -> None:
    """Merged batch by batch, the statistics equal the whole sample's (Chan's update)."""
    model = OnlineRegressor(batch_size=batch)
    for i, y in enumerate(targets):
        model.learn_one({"a": float(i)}, y)
    learned = targets[: len(targets) - len(targets) % batch]
    assert model.target_stats.count == len(learned)
    if learned:
        assert model.target_stats.mean == pytest.approx(np.mean(learned), rel=1e-9, abs=1e-6)
        assert model.target_stats.m2 / len(learned) == pytest.approx(
            np.var(learned), rel=1e-6, abs=1e-3
        )


def test_a_value_of_the_wrong_type_is_an_error_naming_its_row_and_column() -> None:
    model = OnlineClassifier(batch_size=2)
    model.learn_one({"a": 1.0, "k": "x"}, "p")
    model.learn_one({"a": 2, "k": None}, "q")  # an int is a number; None is missing
    with pytest.raises(DataError, match=r"row 3 .*'high' in column 'a', .* numeric"):
        model.learn_one({"a": "high", "k": "x"}, "p")
    with pytest.raises(DataError, match=r"row 3 .*3\.5 in column 'k', .* categorical"):
        model.learn_one({"a": 1.0, "k": 3.5}, "p")
    assert model.n_learned == 2
    # a prediction reads such values as the featurizer does (a missing number, the text of
    # a category) and ignores keys it does not know
    assert model.predict_one({"a": "high", "k": 3.5, "new": 1.0}) in {"p", "q"}


def test_a_mixed_column_in_the_first_buffer_is_an_error_naming_its_row() -> None:
    model = OnlineClassifier(batch_size=3)
    model.learn_one({"a": 1.0}, "p")
    model.learn_one({"a": None}, "q")
    with pytest.raises(DataError, match=r"row 3 .*'x' in column 'a'"):
        model.learn_one({"a": "x"}, "p")


@pytest.mark.parametrize("kind", [OnlineClassifier, OnlineRegressor])
def test_learn_many_and_predict_many_on_a_pandas_frame_equal_the_row_loop(
    kind: type[OnlineClassifier] | type[OnlineRegressor],
) -> None:
    """A frame's missing values (NaN, a nullable integer's NA, a category's NaN) are missing
    values, its categorical dtype a category: the same model as the loop over plain dicts."""
    pd = pytest.importorskip("pandas")
    rows = _stream(120)
    frame = pd.DataFrame(
        {
            "a": [None if i % 7 == 0 else x["a"] for i, (x, _) in enumerate(rows)],
            "n": pd.array([None if i % 5 == 0 else i for i in range(120)], dtype="Int64"),
            "kind": pd.Categorical(
                [None if i % 9 == 0 else x["kind"] for i, (x, _) in enumerate(rows)]
            ),
        }
    )
    plain = [
        {
            "a": None if i % 7 == 0 else x["a"],
            "n": None if i % 5 == 0 else i,
            "kind": None if i % 9 == 0 else x["kind"],
        }
        for i, (x, _) in enumerate(rows)
    ]
    labels = [float(y == "hi") if kind is OnlineRegressor else y for _, y in rows]
    from_frame, looped = kind(batch_size=8, seed=1), kind(batch_size=8, seed=1)
    from_frame.learn_many(frame, labels)
    for x, y in zip(plain, labels, strict=True):
        looped.learn_one(x, y)
    assert from_frame.predict_many(frame) == looped.predict_rows(plain)
    assert from_frame.featurizer is not None
    assert from_frame.featurizer.stats["n"].missing == 24
    assert dict(from_frame.featurizer.columns)["kind"] == "categorical"
