"""Training on data larger than memory (texts or a tabular project's rows), in bounded memory.

:func:`train_stream` is :func:`~lifelong.training.train` for a
:class:`~lifelong.data.stream.StreamSource`: a first pass checks every row and counts labels
(:meth:`~lifelong.data.stream.StreamSource.scan`), so the network's outputs and the learning-rate
schedule are known before the first step; a tabular featurizer's column statistics (and a
regression target's mean and spread) are then fitted by one more pass over the training split,
a chunk at a time (:meth:`~lifelong.features.TabularFeaturizer.fit_chunks`); then each epoch is
one pass over the files. Examples pass through a bounded shuffle buffer, are featurized a block
of batches at a time and trained batch by batch, so memory holds the buffer, one block's
features and the model, whatever the data's size. Validation uses the scan's bounded valid
sample.

Fed the same data in memory, a streamed training differs only in the order of examples (a
buffer shuffle, not a full permutation); the tests bound the accuracy difference.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray
from torch import nn

from lifelong.compression.storage import compact_table, kept_rows
from lifelong.config import Finetune, Pipeline, Training
from lifelong.core.errors import ConfigError, DataError
from lifelong.core.seed import set_seed
from lifelong.core.types import Example
from lifelong.data.schema import NUMERIC, parse_row
from lifelong.data.stream import Scan, StreamSource, chunked, read_ahead, shuffled
from lifelong.features import Featurizer, TabularFeaturizer, make_featurizer
from lifelong.features.tabular import ColumnStats, column_stats
from lifelong.models import (
    ModelBundle,
    build_model,
    remap_head,
    trainable_copy,
    weights_format,
)
from lifelong.models.objective import (
    Classification,
    Regression,
    is_regression,
)
from lifelong.training.api import (
    TrainOutcome,
    objective_for,
    plan_outputs,
    tabular_parent,
    trained_spec,
    update_epochs,
)
from lifelong.training.calibrate import calibrated
from lifelong.training.checkpoint import Checkpointer
from lifelong.training.compat import check_compatible, inherited_pipeline
from lifelong.training.init import make_strategy
from lifelong.training.regularizers import Distillation, make_regularizers
from lifelong.training.trainer import Batch, Penalty, Trainer

BLOCK_BATCHES = 16
"""Batches featurized in one call: the featurizer's per-call cost is amortized over a block."""
AHEAD_BATCHES = BLOCK_BATCHES
"""Batches read and featurized ahead of the training step, by a thread (one block)."""


def spare_core() -> bool:
    """Whether torch's intra-op threads leave a core for the read-ahead thread.

    With one torch thread on 2 shared cores the read-ahead made a streamed pass 1.32x faster at
    load 8 and 0.98x at load 5.5; with two torch threads it only competed with them, 0.76-0.79x
    (``bench/RESULTS.md``, "Throughput floor"), so the batches are then made between steps.
    """
    return torch.get_num_threads() < (os.cpu_count() or 1)


@dataclass
class StreamBatches:
    """Batches of a stream's training split, shuffled through a bounded buffer each epoch."""

    examples: Callable[[], Iterator[Example]]
    """The training examples of one epoch, in file order (read again for every epoch)."""
    featurizer: Featurizer
    objective: Classification | Regression
    classes: list[str]
    n_train: int
    batch_size: int
    buffer_size: int
    touched: NDArray[np.bool_] | None = None
    """Which buckets of the n-gram table the batches touched (the rows compact storage
    keeps): one flag per bucket, so bounded by the table, not the data."""

    def steps(self) -> int:
        return math.ceil(self.n_train / self.batch_size)

    def epoch(self, generator: torch.Generator, skip: int = 0) -> Iterator[Batch]:
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        batches = self._batches(rng, skip)
        return read_ahead(batches, AHEAD_BATCHES) if spare_core() else batches

    def _batches(self, rng: np.random.Generator, skip: int) -> Iterator[Batch]:
        """The epoch's batches in the order ``rng`` draws (made in the read-ahead thread if
        there is a spare core)."""
        order = shuffled(self.examples(), self.buffer_size, rng)
        # batches a resumed run already trained: read and drawn again, not featurized
        order = itertools.islice(order, skip * self.batch_size, None)
        for block in chunked(order, self.batch_size * BLOCK_BATCHES):
            features = self.featurizer.transform([e.text for e in block])
            if features.sparse is not None:
                self.touched = _mark(self.touched, features.sparse)
            targets = self.objective.targets([e.label for e in block], self.classes)
            for start in range(0, len(block), self.batch_size):
                index = np.arange(start, min(start + self.batch_size, len(block)))
                yield None, features.rows(index), targets[start : start + self.batch_size]


