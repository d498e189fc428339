"""scikit-learn estimators over lifelong's fast network, for users who hold their data in code.

``LifelongClassifier`` and ``LifelongRegressor`` take numeric arrays (columns ``x0``, ``x1``,
...), object arrays and data frames with categorical or string columns; they featurize rows
with :class:`~lifelong.features.TabularFeaturizer` (running statistics, hashed categories).
``LifelongTextClassifier`` takes raw strings and featurizes them with hashed word and char
n-grams, as the ``fast`` text pipeline does. All three train the network
:func:`~lifelong.models.build_model` builds with :class:`~lifelong.training.trainer.Trainer`:
the facade adds scikit-learn's contract (``fit`` / ``partial_fit`` / ``predict`` / ``score``,
parameters stored by the constructor, input validation, ``check_estimator``) and nothing else.

A second ``fit`` with ``warm_start=True`` continues from the fitted network as lifelong's
updates do: through the init strategy ``finetune_init`` names (``warm``: as it is;
``shrink_perturb``: Ash & Adams' shrink-and-perturb), with the head grown or shrunk when the
classes changed, and the featurizer's columns kept. ``partial_fit`` trains one epoch on each
batch and adds the batch to the running column statistics.

>>> import numpy as np
>>> X = np.array([[0.0, 1.0], [0.2, 0.9], [1.0, 0.0], [0.9, 0.1]] * 10)
>>> y = np.array(["a", "a", "b", "b"] * 10)
>>> LifelongClassifier(random_state=0).fit(X, y).predict([[0.1, 1.0], [1.0, 0.1]]).tolist()
['a', 'b']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, Self

import numpy as np
import pydantic
import torch
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_y,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from torch import nn

from lifelong.config import Finetune, NGrams, Pipeline, TabularSettings, Training
from lifelong.core import normalize_text
from lifelong.core.errors import ConfigError
from lifelong.data.frames import array_names, array_rows, frame_columns, is_frame, typed_rows
from lifelong.data.schema import NUMERIC, ColumnType, ValueProblem
from lifelong.features import Features, HashedNGrams, TabularFeaturizer
from lifelong.models import build_model, head_inputs, imprint_rows, remap_head
from lifelong.models.objective import Classification, Objective, Regression
from lifelong.training.init import make_strategy
from lifelong.training.trainer import Trainer

Start = Literal["fresh", "continue", "finetune"]
"""Where training starts: a new network, the fitted one as it is, or the fitted one through
the ``finetune_init`` strategy."""

Mode = Literal["fit", "refit", "update", "read"]
"""How input meets the featurizer: ``fit`` a new one, ``refit`` the statistics for a warm
start (columns kept), ``update`` them with a batch (running statistics), or only ``read``."""

_BATCH = 1024


class InvalidParameter(ConfigError, ValueError):
    """An estimator parameter out of range; raised by ``fit``, never by the constructor."""


def _settings(
    owner: str,
    section: type[pydantic.BaseModel],
    aliases: Mapping[str, str] | None = None,
    **values: Any,
) -> Any:
    """A config section of the estimator's parameters, or an error naming each bad one (by
    the estimator's name for it: ``aliases`` maps a config field to its parameter)."""
    try:
        return section(**values)
    except pydantic.ValidationError as error:
        names = aliases or {}
        found = "; ".join(
            f"{names.get(str(e['loc'][0]), str(e['loc'][0]))}={e.get('input')!r}: {e['msg']}"
            for e in error.errors()
        )
        raise InvalidParameter(
            f"{owner}: invalid parameter: {found}", hint="see the estimator's docstring"
        ) from None


