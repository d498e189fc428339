"""One training run: data -> snapshot -> train (cold or update) -> evaluate -> register.

Read top to bottom in :func:`train_version`. Everything that can fail on bad input (data
validation, untrainable data, an incompatible parent) fails before anything is written; the
registry is written last, in one registration, so a failed run leaves nothing half-registered.

Data-parallel runs (``lifelong train --nproc N``, torchrun) split here: rank 0 runs
:func:`train_version`, the others :func:`train_shard`, which reads the same data files (and a
fine-tune's parent, from the registry opened read-only), trains its shard in the same process
group and returns. Only rank 0 evaluates and registers, so a run registers exactly one version.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lifelong.config import Finetune
from lifelong.core.errors import ConfigError, IncompatibleModel, NotFound
from lifelong.core.hashing import sha256_text
from lifelong.core.types import Example, files_snapshot_id, snapshot_id
from lifelong.data import Dataset, Snapshot, check_trainable, diff, diff_from_labels, load_dataset
from lifelong.data.stream import (
    diff_files,
    project_source,
    scan_trainable,
    streams,
    unseen_rows,
)
from lifelong.evaluation import EvalReport, RegressionReport
from lifelong.models import ModelBundle, weights_format
from lifelong.models.onnx_transformer import ONNX_INT8
from lifelong.pipelines.judge import Scored, ScoredValues, measure
from lifelong.pipelines.memory_cap import streamed_memory
from lifelong.pipelines.session import embedding_cache, load_bundle
from lifelong.project import Project
from lifelong.registry import ModelVersion, Registry, open_registry
from lifelong.training import TrainOutcome, check_parent, train
from lifelong.training.checkpoint import Checkpointer
from lifelong.training.distributed import (
    DataParallel,
    DistContext,
    check_distributable,
    process_group,
)
from lifelong.training.stream import train_stream

LATEST = "latest"


@dataclass(frozen=True)
class TrainOptions:
    """What ``lifelong train`` was asked to do.

    ``finetune`` is ``None`` for a cold training, ``"latest"`` for the newest registered
    version (as Rasa's ``--finetune`` did), a version label or alias, or a bundle folder.
    ``resume`` starts from the latest checkpoint of the same run (same config, data and parent)
    when ``training.checkpoint_every`` left one. ``promote_after`` says the caller judges the
    version right after registering it and promotes it on a promote verdict; it is recorded
    (``training["promote_after"]``) so the next cycle can finish that work if the run is killed
    in between (see ``pipelines/resume.py``). ``distributed`` is this process's place in a
    torchrun job, ``None`` for one process.
    """

    finetune: str | None = None
    promote_after: bool = False
    epoch_fraction: float | None = None
    strict_labels: bool = False
    notes: str = ""
    progress: bool = True
    resume: bool = False
    distributed: DistContext | None = None


@dataclass(frozen=True)
class TrainResult:
    """The registered version and what happened on the way."""

    version: ModelVersion
    report: EvalReport | RegressionReport
    parent: str | None

    def summary(self) -> dict[str, Any]:
        """The JSON object ``lifelong train --json`` prints."""
        version = self.version
        return {
            "version": version.label,
            "parent": version.parent,
            "edge": version.edge,
            "snapshot": version.snapshot_id,
            "training": version.training,
            "data_diff": version.data_diff,
            "metrics": version.metrics,
            "timings": version.timings,
        }


@dataclass(frozen=True)
class _Parent:
    """The model an update starts from; ``label`` and ``snapshot_id`` are ``None`` for a model
    folder from outside the registry (whose training data is then unknown). ``labels`` maps
    the hashes of the examples it was trained on to their labels: all an update asks of them
    (``None``: unknown, or a snapshot of files, which does not list its examples)."""

    label: str | None
    bundle: ModelBundle
    snapshot_id: str | None
    labels: dict[str, str] | None
    source: str


def _newest(registry: Registry) -> ModelVersion:
    candidates = [v for v in registry.versions() if v.status == "candidate"]
    if not candidates:
        raise NotFound(
            "no model to fine-tune: the registry has no version yet",
            hint="train one from scratch first: `lifelong train`",
        )
    return max(candidates, key=lambda v: (v.created_at, v.major, v.minor))


def _folder_parent(project: Project, ref: str) -> _Parent | None:
    """The model folder ``ref`` names (a bundle's folder or a file in it), or ``None`` when
    ``ref`` is not a path that exists (then a version, an alias or ``latest``)."""
    path = Path(ref).expanduser()
    if ref == LATEST or not (path.is_dir() or path.is_file()):
        return None
    folder = path if path.is_dir() else path.parent
    bundle = ModelBundle.load(folder, cache_dir=embedding_cache(project))
    return _Parent(None, bundle, None, None, f"path {folder.resolve()}")


def _resolve_parent(project: Project, registry: Registry, ref: str) -> _Parent:
    folder = _folder_parent(project, ref)
    if folder is not None:
        return folder
    path = Path(ref).expanduser()
    try:
        version = _newest(registry) if ref == LATEST else registry.resolve(ref)
    except NotFound as error:
        if ref == LATEST:
            raise
        raise NotFound(
            f"--finetune {ref}: the path {path.resolve()} does not exist, and {error.message}",
            hint="give a model folder that exists, or a version or alias (`lifelong models "
            "list` shows them)",
        ) from None
    bundle = load_bundle(project, registry, version.label)
    if weights_format(bundle.module) == ONNX_INT8:
        raise IncompatibleModel(
            f"--finetune {ref}: version {version.label} is an int8 (ONNX Runtime) transformer, "
            "which cannot be trained",
            hint=f"fine-tune the version it was compressed from: `--finetune {version.parent}`",
        )
    if version.edge == "distill" and bundle.pipeline != project.config.pipeline:
        raise IncompatibleModel(
            f"--finetune {ref}: version {version.label} is a distilled student of "
            f"{version.parent} (the fast n-gram pipeline, no embeddings), and config.yml's "
            "pipeline is another one (its teacher's)",
            hint=f"fine-tune the teacher, then distill the result: `lifelong train --finetune "
            f"{version.parent}`, then `lifelong compress NEW --method distill`; or set "
            f"config.yml's pipeline to the student's (`lifelong models show {version.label}`)",
        )
    # a snapshot of files (a streamed training's) does not list its examples
    files = registry.store.get_snapshot(version.snapshot_id).kind == "files"
    labels = None if files else registry.get_snapshot_labels(version.snapshot_id)
    return _Parent(version.label, bundle, version.snapshot_id, labels, f"version {version.label}")


def _data_diff(
    registry: Registry,
    dataset: Dataset,
    parent: _Parent | None,
    kind: Literal["classification", "regression"],
) -> dict[str, Any]:
    """What changed since the parent's snapshot (or, for a cold run, the latest snapshot),
    summarized for the data's ``kind`` (see :meth:`lifelong.data.SnapshotDiff.summary`). Only
    the old side's examples the data no longer holds are read whole."""
    against: str | None
    if parent is not None and parent.labels is not None:
        labels, against = parent.labels, parent.label
    else:
        latest = registry.store.latest_snapshot()
        if latest is None:
            return {**diff(Snapshot(), dataset.pool).summary(kind), "against": None}
        labels, against = registry.get_snapshot_labels(latest.id), latest.id
    gone = registry.get_examples(labels.keys() - dataset.pool.examples.keys())
    changed = diff_from_labels(labels, gone, dataset.pool)
    return {**changed.summary(kind), "against": against}


def check_launch(project: Project, finetune: str | None) -> str | None:
    """``--nproc``'s check before it starts any worker: what a data-parallel run cannot do, data
    that cannot be trained and a parent that cannot be fine-tuned fail once here instead of in
    every worker, with nothing registered.

    Returns the parent every worker loads: ``--finetune``'s reference pinned to a version label
    (``latest`` or an alias can move to another version before the workers read it) or to a
    model folder's absolute path; ``None`` for a cold run.
    """
    _check_distributed(project)
    splits = load_dataset(project).splits
    check_trainable(splits, kind=project.config.columns.kind)
    if finetune is None:
        return None
    parent = _read_parent(project, finetune)
    check_parent(parent.bundle, project.config.pipeline, splits.train, embedding_cache(project))
    if parent.label is not None:
        return parent.label
    return parent.source.removeprefix("path ")


def _read_parent(project: Project, ref: str) -> _Parent:
    """:func:`_resolve_parent` for a process that writes nothing (the launcher, a rank other
    than 0): a model folder as is, a version from the registry opened read-only."""
    folder = _folder_parent(project, ref)
    if folder is not None:
        return folder
    with open_registry(project.store_url, project.artifacts_dir, read_only=True) as registry:
        return _resolve_parent(project, registry, ref)


def _check_distributed(project: Project) -> None:
    """Refuse what a data-parallel run cannot do yet, before any process starts training."""
    check_distributable(project.config.pipeline)
    if streams(project):
        raise ConfigError(
            "--nproc trains on data held in memory; a streamed training runs in one process",
            hint="set training.stream: false, or train without --nproc",
        )


def _previous(project: Project, dataset: Dataset, parent: _Parent | None) -> list[Example] | None:
    """The training examples the parent was trained on, for a new+replay update's choice of
    new data and replay; ``None`` (the parent's replay buffer) when its data is unknown or not
    retained. The same on every rank: the same snapshot, the same data files."""
    if parent is None or parent.labels is None or not project.config.retain_data:
        return None
    return [e for e in dataset.splits.train if e.hash in parent.labels]


def _fit(
    project: Project,
    dataset: Dataset,
    options: TrainOptions,
    parent: _Parent | None = None,
    previous: list[Example] | None = None,
) -> TrainOutcome:
    """Step 3 of a run: train on the data, in this process or as one rank of a torchrun job."""
    config = project.config
    finetune = _finetune(project, options)
    # checkpoints are one process's: under torchrun a resumed rank 0 would leave the others
    checkpoint = None
    if options.distributed is None:
        data_id = snapshot_id(e.hash for e in dataset.pool.sorted_examples())
        checkpoint = _checkpointer(project, options, data_id, parent)

    def fit(distributed: DataParallel | None = None) -> TrainOutcome:
        return train(
            list(dataset.splits.train),
            list(dataset.splits.valid),
            pipeline=config.pipeline,
            training=config.training,
            finetune=finetune,
            parent=None if parent is None else parent.bundle,
            previous=previous,
            cache_dir=embedding_cache(project),
            strict_labels=options.strict_labels,
            progress=options.progress,
            checkpoint=checkpoint,
            distributed=distributed,
        )

    if options.distributed is None:
        return fit()
    with process_group(options.distributed) as parallel:
        return fit(parallel)


def _load_trainable(project: Project, options: TrainOptions) -> Dataset:
    """Step 1: read, validate, split; refuse untrainable data (or a run that cannot be
    distributed) before any work."""
    config = project.config
    if options.distributed is not None:
        _check_distributed(project)
    dataset = load_dataset(project)
    check_trainable(dataset.splits, kind=config.columns.kind)
    return dataset


def train_shard(project: Project, options: TrainOptions) -> None:
    """A rank other than 0 of a torchrun job: train this process's shard, register nothing.

    A fine-tune loads the parent rank 0 loads (the launcher pinned ``options.finetune`` to a
    label or folder), sha256-checked, and its snapshot's examples, from the registry opened
    read-only; so every rank chooses the same update data and starts from the same weights.
    """
    assert options.distributed is not None, "train_shard runs in a torchrun job"
    assert not options.distributed.is_main, "rank 0 runs train_version"
    dataset = _load_trainable(project, options)
    parent = None if options.finetune is None else _read_parent(project, options.finetune)
    _fit(project, dataset, options, parent, _previous(project, dataset, parent))


def train_version(project: Project, registry: Registry, options: TrainOptions) -> TrainResult:
    """Train (cold or update), evaluate on the test split, and register the result.

    Data larger than ``training.stream_above_mb`` (or any, with ``training.stream: true``)
    is trained on as a stream, in bounded memory (:func:`_train_streamed`).
    """
    config = project.config
    if streams(project):
        return _train_streamed(project, registry, options)
    # 1. Data: read, validate, split; refuse untrainable data before any work.
    dataset = _load_trainable(project, options)
    # 2. Parent: resolved and checked (sha256, format) before training.
    parent = (
        None if options.finetune is None else _resolve_parent(project, registry, options.finetune)
    )
    # 3. Train (with the other ranks, under torchrun).
    outcome = _fit(project, dataset, options, parent, _previous(project, dataset, parent))
    # 4. Evaluate on the stable test split.
    started = time.perf_counter()
    scored = measure(outcome.bundle, list(dataset.splits.test))
    evaluate_s = time.perf_counter() - started
    # 5. Register: snapshot (content-addressed, idempotent), then the version in one go.
    data_diff = _data_diff(registry, dataset, parent, config.columns.kind)
    snapshot = registry.put_snapshot(
        dataset.pool.sorted_examples(), parent=None if parent is None else parent.snapshot_id
    )
    timings = {
        "featurize": outcome.report["timings"]["featurize_s"],
        "train": outcome.report["timings"]["train_s"],
        "train_setup": outcome.report["timings"]["setup_s"],  # included in "train"
        "evaluate": round(evaluate_s, 4),
    }
    return _register(
        project,
        registry,
        options,
        _Trained(outcome, scored, parent, snapshot.id, data_diff, dataset.splits.sizes(), timings),
    )


def _finetune(project: Project, options: TrainOptions) -> Finetune:
    finetune = project.config.finetune
    if options.epoch_fraction is not None:
        finetune = finetune.model_copy(update={"epoch_fraction": options.epoch_fraction})
    return finetune


@dataclass(frozen=True)
class _Trained:
    """What a training run made, ready to register."""

    outcome: TrainOutcome
    scored: Scored | ScoredValues
    parent: _Parent | None
    snapshot_id: str
    data_diff: dict[str, Any]
    split_sizes: dict[str, int]
    timings: dict[str, float]


def _train_streamed(project: Project, registry: Registry, options: TrainOptions) -> TrainResult:
    """:func:`train_version` on data read as a stream: the first pass checks every row before
    training (a bad row in the last file registers nothing), the snapshot records each file's
    manifest instead of its rows, the test split is the scan's bounded sample (or the
    ``test:`` files)."""
    config = project.config
    parent = (  # resolved and checked before the long first pass
        None if options.finetune is None else _resolve_parent(project, registry, options.finetune)
    )
    source, test_files = project_source(project)
    finetune = _finetune(project, options)
    with streamed_memory(config.training):  # a cap too small for one batch: a clear error
        scan = scan_trainable(project, source, finetune.replay_size)
        unseen = None  # new+replay: the rows of the files the parent's snapshot did not hold
        if parent is not None and finetune.data == "new+replay":
            sid = parent.snapshot_id
            unseen = unseen_rows(
                [] if sid is None else registry.get_snapshot_files(sid), scan.files
            )
        outcome = train_stream(
            source,
            pipeline=config.pipeline,
            training=config.training,
            finetune=finetune,
            parent=None if parent is None else parent.bundle,
            scan=scan,
            buffer_size=config.training.stream_buffer,
            cache_dir=embedding_cache(project),
            strict_labels=options.strict_labels,
            progress=options.progress,
            checkpoint=_checkpointer(project, options, files_snapshot_id(scan.files), parent),
            unseen=unseen,
        )
        started = time.perf_counter()
        test = test_files.sorted_examples() if test_files is not None else scan.test
        scored = measure(outcome.bundle, list(test))
        evaluate_s = time.perf_counter() - started
    base_id = parent.snapshot_id if parent is not None else None
    if base_id is None:
        latest = registry.store.latest_snapshot()
        base_id = None if latest is None else latest.id
    base = [] if base_id is None else registry.get_snapshot_files(base_id)
    data_diff = {**diff_files(base, scan.files), "against": base_id}
    snapshot = registry.put_file_snapshot(
        scan.files, parent=None if parent is None else parent.snapshot_id
    )
    sizes = scan.split_sizes()
    if test_files is not None:
        sizes["test"] = len(test_files)
    timings = {
        "scan": outcome.report["timings"]["scan_s"],
        "fit": outcome.report["timings"]["fit_s"],  # a table's statistics: one more pass
        "train": outcome.report["timings"]["train_s"],
        "train_setup": outcome.report["timings"]["setup_s"],  # included in "train"
        "evaluate": round(evaluate_s, 4),
    }
    trained = _Trained(outcome, scored, parent, snapshot.id, data_diff, sizes, timings)
    return _register(project, registry, options, trained)


def _checkpointer(
    project: Project, options: TrainOptions, data_id: str, parent: _Parent | None
) -> Checkpointer | None:
    """The run's checkpoints (``training.checkpoint_every``), in a folder keyed by what the run
    trains: config, data, parent and options, so a checkpoint resumes only the same run. A run
    not asked to resume starts afresh."""
    every = project.config.training.checkpoint_every
    if every == 0:
        return None
    key = sha256_text(
        json.dumps(
            {
                "config": project.config.model_dump(mode="json"),
                "data": data_id,
                "parent": None if parent is None else parent.source,
                "epoch_fraction": options.epoch_fraction,
                "strict_labels": options.strict_labels,
            },
            sort_keys=True,
        )
    )
    checkpoint = Checkpointer(checkpoints_dir(project) / key[:16], every)
    if not options.resume:
        checkpoint.clear()
    return checkpoint


def checkpoints_dir(project: Project) -> Path:
    """Where the checkpoints of the project's trainings in progress live."""
    return project.state_dir / "checkpoints"


def _register(
    project: Project, registry: Registry, options: TrainOptions, trained: _Trained
) -> TrainResult:
    """Save the bundle and register it as a version, in one registration."""
    config = project.config
    outcome, parent = trained.outcome, trained.parent
    report = trained.scored.report
    training_info = {
        **outcome.report,
        "parent_source": None if parent is None else parent.source,
        "promote_after": options.promote_after,
    }
    training_info.pop("timings", None)
    metrics = {
        **trained.scored.headline(),
        **{key: value for key, value in outcome.report.items() if key.startswith("valid_")},
        "split_sizes": trained.split_sizes,
        "test": report.to_dict(),
    }
    with tempfile.TemporaryDirectory(prefix=".tmp-bundle-", dir=project.state_dir) as tmp:
        folder = Path(tmp) / "bundle"
        outcome.bundle.save(folder, include_replay=not config.retain_data)
        version = registry.register(
            folder,
            snapshot_id=trained.snapshot_id,
            config=config.model_dump(mode="json"),
            parent=None if parent is None else parent.label,
            edge=None if parent is None or parent.label is None else "finetune",
            data_diff=trained.data_diff,
            metrics=metrics,
            timings=trained.timings,
            training=training_info,
            notes=options.notes,
        )
    # registered: no run left to resume (checkpoints of other, abandoned runs go too)
    shutil.rmtree(checkpoints_dir(project), ignore_errors=True)
    return TrainResult(
        version=version, report=report, parent=None if parent is None else parent.label
    )