def _mark(touched: NDArray[np.bool_] | None, sparse: sp.csr_matrix) -> NDArray[np.bool_]:
    """``touched`` with the buckets of ``sparse``'s n-grams set (created at the first call)."""
    if touched is None:
        touched = np.zeros(sparse.shape[1], dtype=bool)
    touched[sparse.indices] = True
    return touched


def _fit_table(
    featurizer: TabularFeaturizer,
    source: StreamSource,
    parent: ModelBundle | None,
    regression: bool,
) -> ColumnStats:
    """Fit ``featurizer`` on the stream's training rows a chunk at a time (columns checked
    against the parent's, statistics of every row afresh, as an update on all the data does in
    memory); for a regression, the statistics of its targets, found on the same pass."""
    target = ColumnStats()

    def rows() -> Iterator[list[dict[str, float | str | None]]]:
        nonlocal target
        for chunk in chunked(source.train_examples(), source.chunk_rows):
            if regression:  # the labels are numbers, checked by the scan
                target = target.merge(column_stats([float(e.label) for e in chunk], NUMERIC))
            yield [parse_row(e.text) for e in chunk]

    featurizer.fit_chunks(rows(), tabular_parent(parent))
    return target


def unseen_train(source: StreamSource, scan: Scan, unseen: Mapping[str, int]) -> int:
    """Training examples among the ``unseen`` rows (the schedule's steps of a new+replay
    update): a file unseen from its first row (added, or changed in place) counts its
    manifest's, so only a grown file is read again, to count the training rows of its tail."""
    manifests = {manifest.path: manifest for manifest in scan.files}
    total = 0
    for path in source.files:
        name = source.name(path)
        if name not in unseen:
            continue
        if unseen[name] == 0:
            total += manifests[name].splits.get("train", 0)
        else:
            total += sum(1 for _ in source.train_examples({name: unseen[name]}))
    return total


def _regularizers(
    finetune: Finetune,
    parent: ModelBundle,
    warm: nn.Module,
    labels: list[str],
    featurizer: Featurizer,
    objective: Classification | Regression,
    replay: list[Example],
) -> tuple[list[Penalty], dict[str, Any]]:
    """The penalties ``finetune`` turns on for a streamed update of ``parent`` (``warm``: its
    trainable copy after head surgery, output rows ``labels``), and their record.

    LwF reads the parent's outputs on each batch (:meth:`Distillation.per_batch`: a stream's
    rows are never all at hand to be scored once before training); EWC estimates its Fisher
    information on the scan's replay sample, a uniform sample of the training split (in
    memory: the training rows of old labels).
    """
    penalties: list[Penalty] = []
    regularized: dict[str, Any] = {}
    known = {label: i for i, label in enumerate(parent.labels)}
    mine = [i for i, label in enumerate(labels) if label in known]
    regression = isinstance(objective, Regression)
    for regularizer in make_regularizers(finetune):
        if isinstance(regularizer, Distillation):
            theirs = [0] if regression else [known[labels[i]] for i in mine]
            penalty = regularizer.per_batch(
                parent.module, theirs, [0] if regression else mine, regression=regression
            )
        else:
            sample = featurizer.transform([e.text for e in replay])
            targets = objective.targets([e.label for e in replay], labels).numpy()
            penalty = regularizer.prepare(warm, sample, mine, targets)
        penalties.append(penalty)
        regularized[regularizer.name] = regularizer.params()
    return penalties, regularized