def _store(estimator: BaseEstimator, params: Mapping[str, Any]) -> None:
    """Keep the constructor's arguments as they are, as scikit-learn's contract asks (its
    ``get_params`` reads them back by the signature's names; no validation until ``fit``)."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class _Network(BaseEstimator):  # type: ignore[misc]
    """What every estimator here shares: the network, its training, warm starts, outputs.

    Subclasses say how ``X`` becomes features (:meth:`_features`), which pipeline config
    describes the network (:meth:`_pipeline`) and what it learns (classes or a number).
    """

    epochs: int
    batch_size: int
    lr: float
    sparse_lr: float
    weight_decay: float
    hidden: int
    dropout: float
    early_stopping: bool
    validation_fraction: float
    patience: int
    warm_start: bool
    finetune_init: str
    shrink: float
    perturb: float
    random_state: int | np.random.RandomState | None

    model_: nn.Module
    n_iter_: int

    def _features(self, X: Any, mode: Mode) -> Features:
        raise NotImplementedError

    def _pipeline(self) -> Pipeline:
        raise NotImplementedError

    def _training(self, seed: int) -> Training:
        name = type(self).__name__
        training = _settings(
            name,
            Training,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            sparse_lr=self.sparse_lr,
            weight_decay=self.weight_decay,
            patience=self.patience,
            seed=seed,
        )
        if not 0.0 < self.validation_fraction < 1.0:
            raise InvalidParameter(
                f"{name}: validation_fraction={self.validation_fraction!r} must be in (0, 1)"
            )
        return training  # type: ignore[no-any-return]

    def _fitted(self) -> bool:
        return hasattr(self, "model_")

    def _train(
        self,
        features: Features,
        targets: torch.Tensor,
        objective: Objective,
        n_outputs: int,
        *,
        start: Start,
        heads: tuple[list[str], list[str]] | None = None,
        epochs: int | None = None,
    ) -> None:
        """Train the network on ``features`` and ``targets``, from ``start``.

        ``fresh`` builds a new network; ``continue`` trains the fitted one as it is
        (``partial_fit``); ``finetune`` applies ``finetune_init`` to it first, after moving the
        head from ``heads[0]`` to ``heads[1]`` (old and new class names) when they differ.
        Torch's global random state is left as the caller had it.
        """
        if start == "fresh":
            self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
            self.n_iter_ = 0
        seed = self._seed + self.n_iter_
        training = self._training(seed)
        pipeline = self._pipeline()
        finetune = _settings(  # checked on every fit, used by a warm start
            type(self).__name__,
            Finetune,
            {"init": "finetune_init"},
            init=self.finetune_init,
            shrink=self.shrink,
            perturb=self.perturb,
        )
        with torch.random.fork_rng(devices=[]):

            def fresh() -> nn.Module:
                torch.manual_seed(seed)
                return build_model(pipeline, n_outputs)

            generator = torch.Generator().manual_seed(seed)
            if start == "fresh":
                model = fresh()
            else:
                model = self.model_
                if start == "finetune":
                    if heads is not None and heads[0] != heads[1]:
                        remap_head(model, heads[0], heads[1], generator)
                    model = make_strategy(finetune).apply(model, fresh, generator)
                    if heads is not None and heads[0] != heads[1]:
                        _imprint(model, features, targets, *heads)
            valid = None
            if self.early_stopping and start != "continue" and len(targets) >= 4:
                order = torch.randperm(len(targets), generator=generator).numpy()
                cut = max(1, math.floor(len(order) * self.validation_fraction))
                valid = (features.rows(order[:cut]), targets[order[:cut]])
                features, targets = features.rows(order[cut:]), targets[order[cut:]]
            trainer = Trainer(training, objective=objective, progress=False)
            result = trainer.fit(model, features, targets, valid, epochs=epochs)
        model.eval()
        self.model_ = model
        self.n_iter_ += result.epochs_run

    def _outputs(self, X: Any) -> NDArray[np.float32]:
        """The network's outputs on ``X`` (logits, or the standardized number)."""
        check_is_fitted(self)
        features = self._features(X, "read")
        self.model_.eval()
        parts = []
        with torch.inference_mode():
            for begin in range(0, len(features), _BATCH):
                rows = min(_BATCH, len(features) - begin)
                # every batch _BATCH rows (the last padded with its last row): a row's output
                # then never depends on how many rows came with it (BLAS kernels differ by size)
                index = np.minimum(np.arange(begin, begin + _BATCH), begin + rows - 1)
                parts.append(self.model_(features.rows(index)).numpy()[:rows])
        return np.concatenate(parts)


def _imprint(
    model: nn.Module, features: Features, targets: torch.Tensor, old: list[str], new: list[str]
) -> None:
    """Start each new class's head row from its examples (weight imprinting), as lifelong's
    updates do, so a class added by a warm start is reachable from the first epoch."""
    inputs = head_inputs(model, features)
    known = set(old)
    added = [i for i, label in enumerate(new) if label not in known and bool((targets == i).any())]
    means = {i: inputs[targets == i].mean(dim=0) for i in added}
    imprint_rows(model, means, inputs.mean(dim=0), [i for i, c in enumerate(new) if c in known])


