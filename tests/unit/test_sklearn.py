"""The scikit-learn faces: sklearn's own estimator checks, and the behaviour they do not cover
(pipelines, grid search, streams through partial_fit, warm starts, data frames, errors)."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_blobs, make_classification, make_regression
from sklearn.exceptions import NotFittedError, SkipTestWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks as checks
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from lifelong.sklearn import (
    InvalidParameter,
    LifelongClassifier,
    LifelongRegressor,
    LifelongTextClassifier,
)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Networks this small run fastest on one thread (and the suite runs beside others)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _expected_failures(estimator: object) -> dict[str, str]:
    """Checks the tabular estimators are expected to fail, with the reason: none.

    One check skips itself (SkipTest) for a reason of this environment, not of the
    estimators: ``check_array_api_input`` runs only with ``SCIPY_ARRAY_API=1`` set before
    scipy is imported (the estimators declare no array API support; the check would only
    confirm numpy input gives numpy output).
    """
    return {}


@parametrize_with_checks(
    [LifelongClassifier(), LifelongRegressor()], expected_failed_checks=_expected_failures
)
def test_sklearn_estimator_checks(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


# --- the text classifier ---------------------------------------------------------------

TEXTS = ["hello there", "hi friend", "good morning", "bye now", "see you later", "farewell"]
INTENTS = ["greet", "greet", "greet", "bye", "bye", "bye"]


def test_check_estimator_skips_the_text_classifier_as_sklearn_skips_its_own_vectorizers() -> None:
    # Every data check of check_estimator feeds 2-D numeric arrays; a text classifier declares
    # ``two_d_array=False, string=True`` (as CountVectorizer does), so sklearn runs none of them
    # and says so. The data-free API checks run below, the data checks on texts after them.
    with pytest.warns(SkipTestWarning, match="Can't test estimator LifelongTextClassifier"):
        check_estimator(LifelongTextClassifier())


@pytest.mark.parametrize(
    "check",
    [
        checks.check_estimator_cloneable,
        checks.check_estimator_repr,
        checks.check_no_attributes_set_in_init,
        checks.check_get_params_invariance,
        checks.check_set_params,
        checks.check_parameters_default_constructible,
        checks.check_do_not_raise_errors_in_init_or_set_params,
        checks.check_mixin_order,
        checks.check_valid_tag_types,
        checks.check_estimator_tags_renamed,
    ],
)
def test_text_classifier_api_checks(check: object) -> None:
    check("LifelongTextClassifier", LifelongTextClassifier())  # type: ignore[operator]


def test_text_classifier_learns_and_round_trips() -> None:
    model = LifelongTextClassifier(random_state=0, epochs=20, buckets=4096)
    assert model.fit(TEXTS * 4, INTENTS * 4) is model
    assert model.predict(["Hello friend", "bye, see you"]).tolist() == ["greet", "bye"]
    proba = model.predict_proba(TEXTS)
    assert proba.shape == (6, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert model.score(TEXTS, INTENTS) == 1.0
    again = clone(model).fit(TEXTS * 4, INTENTS * 4)
    np.testing.assert_array_equal(again.predict_proba(TEXTS), proba)  # one seed, one model
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(TEXTS), proba)
    np.testing.assert_allclose(model.predict_proba(TEXTS[2:4]), proba[2:4], rtol=1e-6)
    column = np.array(TEXTS, dtype=object).reshape(-1, 1)  # as a ColumnTransformer passes it
    np.testing.assert_array_equal(model.predict_proba(column), proba)


def test_text_classifier_rejects_what_is_not_texts() -> None:
    model = LifelongTextClassifier(buckets=4096)
    with pytest.raises(NotFittedError):
        model.predict(TEXTS)
    with pytest.raises(TypeError, match="one string"):
        model.fit("hello there", ["greet"])
    with pytest.raises(TypeError, match=r"X\[1\] is a int"):
        model.fit(["hello", 3], ["greet", "bye"])
    with pytest.raises(ValueError, match="shape"):
        model.fit(np.zeros((2, 3)), ["greet", "bye"])


def test_text_classifier_in_grid_search_and_warm_start() -> None:
    search = GridSearchCV(
        LifelongTextClassifier(random_state=0, buckets=4096, epochs=10),
        {"hidden": [16, 32]},
        cv=2,
    ).fit(TEXTS * 4, INTENTS * 4)
    assert search.best_params_["hidden"] in (16, 32)
    assert search.score(TEXTS, INTENTS) == 1.0
    model = LifelongTextClassifier(random_state=0, buckets=4096, epochs=20).fit(
        TEXTS * 4, INTENTS * 4
    )
    model.set_params(warm_start=True, epochs=20)
    new = ["thanks a lot", "thank you so much"]
    model.fit([*TEXTS, *new] * 4, [*INTENTS, "thanks", "thanks"] * 4)  # a new class: the head grows
    assert model.classes_.tolist() == ["bye", "greet", "thanks"]
    assert model.predict(["thank you", "hello there"]).tolist() == ["thanks", "greet"]


# --- tabular: pipelines, grid search, data frames ----------------------------------------


def _blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=n, centers=3, n_features=4, random_state=seed)
    return X, y


def test_pipeline_with_scaler_and_grid_search() -> None:
    X, y = _blobs()
    pipe = make_pipeline(StandardScaler(), LifelongClassifier(random_state=0))
    assert pipe.fit(X, y).score(X, y) > 0.9
    search = GridSearchCV(
        pipe, {"lifelongclassifier__hidden": [16, 64], "lifelongclassifier__epochs": [5]}, cv=3
    ).fit(X, y)
    assert search.best_score_ > 0.9
    assert search.best_estimator_[-1].hidden in (16, 64)


def test_column_transformer_passes_categories_through() -> None:
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], size=240)
    noise = rng.normal(size=(240, 2)) * [1.0, 1000.0]
    X = np.empty((240, 3), dtype=object)
    X[:, :2], X[:, 2] = noise, colour
    y = (colour == "red").astype(int)  # only the category tells the class
    columns = ColumnTransformer([("scale", StandardScaler(), [0, 1])], remainder="passthrough")
    pipe = make_pipeline(columns, LifelongClassifier(random_state=0))
    assert pipe.fit(X, y).score(X, y) == 1.0
    assert pipe[-1].featurizer_.categorical == ["x2"]


def test_data_frame_columns_missing_values_and_feature_names() -> None:
    rng = np.random.default_rng(1)
    age = rng.uniform(20, 60, size=200)
    job = rng.choice(["clerk", "nurse", "pilot"], size=200)
    label = np.where(job == "pilot", "high", np.where(age > 40, "mid", "low"))
    ages = [None if i % 10 == 0 else float(a) for i, a in enumerate(age)]
    table = pa.table({"age": ages, "job": job.tolist(), "branch": [None] * 200})
    model = LifelongClassifier(random_state=0, epochs=20).fit(table, label)
    assert model.feature_names_in_.tolist() == ["age", "job", "branch"]
    assert dict(model.featurizer_.columns) == {
        "age": "numeric",
        "branch": "numeric",
        "job": "categorical",
    }
    assert model.featurizer_.stats["age"].missing == 20
    assert model.score(table, label) > 0.9
    renamed = pa.table({"years": ages, "job": job.tolist(), "branch": [None] * 200})
    with pytest.raises(ValueError, match="feature names"):
        model.predict(renamed)
    unseen = pa.table({"age": [30.0], "job": ["astronaut"], "branch": [None]})
    assert model.predict(unseen)[0] in model.classes_  # a new category is no error


@pytest.mark.parametrize("estimator", [LifelongClassifier(), LifelongRegressor()])
def test_a_frame_predicts_as_the_same_array(estimator: LifelongClassifier) -> None:
    X, y = _blobs(120)
    table = pa.table({f"c{j}": X[:, j] for j in range(X.shape[1])})
    from_table = clone(estimator).set_params(random_state=0).fit(table, y).predict(table)
    from_array = clone(estimator).set_params(random_state=0).fit(X, y).predict(X)
    np.testing.assert_allclose(from_table, from_array, atol=1e-2)


def test_pandas_data_frame_with_categorical_dtype() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"n": [1.0, 2.0, None, 4.0] * 10, "c": ["a", "b", "a", "b"] * 10})
    frame["c"] = frame["c"].astype("category")
    y = ["x", "y", "x", "y"] * 10
    model = LifelongClassifier(random_state=0, epochs=20).fit(frame, y)
    assert dict(model.featurizer_.columns)["c"] == "categorical"
    assert model.score(frame, y) == 1.0


# --- streams: partial_fit ---------------------------------------------------------------


def test_partial_fit_over_batches_learns() -> None:
    X, y = make_classification(
        n_samples=1200, n_features=10, n_informative=5, n_classes=3, random_state=0
    )
    model = LifelongClassifier(random_state=0)
    scores = []
    for start in range(0, 900, 50):
        model.partial_fit(X[start : start + 50], y[start : start + 50], classes=[0, 1, 2])
        scores.append(model.score(X[900:], y[900:]))
    assert np.mean(scores[-3:]) > scores[0] + 0.1  # one epoch per batch: noisy, but it rises
    assert model.n_iter_ == 18
    assert model.featurizer_.stats["x0"].count == 900  # running statistics of every batch


def test_partial_fit_learns_a_class_named_upfront_and_seen_late() -> None:
    X, y = _blobs(600, seed=5)
    early = y != 2
    model = LifelongClassifier(random_state=0)
    model.partial_fit(X[early][:50], y[early][:50], classes=[0, 1, 2])
    assert model.predict_proba(X[:3]).shape == (3, 3)  # a row for class 2 from the start
    for _ in range(5):
        model.partial_fit(X[early][:200], y[early][:200])
    assert (model.predict(X[early]) != 2).mean() > 0.95
    for _ in range(10):
        model.partial_fit(X[:300], y[:300])
    later = y[300:] == 2
    assert (model.predict(X[300:][later]) == 2).mean() > 0.9


def test_partial_fit_refuses_unknown_classes() -> None:
    X, y = _blobs(60)
    model = LifelongClassifier()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    model.partial_fit(X, np.minimum(y, 1), classes=[0, 1])
    with pytest.raises(ValueError, match=r"classes \[2\] not in classes_"):
        model.partial_fit(X, y)
    with pytest.raises(ValueError, match="differs from classes_"):
        model.partial_fit(X, y, classes=[0, 1, 2])


def test_regressor_fits_and_streams() -> None:
    X, y = make_regression(n_samples=600, n_features=5, noise=5.0, random_state=0)
    y = y * 100 + 5000  # far from 0 and 1: the standardized target takes care of the units
    assert LifelongRegressor(random_state=0).fit(X[:400], y[:400]).score(X[400:], y[400:]) > 0.8
    model = LifelongRegressor(random_state=0)
    scores = []
    for start in range(0, 400, 40):
        model.partial_fit(X[start : start + 40], y[start : start + 40])
        scores.append(model.score(X[400:], y[400:]))
    assert np.mean(scores[-3:]) > 0.7
    assert np.mean(scores[-3:]) > scores[0] + 0.2
    scale = model._scaling
    model.set_params(warm_start=True).fit(X[:400] * 1.0, y[:400] + 1.0)
    assert model._scaling is scale  # updates keep the first target scaling


@pytest.mark.parametrize(
    "estimator",
    [LifelongClassifier(epochs=30, lr=0.05), LifelongRegressor(epochs=30, lr=0.05)],
)
def test_early_stopping_keeps_the_best_epoch(estimator: LifelongClassifier) -> None:
    X, y = _blobs(300)
    model = clone(estimator).set_params(random_state=0, early_stopping=True, patience=1)
    model.fit(X, y)
    assert 2 <= model.n_iter_ < 30  # stopped once the held-out score stopped improving
    assert model.score(X, y) > 0.8


# --- warm starts ------------------------------------------------------------------------


@pytest.mark.parametrize("init", ["warm", "shrink_perturb"])
def test_warm_start_continues_from_the_fitted_network(init: str) -> None:
    X, y = _blobs(400, seed=7)
    model = LifelongClassifier(random_state=0).fit(X[:200], y[:200])
    before = {k: v.clone() for k, v in model.model_.state_dict().items()}
    model.set_params(warm_start=True, finetune_init=init, epochs=1)
    model.fit(X[200:], y[200:])
    assert model.n_iter_ == 11
    assert model.score(X[200:], y[200:]) > 0.9  # one epoch on top of ten
    cold = LifelongClassifier(random_state=0, epochs=1).fit(X[200:], y[200:])
    moved = [not torch.equal(before[k], v) for k, v in model.model_.state_dict().items()]
    assert any(moved)
    assert model.score(X[200:], y[200:]) >= cold.score(X[200:], y[200:])


def test_warm_start_grows_the_head_for_a_new_class() -> None:
    X, y = _blobs(400, seed=9)
    old = y < 2
    model = LifelongClassifier(random_state=0).fit(X[old], y[old])
    model.set_params(warm_start=True).fit(X, y)
    assert model.classes_.tolist() == [0, 1, 2]
    assert model.score(X, y) > 0.9


# --- determinism and errors -------------------------------------------------------------


def test_same_seed_same_model_and_torch_rng_untouched() -> None:
    X, y = _blobs()
    state = torch.random.get_rng_state()
    first = LifelongClassifier(random_state=3).fit(X, y).predict_proba(X)
    assert torch.equal(torch.random.get_rng_state(), state)
    np.testing.assert_array_equal(
        LifelongClassifier(random_state=3).fit(X, y).predict_proba(X), first
    )
    assert not np.array_equal(LifelongClassifier(random_state=4).fit(X, y).predict_proba(X), first)


def test_clear_errors() -> None:
    X, y = _blobs(60)
    for estimator in (LifelongClassifier(), LifelongRegressor()):
        with pytest.raises(NotFittedError):
            estimator.predict(X)
    model = LifelongClassifier().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but LifelongClassifier is expecting 4"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match="1 class"):
        LifelongClassifier().fit(X, np.zeros(60))
    bad = LifelongClassifier(hidden=2)  # the constructor stores it; fit says what is wrong
    with pytest.raises(InvalidParameter, match=r"hidden=2: Input should be greater than"):
        bad.fit(X, y)
    with pytest.raises(InvalidParameter, match=r"finetune_init='hot': Input should be 'warm'"):
        LifelongClassifier(finetune_init="hot").fit(X, y)  # found before any warm start
    with pytest.raises(InvalidParameter, match="buckets=20 is too narrow for 4 numeric"):
        LifelongClassifier(buckets=20).fit(X, y)
    objects = X.astype(object)
    objects[3, 1] = "abc"
    with pytest.raises(ValueError, match=r"column 'x1' is numeric but row 3 holds 'abc'"):
        model.predict(objects)
    objects[3, 1] = {"a": 1}
    with pytest.raises(TypeError, match=r"column 'x1', row 3"):
        model.predict(objects)
    infinite = X.copy()
    infinite[5, 2] = np.inf
    with pytest.raises(ValueError, match="infinity in column 'x2' at row 5"):
        model.predict(infinite)


def test_nan_is_a_missing_value() -> None:
    X, y = _blobs()
    holes = X.copy()
    holes[::7, 1] = np.nan
    model = LifelongClassifier(random_state=0).fit(holes, y)
    assert model.featurizer_.stats["x1"].missing == len(holes[::7])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.score(holes, y) > 0.9


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    block = readme.read_text(encoding="utf-8").split("<!-- sklearn-example -->", 1)[1]
    code = block.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "'hidden'" in out
    assert "['greet' 'thanks']" in out  # the intent a warm start added is predicted


@pytest.mark.parametrize("estimator", [LifelongClassifier(), LifelongRegressor()])
def test_a_pandas_frame_records_feature_names_and_checks_them_on_predict(
    estimator: LifelongClassifier,
) -> None:
    """As scikit-learn's own estimators: names recorded by fit, a renamed or reordered column
    refused by predict, and the same predictions as the frame's array."""
    pd = pytest.importorskip("pandas")
    X, y = _blobs(120)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = clone(estimator).set_params(random_state=0).fit(frame, y)
    assert model.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    assert model.n_features_in_ == 4
    from_array = clone(estimator).set_params(random_state=0).fit(X, y).predict(X)
    np.testing.assert_allclose(model.predict(frame), from_array, atol=1e-2)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame.rename(columns={"a": "z"}))
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame[["b", "a", "c", "d"]])
