"""River's face of lifelong: ``learn_one`` / ``predict_one`` over dicts of features.

:class:`OnlineClassifier` and :class:`OnlineRegressor` are the tabular pipeline (the
:class:`TabularFeaturizer` and the fast network of :func:`lifelong.models.build_model`) learning
from a stream, in River's convention: ``learn_one(x, y)``, ``predict_one(x)``, the classifier's
``predict_proba_one(x)``, and ``learn_many`` / ``predict_many`` (/ ``predict_proba_many``) over
a table of rows: a pandas ``DataFrame`` (read through its ``to_dict``; pandas is not a
dependency, so the answers are lists, not a ``Series``), a pyarrow ``Table`` or a dict of
columns.

A torch step per row costs about as much as a step over a few dozen rows, so the learner
buffers rows and steps every ``batch_size`` rows (mini-batch online learning): the statistics
that standardize numeric columns are merged with the buffer's (Chan's pairwise update; with
``forget < 1`` the old ones first weigh only ``forget`` of their rows, so the statistics follow
the stream's recent rows, see :meth:`ColumnStats.forget`), a class never seen before gets its
own head row by :func:`lifelong.models.remap_head` (a regressor's target statistics are merged
like a column's instead: it learns the target standardized, as a cold regression does, see
:class:`lifelong.models.objective.Regression`), then the network takes ``steps`` optimizer
steps on the buffer. Both learners share all of this in :class:`OnlineLearner` and differ only
in what a label becomes and the loss. Weights and statistics change only at an update, which is
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
from lifelong.data.schema import NUMERIC
from lifelong.features import ColumnStats, TabularFeaturizer
from lifelong.features.tabular import column_stats
from lifelong.models import build_model, remap_head
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
        self.model: nn.Module | None = None
        self.n_learned = 0
        self._keys: frozenset[str] = frozenset()
        self._rows: list[dict[str, Value]] = []
        self._labels: list[Any] = []
        self._optimizers: list[torch.optim.Optimizer] = []

    # -- River's methods ------------------------------------------------------------------

    def learn_one(self, x: Mapping[str, object], y: Any) -> None:
        """Buffer one labeled row; every ``batch_size``-th row updates the model."""
        row = {str(k): _value(v) for k, v in x.items()}
        if self._keys and not row.keys() <= self._keys:
            new = sorted(row.keys() - self._keys)
            raise DataError(
                f"row {self._position()} of the stream has new feature "
                f"keys {new}: the columns were fixed by the first {self.batch_size} rows",
                hint="give every row the same keys (None marks a missing value)",
            )
        label = self._check_label(y)
        self._rows.append(row)
        self._labels.append(label)
        if len(self._rows) >= self.batch_size:
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
        return self.n_learned + len(self._rows) + 1

    def _check_label(self, y: Any) -> Any:
        """``y`` as the learner keeps it; a :class:`DataError` for a label it cannot learn."""
        return y

    def _outputs(self, xs: Sequence[Mapping[str, object]]) -> torch.Tensor | None:
        """The network's outputs for ``xs`` (``None`` before the first update)."""
        if self.model is None or self.featurizer is None:
            return None
        rows = [{str(k): _value(v) for k, v in x.items()} for x in xs]
        self.model.eval()
        with torch.inference_mode():
            outputs: torch.Tensor = self.model(self.featurizer.transform_rows(rows))
        return outputs

    def _update(self) -> None:
        """Merge the buffer's statistics, prepare the head for its labels, step, empty it."""
        rows, labels = self._rows, self._labels
        self._rows, self._labels = [], []
        if self.featurizer is None:
            self._keys = frozenset(k for row in rows for k in row)
            self.featurizer = TabularFeaturizer(self.pipeline.tabular.buckets)
            self.featurizer.fit([self._complete(r) for r in rows])
        else:
            complete = [self._complete(r) for r in rows]
            if self.forget < 1.0:
                stats = self.featurizer.stats
                self.featurizer.stats = {k: s.forget(self.forget) for k, s in stats.items()}
            self.featurizer.fit(complete, parent=self.featurizer, merge=True)
        self._prepare(labels)
        assert self.model is not None
        features = self.featurizer.transform_rows(rows)
        target = self._targets(labels)
        self.model.train()
        for _ in range(self.steps):
            loss = self._loss(self.model(features), target)
            for optimizer in self._optimizers:
                optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            for optimizer in self._optimizers:
                optimizer.step()
        self.n_learned += len(rows)

    def _complete(self, row: Mapping[str, Value]) -> dict[str, Value]:
        """``row`` with every column's key (absent means missing), as ``fit`` reads rows."""
        return {key: row.get(key) for key in self._keys}

    def _build(self, n_outputs: int) -> None:
        """A fresh network of ``n_outputs`` seeded by ``seed``, and its optimizers."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.model = build_model(self.pipeline, n_outputs)
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
        proba: np.ndarray[Any, Any] = torch.softmax(logits, dim=1).numpy()
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
    (no warmup or decay: a stream has no last step to decay towards)."""
    sparse = sparse_parameters(model)
    ids = {id(p) for p in sparse}
    dense = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    return [
        torch.optim.AdamW(dense, lr=training.lr, weight_decay=training.weight_decay),
        torch.optim.SparseAdam(sparse, lr=training.sparse_lr),
    ]