class _Classes(ClassifierMixin, _Network):  # type: ignore[misc]
    """Classification: ``classes_``, cross-entropy, ``predict_proba``."""

    label_smoothing: float
    classes_: NDArray[Any]

    def _objective(self) -> Classification:
        smoothing = _settings(
            type(self).__name__, Pipeline, label_smoothing=self.label_smoothing
        ).label_smoothing
        return Classification(label_smoothing=smoothing)

    def _labels(self, y: ArrayLike) -> NDArray[Any]:
        labels: NDArray[Any] = column_or_1d(_check_y(y, estimator=self), warn=True)
        check_classification_targets(labels)
        return labels

    def _targets(self, labels: NDArray[Any]) -> torch.Tensor:
        index = np.searchsorted(self.classes_, labels)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = sorted(set(labels[self.classes_[index] != labels].tolist()))
        if unknown:
            raise ValueProblem(
                f"y holds classes {unknown} not in classes_ {self.classes_.tolist()}: name every "
                "class in `classes=` on the first call to partial_fit, or fit again with "
                "warm_start=True (which grows the output layer)"
            )
        return torch.from_numpy(index.astype(np.int64))

    def fit(self, X: Any, y: ArrayLike) -> Self:
        """Train on ``X`` and ``y``: from scratch, or from the fitted network with
        ``warm_start=True`` (classes may change: the head follows them)."""
        finetune = self.warm_start and self._fitted()
        features = self._features(X, "refit" if finetune else "fit")
        labels = self._labels(y)
        check_consistent_length(labels, np.empty(len(features)))
        classes = np.unique(labels)
        if len(classes) < 2:
            raise ValueProblem(
                f"y has {len(classes)} class ({classes.tolist()}): a classifier needs examples "
                "of at least 2 classes"
            )
        before = [str(c) for c in self.classes_] if finetune else []
        self.classes_ = classes
        self._train(
            features,
            self._targets(labels),
            self._objective(),
            len(classes),
            start="finetune" if finetune else "fresh",
            heads=(before, [str(c) for c in classes]),
        )
        return self

    def partial_fit(self, X: Any, y: ArrayLike, classes: ArrayLike | None = None) -> Self:
        """Train one epoch on a batch; the first call must name every class in ``classes``."""
        first = not self._fitted()
        if first and classes is None:
            raise ValueProblem(
                "classes must be passed on the first call to partial_fit (every class the "
                "stream will hold, so the output layer has a row for each)"
            )
        if classes is not None:
            wanted = np.unique(column_or_1d(classes))
            if not first and not np.array_equal(wanted, self.classes_):
                raise ValueProblem(
                    f"classes={wanted.tolist()} differs from classes_={self.classes_.tolist()} "
                    "of the first call to partial_fit (fit again with warm_start=True to change "
                    "the classes)"
                )
            if first and len(wanted) < 2:
                raise ValueProblem(f"classes has 1 class ({wanted[0]!r}): a classifier needs 2")
        features = self._features(X, "fit" if first else "update")
        labels = self._labels(y)
        check_consistent_length(labels, np.empty(len(features)))
        if first:
            self.classes_ = wanted
        self._train(
            features,
            self._targets(labels),
            self._objective(),
            len(self.classes_),
            start="fresh" if first else "continue",
            epochs=1,
        )
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Class probabilities, one column per ``classes_`` entry."""
        logits = torch.from_numpy(self._outputs(X))
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, X: Any) -> NDArray[Any]:
        """The most probable class of each row (or text)."""
        best = self._outputs(X).argmax(axis=1)
        result: NDArray[Any] = self.classes_[best]
        return result


class _Tabular(_Network):
    """Rows of numbers and categories through :class:`TabularFeaturizer`."""

    buckets: int | None
    dim: int
    featurizer_: TabularFeaturizer
    _order: list[tuple[str, ColumnType]]

    _kind: Literal["classification", "regression"] = "classification"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags

    def _pipeline(self) -> Pipeline:
        name = type(self).__name__
        table = _settings(
            name, TabularSettings, buckets=self.featurizer_.buckets, dim=self.dim, kind=self._kind
        )
        return _settings(  # type: ignore[no-any-return]
            name,
            Pipeline,
            name="tabular",
            hidden=self.hidden,
            dropout=self.dropout,
            tabular=table,
        )

    def _features(self, X: Any, mode: Mode) -> Features:
        reset = mode == "fit"
        kinds = None if reset else dict(self.featurizer_.columns)
        known = None if reset else [key for key, _ in self._order]
        if is_frame(X):
            validate_data(self, X, skip_check_array=True, reset=reset)
            names, columns, numeric = frame_columns(X)
            if not columns or not len(columns[0]):
                raise ValueProblem(f"X has shape {X.shape}: at least 1 row and 1 column needed")
            rows, found = typed_rows(known or names, columns, kinds, numeric)
        else:
            array = validate_data(self, X, dtype=None, ensure_all_finite=False, reset=reset)
            rows, found = array_rows(array, known or array_names(array.shape[1]), kinds)
        if reset:
            self._order = list(found.items())
            self.featurizer_ = TabularFeaturizer(self._buckets(found))
            self.featurizer_.fit(rows)
        elif mode in ("refit", "update"):
            featurizer = TabularFeaturizer(self.featurizer_.buckets)
            featurizer.fit(rows, self.featurizer_, merge=mode == "update")
            self.featurizer_ = featurizer
        return self.featurizer_.transform_rows(rows)

    def _buckets(self, kinds: Mapping[str, str]) -> int:
        """``buckets``, or by default room for the numeric columns and 256 per category."""
        n_numeric = sum(kind == NUMERIC for kind in kinds.values())
        needed = 2 * n_numeric + 16
        if self.buckets is None:
            return max(64, needed + 256 * (len(kinds) - n_numeric))
        if self.buckets < needed:
            raise InvalidParameter(
                f"{type(self).__name__}: buckets={self.buckets} is too narrow for "
                f"{n_numeric} numeric columns (needs at least {needed})",
                hint="leave buckets=None to size it from the columns",
            )
        return self.buckets


class LifelongClassifier(_Classes, _Tabular):
    """A classifier of rows (numbers, categories, missing values) on lifelong's fast network.

    Parameters
    ----------
    epochs
        Passes over the data in ``fit`` (``partial_fit`` makes one per call).
    batch_size, lr, sparse_lr, weight_decay
        Optimisation: AdamW for the dense layers, SparseAdam (``sparse_lr``) for the table.
    hidden, dim, dropout, label_smoothing
        The network: a ``dim``-wide projection of the row, one hidden layer, the class head.
    buckets
        Width of the input table; ``None`` sizes it from the columns at the first fit.
    early_stopping, validation_fraction, patience
        Hold out a fraction of ``fit``'s rows and keep the best epoch's weights.
    warm_start
        A later ``fit`` continues from the fitted network (see ``finetune_init``).
    finetune_init, shrink, perturb
        How a warm start begins: ``warm`` (as it is) or ``shrink_perturb``
        (``shrink * weights + perturb * fresh weights``).
    random_state
        Seed of the network's initialisation, shuffling and dropout.
    """

    def __init__(
        self,
        *,
        epochs: int = 10,
        batch_size: int = 64,
        lr: float = 0.01,
        sparse_lr: float = 0.05,
        weight_decay: float = 0.0001,
        hidden: int = 64,
        dim: int = 32,
        dropout: float = 0.1,
        label_smoothing: float = 0.0,
        buckets: int | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 2,
        warm_start: bool = False,
        finetune_init: str = "warm",
        shrink: float = 0.6,
        perturb: float = 0.01,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        _store(self, locals())


class LifelongRegressor(RegressorMixin, _Tabular):  # type: ignore[misc]
    """A regressor of rows (numbers, categories, missing values) on lifelong's fast network.

    The network outputs the target standardized by the mean and standard deviation of the
    first ``fit`` (or ``partial_fit``) and keeps that scaling through warm starts and
    ``partial_fit``, as lifelong's regression updates do. Parameters as
    :class:`LifelongClassifier`'s, without ``label_smoothing``; ``early_stopping`` keeps the
    epoch of lowest validation RMSE.
    """

    _kind = "regression"
    _scaling: Regression

    def __init__(
        self,
        *,
        epochs: int = 10,
        batch_size: int = 64,
        lr: float = 0.01,
        sparse_lr: float = 0.05,
        weight_decay: float = 0.0001,
        hidden: int = 64,
        dim: int = 32,
        dropout: float = 0.0,
        buckets: int | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 2,
        warm_start: bool = False,
        finetune_init: str = "warm",
        shrink: float = 0.6,
        perturb: float = 0.01,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        _store(self, locals())

    def _fit(self, X: Any, y: ArrayLike, mode: Mode, start: Start, epochs: int | None) -> Self:
        features = self._features(X, mode)
        checked = column_or_1d(_check_y(y, y_numeric=True, estimator=self), warn=True)
        values = np.asarray(checked, dtype=np.float64)
        check_consistent_length(values, np.empty(len(features)))
        if start == "fresh":
            self._scaling = Regression.fitted([repr(float(v)) for v in values])
        scaled = (values - self._scaling.mean) / self._scaling.std
        self._train(
            features,
            torch.from_numpy(scaled.astype(np.float32)),
            self._scaling,
            1,
            start=start,
            epochs=epochs,
        )
        return self

    def fit(self, X: Any, y: ArrayLike) -> Self:
        """Train on ``X`` and ``y``: from scratch, or from the fitted network with
        ``warm_start=True`` (keeping its target scaling)."""
        if self.warm_start and self._fitted():
            return self._fit(X, y, "refit", "finetune", None)
        return self._fit(X, y, "fit", "fresh", None)

    def partial_fit(self, X: Any, y: ArrayLike) -> Self:
        """Train one epoch on a batch (the first call also fixes the target scaling)."""
        if self._fitted():
            return self._fit(X, y, "update", "continue", 1)
        return self._fit(X, y, "fit", "fresh", 1)

    def predict(self, X: Any) -> NDArray[np.float64]:
        """The predicted value of each row, in the target's units."""
        outputs = self._outputs(X)
        return self._scaling.decode(outputs)


