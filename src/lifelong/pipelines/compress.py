"""``lifelong compress VERSION --method M``: a smaller model, registered as a version of its own.

Read top to bottom in :func:`compress_version`. Everything that can be refused (unknown method
or option, a pruned or damaged artifact, a pipeline or table the method does not apply to, a
method already applied) is refused before any work and nothing is registered. The compressed
bundle is measured against its parent on the same current test split (file size, single-text
latency, batch time per text, accuracy), registered with parent VERSION and edge ``compress``,
then judged by the gate like any challenger and promoted only on a promote verdict.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from lifelong.compression import METHODS, Method, applied, hidden_units
from lifelong.core.errors import ConfigError, IncompatibleModel
from lifelong.core.types import Example, normalize_text
from lifelong.evaluation import EvalReport
from lifelong.models import ModelBundle, stored_row_count, weights_format
from lifelong.pipelines.data_view import data_view, trained_examples
from lifelong.pipelines.judge import Judgement, judge, score
from lifelong.pipelines.session import load_bundle
from lifelong.project import Project
from lifelong.registry import EdgeKind, ModelVersion, Registry
from lifelong.training.calibrate import recalibrated

DISTILL = "distill"
"""The method that trains a student rather than transforming a model
(:mod:`lifelong.pipelines.distill`)."""


@dataclass(frozen=True)
class CompressOptions:
    """What ``lifelong compress`` was asked: a method, ``KEY=VALUE`` options over the
    ``compress.<method>`` defaults of config.yml, and whether to promote on a promote verdict."""

    method: str
    options: tuple[str, ...] = ()
    promote: bool = False
    notes: str = ""


@dataclass(frozen=True)
class Footprint:
    """What a model costs and how good it is, measured the same way before and after."""

    bytes: int
    weights_format: str
    stored_rows: int
    hidden_units: int
    accuracy: float
    macro_f1: float
    latency_ms_p50: float
    latency_ms_p99: float
    batch_ms_per_text: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CompressResult:
    """The registered version, its parent's and its own footprint, and the gate's judgement."""

    version: ModelVersion
    before: Footprint
    after: Footprint
    judgement: Judgement

    def summary(self) -> dict[str, Any]:
        """The JSON object ``lifelong compress --json`` prints."""
        return {
            "version": self.version.label,
            "parent": self.version.parent,
            "edge": self.version.edge,
            "method": self.version.training["method"],
            "options": self.version.training["options"],
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "verdict": self.judgement.verdict.to_dict(),
            "promoted": self.judgement.promoted,
        }


def method_options(project: Project, name: str, given: Sequence[str]) -> tuple[Method, BaseModel]:
    """The method called ``name`` and its options: config defaults, then ``KEY=VALUE`` pairs.

    Raises
    ------
    ConfigError
        Unknown method, an option that is not ``KEY=VALUE``, unknown or invalid.
    """
    if name not in METHODS:
        raise ConfigError(
            f"unknown compression method {name!r}",
            hint=f"use one of: {', '.join(sorted([*METHODS, DISTILL]))}",
        )
    return METHODS[name], parsed_options(project, name, given)


def parsed_options(project: Project, name: str, given: Sequence[str]) -> BaseModel:
    """Method ``name``'s options: the ``compress.<name>`` defaults, then ``KEY=VALUE`` pairs."""
    section = name.replace("-", "_")  # the config key of prune-neurons is prune_neurons
    defaults: BaseModel = getattr(project.config.compress, section)
    known = sorted(type(defaults).model_fields)
    values = defaults.model_dump()
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option {item!r}: expected KEY=VALUE, e.g. keep=0.5")
        values[key.strip()] = yaml.safe_load(value)
    try:
        options = type(defaults).model_validate(values)
    except ValidationError as error:
        problems = [
            f"{'.'.join(map(str, e['loc']))}: "
            + ("unknown option" if e["type"] == "extra_forbidden" else e["msg"])
            for e in error.errors()
        ]
        raise ConfigError(
            f"method {name}: bad option ({'; '.join(problems)})",
            hint=f"{name} takes {', '.join(known) or 'no options'} (compress.{section} in "
            "config.yml sets the defaults)",
        ) from None
    return options


def _uncompressed_ancestor(registry: Registry, version: ModelVersion) -> str | None:
    """The nearest ancestor not made by compression (the version to compress instead)."""
    for ancestor in registry.ancestors(version.label):
        if ancestor.edge != "compress" and ancestor.status == "candidate":
            return ancestor.label
    return None


def _refuse(registry: Registry, version: ModelVersion, method: Method, why: str) -> None:
    source = _uncompressed_ancestor(registry, version) if version.edge == "compress" else None
    hint = (
        f"compress version {source} (the uncompressed ancestor) instead: "
        f"`lifelong compress {source} --method {method.name}`"
        if source is not None
        else "compress a fast-pipeline version whose table is not in that form yet "
        "(`lifelong models list` shows each version's format)"
    )
    raise IncompatibleModel(
        f"cannot compress version {version.label} with {method.name}: {why}", hint=hint
    )


def measure(
    bundle: ModelBundle, test: list[Example], n_single: int, size: int
) -> tuple[Footprint, EvalReport]:
    """``bundle``'s footprint: ``size`` bytes, latency of ``n_single`` texts scored one at a
    time (after a warm-up), time per text of the whole test split in batches, accuracy."""
    texts = [normalize_text(e.text) for e in test[:n_single]] or ["hello"]
    bundle.proba_normalized(texts[:8])  # warm-up: allocator, lazy init
    times = []
    for text in texts:
        started = time.perf_counter()
        bundle.proba_normalized([text])
        times.append((time.perf_counter() - started) * 1000.0)
    report = score(bundle, test).report
    quantiles = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
    footprint = Footprint(
        bytes=size,
        weights_format=weights_format(bundle.module),
        stored_rows=stored_row_count(bundle.module),
        hidden_units=hidden_units(bundle.module),
        accuracy=report.accuracy,
        macro_f1=report.macro_f1,
        latency_ms_p50=round(statistics.median(times), 4),
        latency_ms_p99=round(quantiles[98], 4),
        batch_ms_per_text=round(report.latency_ms_per_example or 0.0, 4),
    )
    return footprint, report