def _refuse_unsupported(finetune: Finetune, update: bool, knows_new: bool) -> None:
    if update and finetune.data == "new+replay" and not knows_new:
        raise ConfigError(
            "finetune.data: new+replay needs to know which rows the parent did not see; pass "
            "the unseen rows of the stream (lifelong.data.stream.unseen_rows)",
            hint="set finetune.data: all, or training.stream: false",
        )
    if update and finetune.ewc.weight > 0 and finetune.replay_size == 0:
        raise ConfigError(
            "finetune.ewc on a stream estimates the parent's Fisher information on the scan's "
            "replay sample, and finetune.replay_size is 0",
            hint="set finetune.replay_size above 0 (e.g. 512), or finetune.ewc.weight: 0",
        )


def train_stream(
    source: StreamSource,
    *,
    pipeline: Pipeline,
    training: Training,
    finetune: Finetune | None = None,
    parent: ModelBundle | None = None,
    scan: Scan | None = None,
    buffer_size: int = 50_000,
    epochs: int | None = None,
    cache_dir: Path | None = None,
    strict_labels: bool = False,
    progress: bool = True,
    checkpoint: Checkpointer | None = None,
    unseen: Mapping[str, int] | None = None,
) -> TrainOutcome:
    """Train a model cold, or update ``parent``, on every training example of ``source``.

    An update starts from the parent through ``finetune.init`` (warm start, shrink and
    perturb...) and trains on all the data; with ``finetune.data: new+replay`` it trains on
    the rows the parent did not see, ``unseen`` (by file, see
    :func:`~lifelong.data.stream.unseen_rows`: the caller knows the parent's files), plus the
    scan's replay sample (a uniform sample of the whole training split, so not class-balanced
    as in memory, and it may hold a few of the new rows). ``epochs`` defaults as for
    :func:`~lifelong.training.train`. ``scan`` is the source's
    first pass when the caller already made it (with ``finetune.replay_size`` replay
    examples: the bundle's replay buffer is the scan's uniform sample of the training split).
    ``checkpoint`` as for :func:`~lifelong.training.train`: a resumed streamed run reads the
    epoch's batches it already trained again but does not train them again.

    Raises
    ------
    ConfigError
        An update with ``finetune.data: new+replay`` and no ``unseen``, or with
        ``finetune.ewc`` and no replay sample (``finetune.replay_size: 0``).
    IncompatibleModel
        The parent's featurizer or architecture differs from ``pipeline`` (a tabular parent:
        its columns differ from the data's), or (with ``strict_labels``) the intents differ
        from the parent's.
    DataError
        No training examples.
    ValidationFailed
        A bad row in any file (found by the scan, before training).
    """
    finetune = finetune or Finetune()
    pipeline, carried = inherited_pipeline(pipeline, None if parent is None else parent.spec)
    _refuse_unsupported(finetune, update=parent is not None, knows_new=unseen is not None)
    featurizer = make_featurizer(pipeline, cache_dir)
    table = featurizer if isinstance(featurizer, TabularFeaturizer) else None
    if parent is not None and table is None:  # a table knows its columns once fitted
        check_compatible(parent.spec, pipeline, featurizer.spec())
    scan_started = time.perf_counter()
    scan = scan or source.scan(finetune.replay_size)
    scan_s = time.perf_counter() - scan_started
    if scan.n_train == 0:
        raise DataError("no training examples", hint="add labeled data, then train again")
    regression = is_regression(pipeline)
    plan = plan_outputs(
        parent.labels if parent else [], sorted(scan.train_labels), regression, strict_labels
    )
    fit_started = time.perf_counter()
    target = ColumnStats()
    if table is not None:
        target = _fit_table(table, source, parent, regression)
        if parent is not None:
            check_compatible(parent.spec, pipeline, table.spec())
    fit_s = time.perf_counter() - fit_started
    objective = objective_for(pipeline, parent, lambda: Regression(target.mean, target.std))

    def fresh() -> nn.Module:
        set_seed(training.seed)
        return build_model(pipeline, len(plan.labels))

    init: dict[str, Any] = {"strategy": "cold"}
    scale = 1.0
    penalties: list[Penalty] = []
    regularized: dict[str, Any] = {}
    if parent is None:
        model, n_epochs = fresh(), epochs or training.epochs
    else:
        generator = torch.Generator().manual_seed(training.seed)
        warm = trainable_copy(parent.module)
        remap_head(warm, parent.labels, plan.labels, generator)
        # regularizers read the parent before an init strategy changes it in place
        penalties, regularized = _regularizers(
            finetune, parent, warm, plan.labels, featurizer, objective, scan.replay
        )
        strategy = make_strategy(finetune)
        model = strategy.apply(warm, fresh, generator)
        init = {"strategy": strategy.name, **strategy.params()}
        n_epochs = epochs or update_epochs(training, finetune, adds_intents=bool(plan.added))
        scale = 1.0 if finetune.init == "cold" else finetune.lr_scale
    replay = parent is not None and finetune.data == "new+replay" and unseen is not None

    def examples() -> Iterator[Example]:
        if replay:
            return itertools.chain(source.train_examples(unseen), scan.replay)
        return source.train_examples()

    n_train = scan.n_train
    if replay and unseen is not None:
        n_train = unseen_train(source, scan, unseen) + len(scan.replay)
    batches = StreamBatches(
        examples,
        featurizer,
        objective,
        plan.labels,
        n_train,
        training.batch_size,
        buffer_size,
    )
    valid = (
        featurizer.transform([e.text for e in scan.valid]),
        objective.targets([e.label for e in scan.valid], plan.labels),
    )
    trainer = Trainer(
        training.model_copy(
            update={"lr": training.lr * scale, "sparse_lr": training.sparse_lr * scale}
        ),
        objective=objective,
        progress=progress,
    )
    fit = trainer.fit_batches(
        model, batches, valid, epochs=n_epochs, penalties=penalties, checkpoint=checkpoint
    )
    model.eval()
    if pipeline.name == "fast" and pipeline.ngrams.storage == "compact":
        touched = batches.touched
        if fit.resumed_from_step is not None:
            # the batches trained before the resume were not featurized again: ask the data
            for block in chunked(examples(), 4096):
                sparse = featurizer.transform([e.text for e in block]).sparse
                touched = touched if sparse is None else _mark(touched, sparse)
        rows = np.zeros(0, dtype=np.int64) if touched is None else np.flatnonzero(touched)
        kept = kept_rows(rows, None if parent is None else parent.module)
        if kept is not None:
            model = compact_table(model, kept)
    temperature = calibrated(model, objective, training, *valid)
    report: dict[str, Any] = {
        "kind": "train" if parent is None else "finetune",
        "init": init,
        "labels_added": plan.added,
        "labels_removed": plan.removed,
        "n_labels": len(plan.labels),
        "data": "stream",
        "n_train": n_train,
        **({"n_replay": len(scan.replay)} if replay else {}),
        "n_valid": len(scan.valid),
        "files": [manifest.to_dict() for manifest in scan.files],
        "regularizers": regularized,
        "epochs": n_epochs,
        "lr_scale": scale,
        **fit.to_dict(),
        "seed": training.seed,
        "weights_format": weights_format(model),
        **({} if temperature is None else {"calibration": temperature.to_dict()}),
        "timings": {
            "scan_s": round(scan_s, 4),
            "fit_s": round(fit_s, 4),
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
    return TrainOutcome(ModelBundle(spec, model, featurizer, scan.replay), report)
