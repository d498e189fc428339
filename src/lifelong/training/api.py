"""``train()``: the one call the pipelines make to train cold or update a parent model.

Top to bottom: check the parent against the config (before any work), choose the data
(``all`` or new examples plus replay), plan the labels, featurize once, build a fresh network,
start it from the parent through an init strategy (after head surgery), fit, and wrap the result
in a :class:`~lifelong.models.ModelBundle` with a JSON-safe report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from lifelong.compression.storage import compact_table, trained_rows
from lifelong.config import Finetune, Pipeline, Training
from lifelong.core.errors import DataError, IncompatibleModel
from lifelong.core.seed import set_seed
from lifelong.core.types import Example
from lifelong.data.schema import parse_row
from lifelong.features import Features, Featurizer, TabularFeaturizer, make_featurizer
from lifelong.models import (
    FEATURIZER_STATE,
    BundleSpec,
    ModelBundle,
    build_model,
    described,
    head_inputs,
    imprint_rows,
    remap_head,
    trainable_copy,
    weights_format,
)
from lifelong.models.objective import (
    REGRESSION_OUTPUT,
    TARGET_STATS,
    TEMPERATURE,
    Classification,
    Regression,
    is_regression,
)
from lifelong.training.calibrate import Temperature, calibrated
from lifelong.training.checkpoint import Checkpointer
from lifelong.training.compat import LabelPlan, check_compatible, inherited_pipeline, plan_labels
from lifelong.training.distributed import DataParallel
from lifelong.training.init import make_strategy
from lifelong.training.regularizers import Teacher, make_regularizers
from lifelong.training.replay import replay_sample
from lifelong.training.trainer import FitResult, Penalty, Trainer


@dataclass(frozen=True)
class TrainOutcome:
    """The trained bundle and a JSON-safe report of how it was made.

    ``report`` keys: ``kind`` (train | finetune), ``init`` (strategy and its params),
    ``labels_added``, ``labels_removed``, ``n_labels``, ``data``, ``n_train``, ``n_valid``,
    ``n_replay``, ``regularizers`` (name -> params), ``epochs``, ``lr_scale``, ``epochs_run``,
    ``best_epoch``, ``valid_accuracy``, ``history``, ``seed``, ``timings`` (``featurize_s``,
    ``train_s``, and ``setup_s``: the part of ``train_s`` spent building the optimizers, which
    in a fresh process imports torch._dynamo).
    """

    bundle: ModelBundle
    report: dict[str, Any]


def update_epochs(training: Training, finetune: Finetune, *, adds_intents: bool = False) -> int:
    """Epochs of an update: ``finetune.epochs`` if set, else a fraction of a cold run's.

    A cold-start update trains as long as a cold training. An update that adds intents uses
    ``finetune.new_intents.epoch_fraction`` when that is set.
    """
    if finetune.epochs is not None:
        return finetune.epochs
    if finetune.init == "cold":
        return training.epochs
    fraction = finetune.epoch_fraction
    if adds_intents and finetune.new_intents.epoch_fraction is not None:
        fraction = finetune.new_intents.epoch_fraction
    return max(1, math.ceil(training.epochs * fraction))


def oversampled_rows(
    labels: NDArray[np.int64], rows: Sequence[int], factor: int
) -> NDArray[np.int64]:
    """Training row indices with the examples of the head ``rows`` repeated ``factor`` times.

    Every example appears once; those of the given intents ``factor - 1`` more times, so each
    epoch shows them as often as ``factor`` epochs would. The order is shuffled by the trainer.

    >>> oversampled_rows(np.array([0, 1, 0, 2]), [2], 3).tolist()
    [0, 1, 2, 3, 3, 3]
    """
    extra = np.flatnonzero(np.isin(labels, list(rows)))
    return np.concatenate([np.arange(len(labels)), np.repeat(extra, factor - 1)]).astype(np.int64)


def _update_data(
    train: Sequence[Example],
    previous: Sequence[Example],
    finetune: Finetune,
    seed: int,
    balanced: bool,
) -> tuple[list[Example], int]:
    """Examples an update trains on, and how many of them are replayed old ones."""
    if finetune.data == "all":
        return list(train), 0
    seen = {e.hash for e in previous}
    new = [e for e in train if e.hash not in seen]
    replayed = replay_sample(previous, finetune.replay_size, seed, balanced=balanced)
    return new + replayed, len(replayed)


def _imprint(
    model: nn.Module,
    features: Features,
    labels: NDArray[np.int64],
    new_rows: Sequence[int],
    old_rows: Sequence[int],
) -> list[int]:
    """Imprint each new intent's head row from its training examples; the rows imprinted."""
    inputs = head_inputs(model, features)
    means = {
        row: inputs[torch.from_numpy(labels == row)].mean(dim=0)
        for row in new_rows
        if bool((labels == row).any())
    }
    imprint_rows(model, means, inputs.mean(dim=0), old_rows)
    return list(means)


