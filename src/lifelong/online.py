"""River's face of lifelong: ``learn_one`` / ``predict_one`` over dicts of features.

:class:`OnlineClassifier` and :class:`OnlineRegressor` are the tabular pipeline (the
:class:`TabularFeaturizer` and the fast network of :func:`lifelong.models.build_model`) learning
from a stream, in River's convention: ``learn_one(x, y)``, ``predict_one(x)``, the classifier's
``predict_proba_one(x)``, and ``learn_many`` / ``predict_many`` (/ ``predict_proba_many``) over
a table of rows: a pandas ``DataFrame`` (read through its ``to_dict``, NaN and NA being
missing values; pandas is not a dependency, so the answers are lists, not a ``Series``), a
pyarrow ``Table`` or a dict of columns.

A torch step per row costs about as much as a step over a few dozen rows, so the learner
buffers rows and steps every ``batch_size`` rows (mini-batch online learning): the statistics
that standardize numeric columns are merged with the buffer's (Chan's pairwise update; with
``forget < 1`` the old ones first weigh only ``forget`` of their rows, so the statistics follow
the stream's recent rows, see :meth:`ColumnStats.forget`), a class never seen before gets its
own head row by :func:`lifelong.models.remap_head` (a regressor's target statistics are merged
like a column's instead: it learns the target standardized, as a cold regression does, see
:class:`lifelong.models.objective.Regression`), then the network takes ``steps`` optimizer
steps on the buffer. Both learners share all of this in :class:`OnlineLearner` and differ only
in what a label becomes and the loss.

The per-row costs are kept to what a row needs (see ``bench/tabular.py``): once the first
buffer has fixed the columns, a row is read straight from its dict into a preallocated numeric
buffer and a list of categories (its types checked on the way), the batch's statistics are
merged in one vectorized pass, the network steps on the table entries without a sparse matrix
between, AdamW is torch's fused kernel, and predictions run the network in numpy
(:meth:`lifelong.models.IntentClassifier.predict_numpy`), a torch call per operation costing
more than the arithmetic on a few rows. Weights and statistics change only at an update, which is
why a prequential evaluation may predict a whole block of ``batch_size`` rows at once and get
the per-row answers, a regressor's to float32 rounding (see
:func:`lifelong.evaluation.prequential.prequential`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from lifelong.config import Pipeline, TabularSettings, Training
from lifelong.core.errors import ConfigError, DataError
from lifelong.data.schema import CATEGORICAL, NUMERIC, ColumnType
from lifelong.features import ColumnStats, TabularFeaturizer
from lifelong.features.tabular import column_stats, infer_columns, numeric_stats
from lifelong.models import IntentClassifier, build_model, remap_head
from lifelong.training.row_adam import RowAdam
from lifelong.training.trainer import sparse_parameters

Value = float | str | None

DEFAULT_PIPELINE = Pipeline(
    name="tabular",
    hidden=64,
    dropout=0.0,
    label_smoothing=0.0,
    tabular=TabularSettings(buckets=4096, dim=32),
)
"""A small network without dropout: a stream is seen once, so the regularizers of many epochs
do not pay, and without dropout the only random draws are the seeded initial weights."""

DEFAULT_TRAINING = Training(lr=0.01, sparse_lr=0.05, weight_decay=0.0)
"""Rates for steps that each see a batch once (higher than a cold training's)."""


Table = Any
"""A pandas ``DataFrame``, a pyarrow ``Table`` or a ``Mapping`` of column name to values."""


def records(table: Table) -> list[dict[str, Any]]:
    """The rows of ``table`` as dicts, in order (see :data:`Table`)."""
    if hasattr(table, "to_pylist"):  # pyarrow
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows
    if hasattr(table, "to_dict") and hasattr(table, "columns"):  # pandas
        frame_rows: list[dict[str, Any]] = table.to_dict(orient="records")
        return frame_rows
    if isinstance(table, Mapping):
        names = list(table)
        columns = zip(*table.values(), strict=True)
        return [dict(zip(names, values, strict=True)) for values in columns]
    raise DataError(
        f"cannot read rows from a {type(table).__name__}",
        hint="pass a pandas DataFrame, a pyarrow Table or a dict of columns",
    )


def _value(value: object) -> Value:
    """A feature value as the featurizer reads it: a number, a category, or missing."""
    if value is None or isinstance(value, bool | str):
        return None if value is None else str(value)
    if isinstance(value, int | float | np.number):
        number = float(value)
        return None if math.isnan(number) else number
    return str(value)


class OnlineLearner(ABC):
    """What the online classifier and regressor share: buffering, statistics, optimizer steps.

    Parameters
    ----------
    batch_size
        Rows buffered between two updates: the learner changes only every ``batch_size``
        rows (1 is a step per row, about 30 times slower per row).
    steps
        Optimizer steps on each buffer.
    forget
        Weight of the standardizing statistics' past rows at each update: 1 keeps running
        statistics over the whole stream; below 1 they weigh roughly the last
        ``batch_size / (1 - forget)`` rows, for a stream whose scale drifts.
    pipeline
        A ``tabular`` pipeline (table width and network shape).
    training
        ``lr`` (AdamW, dense weights), ``sparse_lr`` (SparseAdam, the input table) and
        ``weight_decay``; epochs, warmup and patience have no meaning on a stream.
    seed
        Seeds the initial weights (and a classifier's rows of new classes): one seed, one
        model.

    The columns are those of the first ``batch_size`` rows; a later row may leave one out (a
    missing value) but a new key is a :class:`DataError`.
    """

    def __init__(
        self,
        *,
        batch_size: int = 32,
        steps: int = 1,
        forget: float = 1.0,
        pipeline: Pipeline = DEFAULT_PIPELINE,
        training: Training = DEFAULT_TRAINING,
        seed: int = 0,
    ) -> None:
        name = type(self).__name__
        if pipeline.name != "tabular":
            raise ConfigError(
                f"{name} needs the tabular pipeline, got pipeline.name={pipeline.name!r}",
                hint="pass Pipeline(name='tabular', ...) or leave pipeline out",
            )
        if batch_size < 1 or steps < 1 or not 0.0 < forget <= 1.0:
            raise ConfigError(
                f"{name}: batch_size={batch_size} and steps={steps} must be >= 1 "
                f"and forget={forget} in (0, 1]",
                hint="batch_size=32, steps=1, forget=1.0 are the defaults",
            )
        self.batch_size = batch_size
        self.steps = steps
        self.forget = forget
        self.pipeline = pipeline
        self.training = training
        self.seed = seed
        self.featurizer: TabularFeaturizer | None = None
        self.model: IntentClassifier | None = None
        self.n_learned = 0
        self._keys: frozenset[str] = frozenset()
        self._kinds: dict[str, ColumnType] = {}  # of the first buffer's values
        self._numeric: list[str] = []
        self._categorical: list[str] = []
        self._rows: list[dict[str, Value]] = []  # the first buffer, before the columns are known
        self._raw = np.empty((0, 0), dtype=np.float64)  # later buffers: numbers...
        self._categories: list[list[str | None]] = []  # ... and categories, by column
        self._labels: list[Any] = []
        self._optimizers: list[torch.optim.Optimizer] = []

    # -- River's methods ------------------------------------------------------------------

    def learn_one(self, x: Mapping[str, object], y: Any) -> None:
        """Buffer one labeled row; every ``batch_size``-th row updates the model."""
        if self.featurizer is None:  # the first buffer: the columns are not known yet
            row = {str(k): _value(v) for k, v in x.items()}
            kinds = {k: CATEGORICAL if isinstance(v, str) else NUMERIC for k, v in row.items()}
            for key, kind in kinds.items():
                if row[key] is not None and self._kinds.get(key, kind) != kind:
                    raise self._mistyped(self._position(), key, row[key], self._kinds[key])
            label = self._check_label(y)
            self._kinds.update((k, kind) for k, kind in kinds.items() if row[k] is not None)
            self._labels.append(label)
            self._rows.append(row)
            if len(self._labels) >= self.batch_size:
                self._first_update()
            return
        numbers, categories = self._read(self._keyed(x, strict=True), self._position())
        label = self._check_label(y)
        self._raw[len(self._labels)] = numbers
        self._categories.append(categories)
        self._labels.append(label)
        if len(self._labels) >= self.batch_size:
            self._update()

    def learn_many(self, X: Table, y: Sequence[Any]) -> None:
        """:meth:`learn_one` on each row in order (the same model as the loop, exactly)."""
        rows = records(X)
        if len(rows) != len(y):
            raise DataError(
                f"learn_many: {len(rows)} rows but {len(y)} labels",
                hint="pass one label per row of X",
            )
        for x, label in zip(rows, y, strict=True):
            self.learn_one(x, label)

    @abstractmethod
    def predict_one(self, x: Mapping[str, object]) -> Any:
        """The prediction for one row."""

    @abstractmethod
    def predict_rows(self, xs: Sequence[Mapping[str, object]]) -> list[Any]:
        """:meth:`predict_one` of each row, in one forward pass (what the prequential loop
        calls)."""

    # -- internals -----------------------------------------------------------------------

    def _position(self) -> int:
        """The 1-based stream position of the row being learned."""
        return self.n_learned + len(self._labels) + 1

    def _check_label(self, y: Any) -> Any:
        """``y`` as the learner keeps it; a :class:`DataError` for a label it cannot learn."""
        return y

    def _keyed(self, x: Mapping[Any, object], *, strict: bool) -> Mapping[str, object]:
        """``x`` with string keys; with ``strict``, a :class:`DataError` naming keys the
        first buffer did not have (a prediction ignores them)."""
        if x.keys() <= self._keys:
            return x
        row = {str(k): v for k, v in x.items()}
        if strict and not row.keys() <= self._keys:
            new = sorted(row.keys() - self._keys)
            raise DataError(
                f"row {self._position()} of the stream has new feature "
                f"keys {new}: the columns were fixed by the first {self.batch_size} rows",
                hint="give every row the same keys (None marks a missing value)",
            )
        return row

    def _read(
        self, x: Mapping[str, object], position: int | None
    ) -> tuple[list[float], list[str | None]]:
        """A row's numeric values (NaN where missing) and categories (``None`` where missing)
        in the featurizer's column order, read straight from the dict: the per-row cost of an
        online learner is this loop, so it does no more than check each value's type.

        A value of the wrong type for its column (a string in a numeric column, a number in a
        categorical one) is a :class:`DataError` naming the row at ``position`` and the
        column; a prediction (``position=None``) reads it as the featurizer would (a missing
        number, or the category of its text).
        """
        numbers: list[float] = []
        for key in self._numeric:
            value = x.get(key)
            if type(value) is float:
                numbers.append(value)
            elif value is None:
                numbers.append(math.nan)
            elif isinstance(value, int | float | np.number) and not isinstance(value, bool):
                numbers.append(float(value))
            elif position is None:
                numbers.append(math.nan)
            else:
                raise self._mistyped(position, key, value, NUMERIC)
        categories: list[str | None] = []
        for key in self._categorical:
            value = _value(x.get(key))
            if isinstance(value, float) and position is not None:
                raise self._mistyped(position, key, x.get(key), CATEGORICAL)
            categories.append(value if value is None or isinstance(value, str) else str(value))
        return numbers, categories

    def _mistyped(self, position: int, key: str, value: object, kind: str) -> DataError:
        return DataError(
            f"row {position} of the stream has {value!r} in column {key!r}, which earlier "
            f"rows made {kind}",
            hint="give a column one type for the whole stream (None marks a missing value)",
        )

    def _encoded(
        self, xs: Sequence[Mapping[str, object]]
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """The table entries of rows to predict (see :meth:`TabularFeaturizer.encode`)."""
        assert self.featurizer is not None
        raw = np.empty((len(xs), len(self._numeric)), dtype=np.float64)
        categories = []
        for i, x in enumerate(xs):
            raw[i], row_categories = self._read(self._keyed(x, strict=False), None)
            categories.append(row_categories)
        return self.featurizer.encode(raw, categories)

    def _outputs(self, xs: Sequence[Mapping[str, object]]) -> np.ndarray[Any, Any] | None:
        """The network's outputs for ``xs`` (``None`` before the first update), computed in
        numpy (see :meth:`IntentClassifier.predict_numpy`)."""
        if self.model is None:
            return None
        return self.model.predict_numpy(*self._encoded(xs))

    def _first_update(self) -> None:
        """The columns and their types from the first buffer, then its update."""
        rows = self._rows
        self._rows = []
        self._keys = frozenset(k for row in rows for k in row)
        columns = [(key, kind or NUMERIC) for key, kind in infer_columns(rows)]
        self._numeric = [k for k, kind in columns if kind == NUMERIC]
        self._categorical = [k for k, kind in columns if kind == CATEGORICAL]
        self._raw = np.empty((self.batch_size, len(self._numeric)), dtype=np.float64)
        for i, row in enumerate(rows):
            self._raw[i], categories = self._read(row, self.n_learned + i + 1)
            self._categories.append(categories)
        stats = self._batch_stats()
        self.featurizer = TabularFeaturizer(self.pipeline.tabular.buckets, columns, stats)
        self._step()

    def _update(self) -> None:
        """Merge the buffer's statistics into the running ones, then its update."""
        assert self.featurizer is not None
        self.featurizer.merge_stats(self._batch_stats(), self.forget)
        self._step()

    def _batch_stats(self) -> dict[str, ColumnStats]:
        """The statistics of the buffer's columns."""
        numeric = numeric_stats(self._raw[: len(self._labels)])
        stats = dict(zip(self._numeric, numeric, strict=True))
        for j, key in enumerate(self._categorical):
            stats[key] = column_stats([row[j] for row in self._categories], CATEGORICAL)
        return stats

    def _step(self) -> None:
        """Prepare the head for the buffer's labels, take ``steps`` steps on it, empty it."""
        assert self.featurizer is not None
        labels, categories = self._labels, self._categories
        self._labels, self._categories = [], []
        self._prepare(labels)
        assert self.model is not None
        indices, weights = self.featurizer.encode(self._raw[: len(labels)], categories)
        bags, bag_weights = torch.from_numpy(indices), torch.from_numpy(weights)
        target = self._targets(labels)
        for _ in range(self.steps):
            loss = self._loss(self.model.forward_bags(bags, bag_weights), target)
            for optimizer in self._optimizers:
                optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            for optimizer in self._optimizers:
                optimizer.step()
        self.n_learned += len(labels)

    def _build(self, n_outputs: int) -> None:
        """A fresh network of ``n_outputs`` seeded by ``seed``, and its optimizers.

        It stays in training mode: predictions go through numpy, which has no dropout.
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = build_model(self.pipeline, n_outputs)
        assert isinstance(model, IntentClassifier)
        self.model = model
        self._optimizers = _optimizers(self.model, self.training)

    @abstractmethod
    def _prepare(self, labels: Sequence[Any]) -> None:
        """Before a step on a buffer with ``labels``: a network that can learn them."""

    @abstractmethod
    def _targets(self, labels: Sequence[Any]) -> torch.Tensor:
        """The loss's targets for ``labels``."""

    @abstractmethod
    def _loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The loss of one step."""


class OnlineClassifier(OnlineLearner):
    """A classifier that learns one row at a time (River's ``learn_one`` / ``predict_one``).

    Parameters are :class:`OnlineLearner`'s. Labels are any hashable values, ordered by first
    appearance; a class first seen mid-stream gets its own head row.

    Examples
    --------
    >>> model = OnlineClassifier(batch_size=2)
    >>> model.predict_one({"x": 1.0}) is None
    True
    >>> for x, y in [({"x": 0.0}, "a"), ({"x": 1.0}, "b")] * 20:
    ...     model.learn_one(x, y)
    >>> sorted(model.predict_proba_one({"x": 1.0}))
    ['a', 'b']
    """

    def __init__(
        self,
        *,
        batch_size: int = 32,
        steps: int = 1,
        forget: float = 1.0,
        pipeline: Pipeline = DEFAULT_PIPELINE,
        training: Training = DEFAULT_TRAINING,
        seed: int = 0,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            steps=steps,
            forget=forget,
            pipeline=pipeline,
            training=training,
            seed=seed,
        )
        self.classes: list[Hashable] = []
        self._index: dict[Hashable, int] = {}
        self._generator = torch.Generator().manual_seed(seed)

    def predict_proba_one(self, x: Mapping[str, object]) -> dict[Hashable, float]:
        """Probability of each class seen so far; ``{}`` before the first update."""
        return self.predict_proba_rows([x])[0]

    def predict_one(self, x: Mapping[str, object]) -> Hashable | None:
        """The most probable class; ``None`` before the first update."""
        return self.predict_rows([x])[0]

    def predict_proba_many(self, X: Table) -> list[dict[Hashable, float]]:
        """:meth:`predict_proba_one` of each row of ``X``, in one forward pass."""
        return self.predict_proba_rows(records(X))

    def predict_many(self, X: Table) -> list[Hashable | None]:
        """:meth:`predict_one` of each row of ``X``, in one forward pass."""
        return self.predict_rows(records(X))

    # -- lists of dicts (what the prequential loop calls) ---------------------------------

    def predict_proba_rows(self, xs: Sequence[Mapping[str, object]]) -> list[dict[Hashable, float]]:
        """:meth:`predict_proba_one` of each row, in one forward pass."""
        matrix = self._proba(xs)
        return [dict(zip(self.classes, map(float, p), strict=True)) for p in matrix]

    def predict_rows(self, xs: Sequence[Mapping[str, object]]) -> list[Hashable | None]:
        """:meth:`predict_one` of each row, in one forward pass."""
        if self.model is None:
            return [None] * len(xs)
        return [self.classes[int(i)] for i in self._proba(xs).argmax(axis=1)]

    # -- internals -----------------------------------------------------------------------

    def _proba(self, xs: Sequence[Mapping[str, object]]) -> np.ndarray[Any, Any]:
        logits = self._outputs(xs)
        if logits is None:
            return np.zeros((len(xs), 0))
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        proba: np.ndarray[Any, Any] = exp / exp.sum(axis=1, keepdims=True)
        return proba

    def _prepare(self, labels: Sequence[Any]) -> None:
        self._grow([y for y in labels if y not in self._index])

    def _targets(self, labels: Sequence[Any]) -> torch.Tensor:
        return torch.tensor([self._index[y] for y in labels], dtype=torch.int64)

    def _loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return functional.cross_entropy(
            outputs, targets, label_smoothing=self.pipeline.label_smoothing
        )

    def _grow(self, new: Sequence[Hashable]) -> None:
        """Add classes (first appearance order); build the network or remap its head."""
        added = list(dict.fromkeys(new))
        if not added:
            return
        old = [repr(c) for c in self.classes]
        self.classes += added
        self._index = {c: i for i, c in enumerate(self.classes)}
        if self.model is None:
            self._build(len(self.classes))
            return
        remap_head(self.model, old, [repr(c) for c in self.classes], self._generator)
        # A new head is new parameters: the optimizers start over (a rare event on a stream).
        self._optimizers = _optimizers(self.model, self.training)


class OnlineRegressor(OnlineLearner):
    """A regressor that learns one row at a time (River's ``learn_one(x, y: float)`` /
    ``predict_one(x) -> float``).

    Parameters are :class:`OnlineLearner`'s. The network learns the target standardized by
    its running mean and standard deviation (``target_stats``, merged at each update and,
    with ``forget < 1``, forgetting as the feature statistics do), so the learning rates
    behave as on a classification head whatever the target's units; a prediction is the
    output mapped back with the current statistics. A target that is not a finite number is
    a :class:`DataError` naming its row, and the row is not buffered.

    Examples
    --------
    >>> model = OnlineRegressor(batch_size=2)
    >>> model.predict_one({"x": 1.0})
    0.0
    >>> for i in range(400):
    ...     model.learn_one({"x": i % 2}, 10.0 * (i % 2))
    >>> abs(model.predict_one({"x": 1}) - 10.0) < 1.0
    True
    """

    def __init__(
        self,
        *,
        batch_size: int = 32,
        steps: int = 1,
        forget: float = 1.0,
        pipeline: Pipeline = DEFAULT_PIPELINE,
        training: Training = DEFAULT_TRAINING,
        seed: int = 0,
    ) -> None:
        super().__init__(
            batch_size=batch_size,
            steps=steps,
            forget=forget,
            pipeline=pipeline,
            training=training,
            seed=seed,
        )
        self.target_stats = ColumnStats()

    def predict_one(self, x: Mapping[str, object]) -> float:
        """The predicted target; 0.0 before the first update (as River's regressors)."""
        return self.predict_rows([x])[0]

    def predict_many(self, X: Table) -> list[float]:
        """:meth:`predict_one` of each row of ``X``, in one forward pass."""
        return self.predict_rows(records(X))

    def predict_rows(self, xs: Sequence[Mapping[str, object]]) -> list[float]:
        """:meth:`predict_one` of each row, in one forward pass (what the prequential loop
        calls)."""
        outputs = self._outputs(xs)
        if outputs is None:
            return [0.0] * len(xs)
        stats = self.target_stats
        return [float(v) * stats.std + stats.mean for v in outputs[:, 0].tolist()]

    # -- internals -----------------------------------------------------------------------

    def _check_label(self, y: Any) -> float:
        try:
            value = float(y)
        except (TypeError, ValueError):
            value = math.nan
        if isinstance(y, bool | str) or not math.isfinite(value):
            raise DataError(
                f"row {self._position()} of the stream has target {y!r}: a regressor "
                "learns finite numbers",
                hint="drop or fix the row (a missing target cannot be learned)",
            )
        return value

    def _prepare(self, labels: Sequence[Any]) -> None:
        batch = column_stats(list(labels), NUMERIC)
        if self.model is None:
            self.target_stats = batch
            self._build(1)
            return
        past = self.target_stats
        self.target_stats = (past.forget(self.forget) if self.forget < 1.0 else past).merge(batch)

    def _targets(self, labels: Sequence[Any]) -> torch.Tensor:
        stats = self.target_stats
        values = np.asarray(labels, dtype=np.float64)
        return torch.from_numpy(((values - stats.mean) / stats.std).astype(np.float32))

    def _loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return functional.mse_loss(outputs[:, 0], targets)


def _optimizers(model: nn.Module, training: Training) -> list[torch.optim.Optimizer]:
    """AdamW for the dense weights and SparseAdam for the input table, kept across updates
    (no warmup or decay: a stream has no last step to decay towards). AdamW is the fused
    kernel: one call over every tensor instead of a loop of small operations, a quarter of
    the time of an online step's few small tensors."""
    sparse = sparse_parameters(model)
    ids = {id(p) for p in sparse}
    dense = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    return [
        torch.optim.AdamW(dense, lr=training.lr, weight_decay=training.weight_decay, fused=True),
        RowAdam(sparse, lr=training.sparse_lr),  # SparseAdam's update, by row gathers
    ]
