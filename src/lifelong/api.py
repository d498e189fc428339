"""Predict from Python: ``lifelong.load(...)`` returns a :class:`Model`.

A model is a registry version (a label such as ``1.2``, or an alias such as ``champion``) of a
project, or a folder written by ``lifelong models export`` (or any model bundle folder). Every
file is checked against its sha256 before the weights are read; nothing is unpickled.

>>> import lifelong
>>> model = lifelong.load("champion", project=project_dir)  # doctest: +SKIP
>>> model.predict(["where is my parcel"])  # doctest: +SKIP
['order_status']

A tabular model takes rows (mappings of column to value) where a text model takes texts:

>>> model.predict([{"age": 41, "branch": "north"}])  # doctest: +SKIP
['manager']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifelong.core.errors import DataError, LifelongError
from lifelong.data.schema import ValueProblem, encode_row
from lifelong.features import TabularFeaturizer
from lifelong.models import ModelBundle
from lifelong.pipelines.export import MANIFEST_FILE, read_export
from lifelong.pipelines.session import load_bundle, resolve_model
from lifelong.project import Project
from lifelong.registry import open_registry

Input = str | Mapping[str, object]
"""A text, or a tabular row (column -> value, or the row as a JSON object's text)."""


@dataclass(frozen=True)
class Ranked:
    """One text's prediction: the most likely intent, its confidence and the top-k ranking."""

    text: str
    intent: str
    confidence: float
    ranking: list[tuple[str, float]]

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form, with the field names of the server's ``/predict`` answer."""
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "ranking": [{"intent": i, "confidence": c} for i, c in self.ranking],
        }


class Model:
    """A loaded, verified model.

    Parameters
    ----------
    bundle
        The network, featurizer and labels.
    version
        The registry version it is (for an exported folder, the version it was exported
        from), or ``None`` for a bundle folder of unknown origin.
    source
        Where it was loaded from, for messages.
    """

    def __init__(self, bundle: ModelBundle, version: str | None, source: str) -> None:
        self.bundle = bundle
        self.version = version
        self.source = source

    def __repr__(self) -> str:
        return f"Model(version={self.version!r}, labels={len(self.labels)}, source={self.source!r})"

    @property
    def labels(self) -> list[str]:
        """Intent names, in the column order of :meth:`predict_proba`."""
        return list(self.bundle.labels)

    @property
    def tabular(self) -> bool:
        """Whether the model reads tabular rows (see :meth:`inputs`) rather than text."""
        return isinstance(self.bundle.featurizer, TabularFeaturizer)

    @property
    def regression(self) -> bool:
        """Whether the model predicts a number (see :meth:`predict_values`) not classes."""
        return self.bundle.regression is not None

    def inputs(self, items: Sequence[Input]) -> list[str]:
        """What the model scores: texts as given for a text model; for a tabular one, each row
        (a mapping of column to value, or its JSON text) checked against the model's columns.

        Raises
        ------
        DataError
            A row that is not a JSON object, has a column the model lacks, or a non-number in
            a numeric column (naming the row and the column); a row given to a text model.
        """
        featurizer = self.bundle.featurizer
        if not isinstance(featurizer, TabularFeaturizer):
            if not all(isinstance(item, str) for item in items):
                raise DataError("this model reads text: pass strings, not rows")
            return [str(item) for item in items]
        texts = []
        for number, item in enumerate(items, start=1):
            row: object = item
            if isinstance(item, str):
                try:
                    row = json.loads(item)
                except json.JSONDecodeError:
                    row = None
            if not isinstance(row, Mapping):
                raise DataError(
                    f"input {number}: a tabular model takes rows: a JSON object of column values",
                    hint=f"e.g. '{{\"{featurizer.columns[0][0]}\": ...}}'"
                    if featurizer.columns
                    else None,
                )
            try:
                texts.append(encode_row(featurizer.columns, row))
            except ValueProblem as error:
                raise DataError(f"input {number}: {error}") from None
        return texts

    def predict_proba(self, texts: Sequence[Input]) -> NDArray[np.float32]:
        """Probabilities, shape ``(len(texts), len(labels))``; raw texts are normalized here."""
        return self.bundle.predict_proba(self.inputs(texts))

    def predict(self, texts: Sequence[Input]) -> list[str]:
        """The most likely intent (class) of each text or row."""
        labels, _ = self.bundle.predict(self.inputs(texts))
        return labels

    def predict_values(self, rows: Sequence[Input]) -> list[float]:
        """A regression model's prediction for each row."""
        values: list[float] = self.bundle.predict_values(self.inputs(rows)).tolist()
        return values

    def rank(self, texts: Sequence[Input], top_k: int = 5) -> list[Ranked]:
        """Each text's most likely intent and its ``top_k`` ranking (most likely first)."""
        proba = self.predict_proba(texts)
        shown = [t if isinstance(t, str) else json.dumps(dict(t)) for t in texts]
        k = max(1, min(top_k, len(self.labels)))
        order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        results = []
        for text, row, columns in zip(shown, proba, order, strict=True):
            ranking = [(self.labels[c], float(row[c])) for c in columns]
            results.append(Ranked(text, ranking[0][0], ranking[0][1], ranking))
        return results


def load(model: str = "champion", *, project: str | Path | None = None) -> Model:
    """Load a model to predict with.

    Parameters
    ----------
    model
        A version (``"1.2"``) or alias (``"champion"``) of ``project``'s registry, or the path
        of a folder written by ``lifelong models export`` (or of a model bundle folder).
    project
        The project folder (or any folder inside it); default: found from the working folder.
        Not used for a folder path.

    Raises
    ------
    LifelongError
        No such version, alias or folder; no model yet; a file whose sha256 does not match.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return load_folder(path)
    if "/" in model or path.suffix:
        raise LifelongError(
            f"{model}: no such folder",
            hint="pass a folder written by `lifelong models export`, or a version or alias",
        )
    return load_version(Project.load(None if project is None else Path(project)), model)


def load_version(project: Project, ref: str) -> Model:
    """Load version or alias ``ref`` of ``project`` (the registry checks its sha256)."""
    with open_registry(project.store_url, project.artifacts_dir, read_only=True) as registry:
        version = resolve_model(registry, ref)
        bundle = load_bundle(project, registry, version.label)
    return Model(bundle, version.label, f"version {version.label} of {project.root}")


def load_folder(folder: Path) -> Model:
    """Load an exported folder (its manifest checked first) or a bare model bundle folder."""
    version = None
    if (folder / MANIFEST_FILE).is_file():
        version = read_export(folder).version
    return Model(ModelBundle.load(folder, cache_dir=None), version, str(folder))