def artifact_bytes(version: ModelVersion) -> int:
    """Bytes of a version's artifact files, as its manifest recorded them."""
    return sum(f.size for f in version.artifact_files.values())


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class _Counted(Iterable[Example]):
    """Training examples read once, counted as they go (the version records how many the
    method read)."""

    def __init__(self, examples: Iterator[Example]) -> None:
        self._examples = examples
        self.count = 0

    def __iter__(self) -> Iterator[Example]:
        for example in self._examples:
            self.count += 1
            yield example


def compress_version(
    project: Project, registry: Registry, ref: str, options: CompressOptions
) -> CompressResult:
    """Compress a version, measure it against its parent, register it, and gate it (for
    ``distill``: train a student of it, see :func:`lifelong.pipelines.distill.distill_version`)."""
    if options.method == DISTILL:
        from lifelong.pipelines.distill import distill_version  # it builds on this module

        return distill_version(project, registry, ref, options)
    # 1. Method and options, then the parent (sha256-checked on load): refused before work.
    method, settings = method_options(project, options.method, options.options)
    parent = registry.resolve(ref)
    bundle = load_bundle(project, registry, parent.label)
    why = method.refusal(bundle)
    if why is not None:
        _refuse(registry, parent, method, why)
    # 2. Data: the current test split; the parent's training examples still in the data (for
    #    a streamed project, read again from its files as a stream: see pipelines/data_view.py).
    data = data_view(project)
    test = data.test
    examples = (
        _Counted(trained_examples(registry, data, parent))
        if method.needs_texts
        else _Counted(iter(()))
    )
    # 3. Compress, and refuse a result that changed nothing.
    started = time.perf_counter()
    compressed = method.apply(bundle, settings.model_dump(mode="json"), examples)
    compress_s = time.perf_counter() - started
    if _footprint_key(compressed) == _footprint_key(bundle):
        _refuse(
            registry,
            parent,
            method,
            "it would drop nothing: the table holds only rows its training texts touch "
            "already, or every hidden unit is kept"
            if bundle.pipeline.name != "transformer"
            else "it would drop nothing (heads=0 and ffn=0 keep every head and neuron)",
        )
    # 4. Confidences calibrated again on the valid split: the logits changed (a pruned head
    #    retrained for a few epochs above all).
    compressed, temperature = recalibrated(compressed, data.dataset.splits.valid)
    # 5-6. Measure both, register, gate.
    made = Made(
        compressed,
        "compress",
        parent.config,
        {
            "kind": "compress",
            "method": method.name,
            "options": settings.model_dump(mode="json"),
            "applied": applied(compressed),
            "n_texts": examples.count,
            **({} if temperature is None else {"calibration": temperature.to_dict()}),
        },
        {"compress": round(compress_s, 4)},
    )
    return register_smaller(project, registry, parent, bundle, test, made, options)


def _footprint_key(bundle: ModelBundle) -> tuple[str, int, int]:
    """What a compression must change: weights format, stored rows or parameter count (a
    pruned hidden layer, head or FFN neuron lowers it)."""
    module = bundle.module
    n_parameters = sum(p.numel() for p in module.parameters())
    return weights_format(module), stored_row_count(module), n_parameters


@dataclass(frozen=True)
class Made:
    """A smaller model and how it was made: the edge, config and ``training`` record of its
    version (``method`` and ``options`` in it), its timings."""

    bundle: ModelBundle
    edge: EdgeKind
    config: dict[str, Any]
    training: dict[str, Any]
    timings: dict[str, float]


def register_smaller(
    project: Project,
    registry: Registry,
    parent: ModelVersion,
    original: ModelBundle,
    test: list[Example],
    made: Made,
    options: CompressOptions,
    extra_metrics: dict[str, Any] | None = None,
) -> CompressResult:
    """Measure ``made`` against its parent on ``test``, register it (the parent's snapshot,
    both footprints) and let the gate judge it as any challenger (the latency budget too)."""
    n_single = project.config.compress.latency_texts
    before, _ = measure(original, test, n_single, artifact_bytes(parent))
    with tempfile.TemporaryDirectory(prefix=".tmp-bundle-", dir=project.state_dir) as tmp:
        folder = Path(tmp) / "bundle"
        made.bundle.save(folder, include_replay=bool(made.bundle.replay))
        after, report = measure(made.bundle, test, n_single, folder_bytes(folder))
        version = registry.register(
            folder,
            snapshot_id=parent.snapshot_id,
            config=made.config,
            parent=parent.label,
            edge=made.edge,
            metrics={
                "accuracy": report.accuracy,
                "macro_f1": report.macro_f1,
                "test": report.to_dict(),
                "compression": {"before": before.to_dict(), "after": after.to_dict()},
                **(extra_metrics or {}),
            },
            timings=made.timings,
            training={
                **made.training,
                "weights_format": after.weights_format,
                "promote_after": options.promote,
            },
            notes=options.notes,
        )
    command = f"compress {parent.label} --method {made.training['method']}"
    judgement = judge(project, registry, version.label, promote=options.promote, command=command)
    return CompressResult(registry.resolve(version.label), before, after, judgement)
