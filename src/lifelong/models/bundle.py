"""``ModelBundle``: everything needed to serve or fine-tune one trained model.

On disk a bundle is a folder: ``weights.safetensors`` (tensors only, no pickle; an int8
transformer adds its ONNX graph, ``model.onnx``), ``bundle.json``
(the spec: pipeline config, labels, featurizer spec, weights format, versions, and a sha256
manifest of the other files) and, when the project does not retain its data, ``replay.jsonl``:
a bounded, class-balanced sample of training examples that later updates replay. The folder is
written under a temporary name and renamed, so a reader never sees half a bundle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import nn

import lifelong
from lifelong.config import Pipeline
from lifelong.core.atomic import atomic_folder, atomic_write_bytes, atomic_write_text
from lifelong.core.errors import ArtifactCorrupt, LifelongError
from lifelong.core.hashing import sha256_bytes, sha256_file
from lifelong.core.types import Example, normalize_text
from lifelong.features import Featurizer, make_featurizer
from lifelong.models.compact import DENSE, WeightsFormat, compact_bag, weights_format
from lifelong.models.factory import build_model
from lifelong.models.objective import TARGET_STATS, TEMPERATURE, Regression
from lifelong.models.onnx_transformer import GRAPH_FILE, ONNX_INT8, OnnxTransformer
from lifelong.models.transformer import STRUCTURE, TransformerClassifier, rebuild

FORMAT = "lifelong-bundle"
FORMAT_VERSION = 2
"""Bundles of a compact weights format are written as version 2; plain fp32 ones as version 1
(:data:`DENSE_VERSION`), which every earlier lifelong reads (it has no ``weights_format``)."""
DENSE_VERSION = 1
STRUCTURED_VERSION = 3
"""Bundles whose network has other shapes than its pipeline config builds (a transformer with
pruned heads or FFN neurons, ``meta["structure"]``): a reader older than this version would
build the config's shapes and fail on the weights, so the version makes it refuse clearly."""
READABLE_VERSIONS = (DENSE_VERSION, FORMAT_VERSION, STRUCTURED_VERSION)
FEATURIZER_STATE = "featurizer_state"
"""Key of ``BundleSpec.meta`` holding what a featurizer learned from data (the tabular one's
column statistics); ``spec.featurizer`` holds what it is."""
PRUNED_HIDDEN = "pruned_hidden"
"""Key of ``BundleSpec.meta`` of a network whose hidden units were pruned: ``{"from": the
width the config asks for, "to": the width stored}`` (``pipeline.hidden`` is the latter), so
a fine-tune keeps the narrower head instead of refusing a changed pipeline."""
SPEC_FILE = "bundle.json"
WEIGHTS_FILE = "weights.safetensors"
REPLAY_FILE = "replay.jsonl"


@dataclass(frozen=True)
class BundleSpec:
    """What a bundle is, as stored in ``bundle.json`` (JSON-safe).

    ``pipeline`` is the resolved ``pipeline`` config section; ``featurizer`` the featurizer's
    ``spec()``; ``meta`` free-form facts recorded at training time (init strategy, epochs) and
    by compression (``meta["compression"]``: the methods applied, in order);
    ``weights_format`` how the n-gram table is stored (see
    :class:`~lifelong.models.compact.WeightsFormat`: ``fp32``, ``int8``, ``sparse-fp16``...).
    """

    pipeline: dict[str, Any]
    labels: list[str]
    featurizer: dict[str, Any]
    lifelong_version: str = lifelong.__version__
    format_version: int = DENSE_VERSION
    meta: dict[str, Any] = field(default_factory=dict)
    weights_format: str = DENSE


def described(spec: BundleSpec, module: nn.Module) -> BundleSpec:
    """``spec`` naming the weights format ``module`` stores (and the bundle version for it)."""
    written = weights_format(module)
    if STRUCTURE in spec.meta:
        version = STRUCTURED_VERSION
    else:
        version = DENSE_VERSION if written == DENSE else FORMAT_VERSION
    return replace(spec, weights_format=written, format_version=version)