def _fit_table(
    featurizer: TabularFeaturizer,
    examples: Sequence[Example],
    n_replay: int,
    parent: ModelBundle | None,
    finetune: Finetune,
) -> None:
    """Learn the columns and statistics of the training rows.

    An update on all the data counts every row afresh; one on new rows plus replay adds the
    new rows (not the replayed ones, already counted) to the parent's statistics.
    """
    merge = parent is not None and finetune.data == "new+replay"
    fresh = examples[: len(examples) - n_replay] if merge else examples
    featurizer.fit([parse_row(e.text) for e in fresh], tabular_parent(parent), merge=merge)


def tabular_parent(parent: ModelBundle | None) -> TabularFeaturizer | None:
    """The featurizer of the parent a tabular training updates (``None`` for a cold run).

    Raises
    ------
    IncompatibleModel
        The parent is a text model.
    """
    table = parent.featurizer if parent is not None else None
    if table is not None and not isinstance(table, TabularFeaturizer):
        raise IncompatibleModel(
            "the parent model is a text model; a tabular project cannot fine-tune it",
            hint="train a new model from scratch: `lifelong train` (without --finetune)",
        )
    return table


def check_parent(
    parent: ModelBundle,
    pipeline: Pipeline,
    train_rows: Sequence[Example],
    cache_dir: Path | None = None,
) -> None:
    """Refuse a parent :func:`train` could not fine-tune into ``pipeline`` on ``train_rows``
    (the training split), without training.

    For a launcher that checks once before it starts N processes that would each fail (``lifelong
    train --nproc --finetune``). A tabular parent's columns are known against the data's once a
    featurizer is fitted to its rows: the check fits one, as training would.

    Raises
    ------
    IncompatibleModel
        The parent's bundle format, pipeline or featurizer differ from what ``pipeline`` builds,
        or a tabular parent's columns from the data's.
    """
    pipeline, _ = inherited_pipeline(pipeline, parent.spec)
    featurizer = make_featurizer(pipeline, cache_dir)
    if isinstance(featurizer, TabularFeaturizer):
        featurizer.fit([parse_row(e.text) for e in train_rows], tabular_parent(parent))
        check_compatible(parent.spec, pipeline, parent.spec.featurizer)
    else:
        check_compatible(parent.spec, pipeline, featurizer.spec())


def featurizer_state(featurizer: object) -> dict[str, Any]:
    """What a bundle's meta records of a featurizer's fitted state (a tabular one's column
    statistics; nothing for the others)."""
    if isinstance(featurizer, TabularFeaturizer):
        return {FEATURIZER_STATE: featurizer.state()}
    return {}


def plan_outputs(
    parent: Sequence[str], labels: Sequence[str], regression: bool, strict: bool
) -> LabelPlan:
    """The outputs of the network: the classes of ``labels`` (grown or shrunk from the
    parent's), or the one output of a regression."""
    if regression:
        return LabelPlan([REGRESSION_OUTPUT], [], [])
    return plan_labels(parent, labels, strict=strict)


def objective_for(
    pipeline: Pipeline, parent: ModelBundle | None, fitted: Callable[[], Regression]
) -> Classification | Regression:
    """The training objective. A regression update keeps its parent's target scaling: the
    warm-started output means what it meant to the parent; a cold one is ``fitted()`` to the
    training targets."""
    if not is_regression(pipeline):
        return Classification(pipeline.label_smoothing)
    if parent is not None and TARGET_STATS in parent.spec.meta:
        return Regression(**parent.spec.meta[TARGET_STATS])
    return fitted()


def _fitted_target(examples: Sequence[Example]) -> Regression:
    try:
        return Regression.fitted([e.label for e in examples])
    except ValueError:
        raise DataError(
            "a regression target is not a number in the training data",
            hint="check columns.target and columns.kind in config.yml",
        ) from None