class LifelongTextClassifier(_Classes):
    """A classifier of raw texts: hashed word and char n-grams into lifelong's fast network.

    ``X`` is a sequence of strings (a list, a 1-D array, a one-column 2-D array or frame
    column); texts are normalized as everywhere in lifelong (NFKC, casefold, white space).
    Parameters as :class:`LifelongClassifier`'s, plus the n-gram ranges ``word`` and
    ``char`` (inclusive); ``buckets`` is the width of the hashed table.
    """

    featurizer_: HashedNGrams

    def __init__(
        self,
        *,
        epochs: int = 10,
        batch_size: int = 64,
        lr: float = 0.01,
        sparse_lr: float = 0.05,
        weight_decay: float = 0.0001,
        hidden: int = 64,
        dim: int = 64,
        dropout: float = 0.1,
        label_smoothing: float = 0.0,
        buckets: int = 65_536,
        word: tuple[int, int] = (1, 2),
        char: tuple[int, int] = (2, 5),
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 2,
        warm_start: bool = False,
        finetune_init: str = "warm",
        shrink: float = 0.6,
        perturb: float = 0.01,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        _store(self, locals())

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        return tags

    def _pipeline(self) -> Pipeline:
        name = type(self).__name__
        ngrams = _settings(
            name, NGrams, word=self.word, char=self.char, buckets=self.buckets, dim=self.dim
        )
        return _settings(  # type: ignore[no-any-return]
            name, Pipeline, name="fast", ngrams=ngrams, hidden=self.hidden, dropout=self.dropout
        )

    def _features(self, X: Any, mode: Mode) -> Features:
        texts = _texts(X)
        if mode == "fit":
            ngrams = self._pipeline().ngrams
            self.featurizer_ = HashedNGrams(ngrams.buckets, ngrams.word, ngrams.char)
        return self.featurizer_.transform(texts)


def _texts(X: Any) -> list[str]:
    """``X`` as a list of normalized texts, or an error saying what it is instead."""
    if isinstance(X, str | bytes):
        raise TypeError("X is one string: pass a sequence of texts (e.g. [text])")
    values = np.asarray(X, dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueProblem(
            f"X has shape {values.shape}: a text classifier reads a sequence of texts "
            "(1-D, or 2-D with one column)"
        )
    if not len(values):
        raise ValueProblem("X holds 0 texts: at least 1 is needed")
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise TypeError(f"X[{i}] is a {type(value).__name__}, not a text: {value!r}")
    return [normalize_text(text) for text in values]