class ModelBundle:
    """A trained network with its featurizer, labels and spec.

    Parameters
    ----------
    spec
        The bundle's description; ``spec.labels[i]`` names output ``i``.
    module
        The network; called on :class:`~lifelong.features.Features`.
    featurizer
        Turns normalized texts into the network's inputs.
    replay
        Replay examples saved with the bundle when asked (``retain_data: false``).
    """

    def __init__(
        self,
        spec: BundleSpec,
        module: nn.Module,
        featurizer: Featurizer,
        replay: Sequence[Example] = (),
    ) -> None:
        self.spec = spec
        self.module = module
        self.featurizer = featurizer
        self.replay = list(replay)

    @property
    def labels(self) -> list[str]:
        return self.spec.labels

    @property
    def pipeline(self) -> Pipeline:
        return Pipeline.model_validate(self.spec.pipeline)

    def predict_proba(
        self, texts: Sequence[str], batch_size: int = 256, *, calibrated: bool = True
    ) -> NDArray[np.float32]:
        """Class probabilities, shape ``(len(texts), len(labels))``, columns in label order.

        Texts are normalized here, so raw user input can be passed as is. ``calibrated``
        applies the temperature fitted at training (see :mod:`lifelong.training.calibrate`);
        ``False`` gives the network's plain softmax, for checks whose thresholds were set on it.
        """
        return self.proba_normalized(
            [normalize_text(t) for t in texts], batch_size, calibrated=calibrated
        )

    def proba_normalized(
        self, texts: Sequence[str], batch_size: int = 256, *, calibrated: bool = True
    ) -> NDArray[np.float32]:
        """:meth:`predict_proba` of texts already normalized (``core.normalize_text``).

        For callers that need the normalized texts themselves too (the server hashes them for
        its log), so each text is normalized once.
        """
        temperature = float(self.spec.meta.get(TEMPERATURE, 1.0)) if calibrated else 1.0
        return torch.softmax(self.logits_normalized(texts, batch_size) / temperature, dim=1).numpy()

    def logits_normalized(self, texts: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """The network's raw outputs on normalized ``texts``, ``(len(texts), len(labels))``:
        what a temperature divides (see :mod:`lifelong.training.calibrate`)."""
        self.module.eval()
        chunks = [torch.zeros((0, len(self.labels)))]
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                chunks.append(
                    self.module(self.featurizer.transform(texts[start : start + batch_size]))
                )
        return torch.cat(chunks)

    @property
    def regression(self) -> Regression | None:
        """The target scaling of a regression model; ``None`` for a classifier."""
        stats = self.spec.meta.get(TARGET_STATS)
        return None if stats is None else Regression(**stats)

    def predict_values(self, texts: Sequence[str], batch_size: int = 256) -> NDArray[np.float64]:
        """A regression model's predictions for normalized texts (canonical rows), in the
        target's units."""
        objective = self.regression
        if objective is None:
            raise LifelongError("this model predicts classes, not numbers (use predict)")
        self.module.eval()
        chunks = [np.zeros((0, 1), dtype=np.float32)]
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                inputs = self.featurizer.transform(texts[start : start + batch_size])
                chunks.append(self.module(inputs).numpy())
        return objective.decode(np.concatenate(chunks))

    def predict(
        self, texts: Sequence[str], batch_size: int = 256
    ) -> tuple[list[str], NDArray[np.float32]]:
        """Predicted labels and the probability matrix (see :meth:`predict_proba`)."""
        proba = self.predict_proba(texts, batch_size)
        return [self.labels[i] for i in proba.argmax(axis=1)], proba

    def save(self, folder: Path, *, include_replay: bool = False) -> None:
        """Write the bundle to ``folder`` (which must not exist or be empty), atomically.

        ``include_replay`` also writes ``replay.jsonl`` (for projects with
        ``retain_data: false``, where it is the only old data an update can see).
        """
        folder = Path(folder)
        if folder.exists() and any(folder.iterdir()):
            raise LifelongError(f"{folder}: cannot save a model bundle into a non-empty folder")
        with atomic_folder(folder) as tmp:
            tensors = {k: v.detach().contiguous() for k, v in self.module.state_dict().items()}
            weights = save_tensors(tensors)
            atomic_write_bytes(tmp / WEIGHTS_FILE, weights)
            files = {WEIGHTS_FILE: sha256_bytes(weights)}
            for name, data in _bundle_files(self.module).items():
                atomic_write_bytes(tmp / name, data)
                files[name] = sha256_bytes(data)
            if include_replay:
                lines = "".join(json.dumps(e.to_record()) + "\n" for e in self.replay)
                atomic_write_text(tmp / REPLAY_FILE, lines)
                files[REPLAY_FILE] = sha256_file(tmp / REPLAY_FILE)
            spec = described(self.spec, self.module)
            document = {**asdict(spec), "format": FORMAT}
            document["files"] = files
            atomic_write_text(tmp / SPEC_FILE, json.dumps(document, indent=2, sort_keys=True))

    @classmethod
    def load(cls, folder: Path, *, cache_dir: Path | None = None) -> ModelBundle:
        """Read a bundle written by :meth:`save`, checking format and file hashes.

        Parameters
        ----------
        folder
            The bundle folder.
        cache_dir
            Sentence-embedding cache folder for the bundle's featurizer (see
            :func:`~lifelong.features.make_featurizer`).
        """
        folder = Path(folder)
        spec, files = read_spec(folder)
        for name, digest in files.items():
            path = folder / name
            if not path.is_file() or sha256_file(path) != digest:
                raise ArtifactCorrupt(
                    f"{path}: missing or its sha256 does not match {SPEC_FILE}",
                    hint="the bundle was modified after saving; restore it or retrain",
                )
        pipeline = Pipeline.model_validate(spec.pipeline)
        if spec.weights_format == ONNX_INT8:
            module: nn.Module = OnnxTransformer((folder / GRAPH_FILE).read_bytes())
        else:
            module = _build(pipeline, spec, load_tensors((folder / WEIGHTS_FILE).read_bytes()))
        module.eval()
        replay: list[Example] = []
        if REPLAY_FILE in files:
            text = (folder / REPLAY_FILE).read_text(encoding="utf-8")
            replay = [Example.from_record(json.loads(line)) for line in text.splitlines()]
        state = spec.meta.get(FEATURIZER_STATE)
        recorded = None if state is None else (spec.featurizer, state)
        return cls(spec, module, make_featurizer(pipeline, cache_dir, recorded), replay)


def _bundle_files(module: nn.Module) -> dict[str, bytes]:
    """Files a network stores beside its tensors (an ONNX graph), by name."""
    return module.bundle_files() if isinstance(module, OnnxTransformer) else {}


def _build(pipeline: Pipeline, spec: BundleSpec, tensors: dict[str, torch.Tensor]) -> nn.Module:
    """The network of ``spec`` holding ``tensors``, whatever its weights format."""
    fmt = WeightsFormat.parse(spec.weights_format)
    bag = None
    if fmt.name != DENSE:
        ngrams = pipeline.ngrams
        bag = compact_bag(ngrams.buckets, ngrams.dim, fmt, tensors, "bag.")
    module = build_model(pipeline, len(spec.labels), bag=bag)
    structure = spec.meta.get(STRUCTURE)
    if structure is not None:  # a structurally pruned transformer: its smaller shapes first
        assert isinstance(module, TransformerClassifier), "only transformers are pruned so"
        rebuild(module, structure)
    module.load_state_dict(tensors)
    return module


def read_spec(folder: Path) -> tuple[BundleSpec, dict[str, str]]:
    """The spec and file manifest of ``folder``, or a clear error if it is not a bundle."""
    path = folder / SPEC_FILE
    hint = "pass the folder of a model saved by lifelong (it holds bundle.json)"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LifelongError(
            f"{folder}: not a lifelong model bundle (no {SPEC_FILE})", hint=hint
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise LifelongError(f"{path}: not valid JSON ({error})", hint=hint) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise LifelongError(
            f"{path}: not a lifelong model bundle (format is not {FORMAT!r})", hint=hint
        )
    version = document.get("format_version")
    if version not in READABLE_VERSIONS:
        raise LifelongError(
            f"{path}: bundle format version {version!r}, this lifelong reads "
            f"{' and '.join(map(str, READABLE_VERSIONS))}",
            hint="load it with the lifelong version that wrote it, or train cold "
            "(`lifelong train` without --finetune)",
        )
    try:
        spec = BundleSpec(
            pipeline=dict(document["pipeline"]),
            labels=[str(label) for label in document["labels"]],
            featurizer=dict(document["featurizer"]),
            lifelong_version=str(document["lifelong_version"]),
            format_version=int(version),
            meta=dict(document.get("meta", {})),
            weights_format=str(document.get("weights_format", DENSE)),
        )
        files = {str(k): str(v) for k, v in dict(document["files"]).items()}
    except (KeyError, TypeError, ValueError) as error:
        raise LifelongError(f"{path}: malformed bundle spec ({error!r})", hint=hint) from None
    if WEIGHTS_FILE not in files:
        raise LifelongError(f"{path}: the manifest lists no {WEIGHTS_FILE}", hint=hint)
    pipeline = spec.pipeline.get("name", "fast")
    if pipeline == "transformer" and spec.weights_format == ONNX_INT8:
        if GRAPH_FILE not in files:
            raise LifelongError(f"{path}: the manifest lists no {GRAPH_FILE}", hint=hint)
        return spec, files
    try:
        fmt = WeightsFormat.parse(spec.weights_format)
    except ValueError as error:
        raise LifelongError(f"{path}: {error}", hint="upgrade lifelong to read it") from None
    if fmt.name != DENSE and pipeline != "fast":
        raise LifelongError(
            f"{path}: weights format {fmt.name} is for the fast pipeline only"
            + (f" (a transformer reads fp32 or {ONNX_INT8})" if pipeline == "transformer" else ""),
            hint=hint,
        )
    return spec, files