def train(
    train: Sequence[Example],
    valid: Sequence[Example],
    *,
    pipeline: Pipeline,
    training: Training,
    finetune: Finetune | None = None,
    parent: ModelBundle | None = None,
    previous: Sequence[Example] | None = None,
    epochs: int | None = None,
    cache_dir: Path | None = None,
    strict_labels: bool = False,
    progress: bool = True,
    checkpoint: Checkpointer | None = None,
    distributed: DataParallel | None = None,
    teacher: Teacher | None = None,
) -> TrainOutcome:
    """Train a model cold, or update ``parent`` on new data.

    Parameters
    ----------
    train, valid
        Training examples (all current ones) and validation examples (early stopping).
    pipeline, training
        Config sections; ``training`` also holds the seed.
    finetune
        How an update starts and which data it sees; defaults to ``Finetune()``. Used only with
        a ``parent``, except ``replay_size``, which sizes the bundle's replay buffer.
    parent
        The model to update; ``None`` trains cold.
    previous
        Examples the parent was trained on, for ``finetune.data == "new+replay"``: the update
        trains on the examples of ``train`` not in ``previous`` plus a class-balanced replay
        sample of ``previous``. Defaults to the parent's replay buffer.
    epochs
        Explicit epoch count; otherwise ``training.epochs`` for a cold run and
        :func:`update_epochs` for an update.
    cache_dir
        Sentence-embedding cache folder (see :func:`~lifelong.features.make_featurizer`).
    strict_labels
        Refuse an update whose intents differ from the parent's instead of growing or
        shrinking its head.
    progress
        Show progress bars.
    checkpoint
        Save the run's state every ``checkpoint.every`` steps, and resume from the latest
        checkpoint there is (see :mod:`lifelong.training.checkpoint`); not with
        ``distributed``.
    distributed
        Train data-parallel under torchrun (see :mod:`lifelong.training.distributed`): this
        process fits on its hash shard of the training examples; the returned model is the
        same on every rank.
    teacher
        Train cold to match this teacher's softened outputs on ``train`` (a row of logits per
        example, in order) as well as the labels; not with a ``parent`` or ``distributed``.

    Raises
    ------
    IncompatibleModel
        The parent's featurizer or architecture differs from ``pipeline``, or labels changed
        with ``strict_labels``.
    DataError
        No training examples.
    """
    finetune = finetune or Finetune()
    pipeline, carried = inherited_pipeline(pipeline, None if parent is None else parent.spec)
    if teacher is not None and (parent is not None or distributed is not None):
        raise ValueError("a student learns from its teacher cold and in one process")
    featurizer = make_featurizer(pipeline, cache_dir)
    regression = is_regression(pipeline)
    if parent is not None:
        if not isinstance(featurizer, TabularFeaturizer):  # it knows its columns once fitted
            check_compatible(parent.spec, pipeline, featurizer.spec())
        old = parent.replay if previous is None else previous
        examples, n_replay = _update_data(train, old, finetune, training.seed, not regression)
        plan = plan_outputs(parent.labels, [e.label for e in examples], regression, strict_labels)
        n_epochs = epochs or update_epochs(training, finetune, adds_intents=bool(plan.added))
        buffer_source = [*old, *examples] if finetune.data == "new+replay" else examples
    else:
        examples, n_replay = list(train), 0
        plan = plan_outputs([], [e.label for e in examples], regression, False)
        n_epochs = epochs or training.epochs
        buffer_source = examples
    if not examples:
        raise DataError("no training examples", hint="add labeled data, then train again")
    if isinstance(featurizer, TabularFeaturizer):
        _fit_table(featurizer, examples, n_replay, parent, finetune)
    if parent is not None:
        check_compatible(parent.spec, pipeline, featurizer.spec())
    objective = objective_for(pipeline, parent, lambda: _fitted_target(examples))

    started = time.perf_counter()
    features = featurizer.transform([e.text for e in [*examples, *valid]])
    featurize_s = time.perf_counter() - started
    n = len(examples)
    train_features = features.rows(np.arange(n))
    every_train_feature = train_features  # all ranks' rows: what compact storage keeps
    valid_features = features.rows(np.arange(n, n + len(valid)))

    def fresh() -> nn.Module:
        set_seed(training.seed)  # the same fresh network wherever it is built
        return build_model(pipeline, len(plan.labels))

    strategy_name, strategy_params = "cold", {}
    train_labels = objective.targets([e.label for e in examples], plan.labels).numpy()
    new_rows = [plan.labels.index(label) for label in plan.added] if parent is not None else []
    new_intents = finetune.new_intents
    factor = max(1, math.ceil(training.epochs / n_epochs)) if new_intents.oversample else 1
    unique_features, unique_labels = train_features, train_labels
    rows = np.arange(n, dtype=np.int64)
    if new_rows and factor > 1:
        rows = oversampled_rows(train_labels, new_rows, factor)
    if distributed is not None:
        # this rank's disjoint part, sharded after oversampling: a new intent's copies stay on
        # their example's rank, and every shard is padded to one length (equal steps)
        rows = rows[distributed.shard([examples[i].hash for i in rows])]
    if distributed is not None or len(rows) > n:
        train_features, train_labels = train_features.rows(rows), train_labels[rows]
    imprinted: list[str] = []
    penalties: list[Penalty] = []
    regularized: dict[str, Any] = {}
    if parent is not None:
        generator = torch.Generator().manual_seed(training.seed)
        warm = trainable_copy(parent.module)  # a compact parent's table, full fp32 again
        remap_head(warm, parent.labels, plan.labels, generator)
        # regularizers read the parent before an init strategy changes it in place
        known = set(parent.labels)
        old_rows = [i for i, label in enumerate(plan.labels) if label in known]
        for regularizer in make_regularizers(finetune):
            penalties.append(regularizer.prepare(warm, train_features, old_rows, train_labels))
            regularized[regularizer.name] = regularizer.params()
        strategy = make_strategy(finetune)
        model = strategy.apply(warm, fresh, generator)
        strategy_name, strategy_params = strategy.name, strategy.params()
        if new_rows and new_intents.imprint:
            rows_set = _imprint(model, unique_features, unique_labels, new_rows, old_rows)
            imprinted = [plan.labels[row] for row in rows_set]
    else:
        model = fresh()
    if teacher is not None:
        penalties.append(teacher.penalty(plan.labels))
        regularized[teacher.distillation.name] = teacher.distillation.params()

    # a cold-start update trains as a cold training does
    scale = 1.0 if parent is None or finetune.init == "cold" else finetune.lr_scale
    batch = training.batch_size if distributed is None else distributed.rank_batch(training)
    trainer = Trainer(
        training.model_copy(
            update={
                "lr": training.lr * scale,
                "sparse_lr": training.sparse_lr * scale,
                "batch_size": batch,
            }
        ),
        objective=objective,
        dense_lr=pipeline.transformer.lr * scale if pipeline.name == "transformer" else None,
        progress=progress,
    )
    valid_targets = objective.targets([e.label for e in valid], plan.labels)
    fit = trainer.fit(
        model,
        train_features,
        torch.from_numpy(train_labels),
        (valid_features, valid_targets),
        epochs=n_epochs,
        penalties=penalties,
        checkpoint=checkpoint,
        distributed=distributed,
    )
    model.eval()
    if pipeline.name == "fast" and pipeline.ngrams.storage == "compact":
        kept = trained_rows(every_train_feature, None if parent is None else parent.module)
        if kept is not None:
            model = compact_table(model, kept)
    temperature = calibrated(model, objective, training, valid_features, valid_targets)
    init = {"strategy": strategy_name, **strategy_params}
    report: dict[str, Any] = {
        "kind": "train" if parent is None else "finetune",
        "init": init,
        "labels_added": plan.added,
        "labels_removed": plan.removed,
        "n_labels": len(plan.labels),
        "data": "all" if parent is None else finetune.data,
        "n_train": n,
        "n_valid": len(valid),
        "n_replay": n_replay,
        "regularizers": regularized,
        "new_intents": {
            "oversampled": factor if new_rows and factor > 1 else 1,
            "imprinted": imprinted,
        },
        "epochs": n_epochs,
        "lr_scale": scale,
        **fit.to_dict(),
        "seed": training.seed,
        "weights_format": weights_format(model),
        **({} if temperature is None else {"calibration": temperature.to_dict()}),
        **({} if distributed is None else {"distributed": distributed.summary()}),
        "timings": {
            "featurize_s": round(featurize_s, 4),
            "train_s": round(fit.train_seconds, 4),
            "setup_s": round(fit.setup_seconds, 4),
        },
    }
    spec = trained_spec(
        pipeline,
        plan.labels,
        featurizer,
        model,
        objective,
        init,
        fit,
        training.seed,
        temperature,
        carried,
    )
    replay = replay_sample(
        buffer_source, finetune.replay_size, training.seed, balanced=not regression
    )
    return TrainOutcome(ModelBundle(spec, model, featurizer, replay), report)


def trained_spec(
    pipeline: Pipeline,
    labels: list[str],
    featurizer: Featurizer,
    model: nn.Module,
    objective: Classification | Regression,
    init: dict[str, Any],
    fit: FitResult,
    seed: int,
    temperature: Temperature | None,
    carried: dict[str, Any],
) -> BundleSpec:
    """The spec of a network a training just made (in memory or streamed): its pipeline,
    output labels and featurizer, and in ``meta`` how it was started (``init``), the epochs
    it ran, its seed, the featurizer's fitted state, a regression's target scaling, the
    fitted temperature and what it ``carried`` over from its parent."""
    scaling = {TARGET_STATS: objective.to_dict()} if isinstance(objective, Regression) else {}
    meta = {
        "init": init,
        "epochs_run": fit.epochs_run,
        "seed": seed,
        **featurizer_state(featurizer),
        **scaling,
        **({} if temperature is None else {TEMPERATURE: temperature.value}),
        **carried,
    }
    spec = BundleSpec(
        pipeline=pipeline.model_dump(mode="json"),
        labels=labels,
        featurizer=featurizer.spec(),
        meta=meta,
    )
    return described(spec, model)
