"""Can a parent model be fine-tuned into the requested pipeline? Checked before any training.

Weight shapes and input spaces must match: a changed featurizer or architecture cannot be
fine-tuned, and the error lists every differing key and the command that trains cold instead.
Hyperparameters that leave shapes alone (dropout, label smoothing, the encoder's learning rate
and frozen layers; anything under ``training``) may change freely. Label changes are surgery,
not incompatibility, unless ``strict_labels`` asks otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from lifelong.config import Pipeline
from lifelong.core.errors import IncompatibleModel
from lifelong.models import PRUNED_HIDDEN, READABLE_VERSIONS, BundleSpec

MUTABLE_KEYS = frozenset(
    {
        "dropout",
        "label_smoothing",
        "transformer.lr",
        "transformer.freeze_layers",
        "ngrams.storage",  # how the table is saved, not its shape
    }
)
COLD_HINT = "train a new model from scratch: `lifelong train` (without --finetune)"


@dataclass(frozen=True)
class LabelPlan:
    """The label list of an update and how it differs from the parent's."""

    labels: list[str]
    added: list[str]
    removed: list[str]


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists become tuples so they compare by value."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = tuple(value) if isinstance(value, list | tuple) else value
    return flat


def differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Lines ``key: old -> new`` for every differing key (missing keys shown as ``-``)."""
    a, b = flatten(old), flatten(new)
    return [
        f"{prefix}{key}: {a.get(key, '-')!r} -> {b.get(key, '-')!r}"
        for key in sorted(a.keys() | b.keys())
        if a.get(key, "-") != b.get(key, "-") and key not in MUTABLE_KEYS
    ]


def _with_defaults(recorded: dict[str, Any]) -> dict[str, Any]:
    """A parent's recorded pipeline with the keys added since it was written at their defaults.

    A bundle written before a key existed ran with that key's default (e.g. the fp32
    ``embeddings_runtime``), so it is compared as such; a record this lifelong cannot read is
    compared as written.
    """
    try:
        return Pipeline.model_validate(recorded).model_dump(mode="json")
    except ValidationError:
        return recorded


def check_compatible(
    parent: BundleSpec, pipeline: Pipeline, featurizer_spec: dict[str, Any]
) -> None:
    """Raise :class:`IncompatibleModel` unless ``parent`` can be fine-tuned into ``pipeline``."""
    if parent.format_version not in READABLE_VERSIONS:
        raise IncompatibleModel(
            f"the parent model has bundle format {parent.format_version}, this lifelong "
            f"fine-tunes formats {' and '.join(map(str, READABLE_VERSIONS))} only",
            hint=COLD_HINT,
        )
    changed = differences(
        _with_defaults(parent.pipeline), pipeline.model_dump(mode="json"), "pipeline."
    )
    changed += differences(parent.featurizer, featurizer_spec, "featurizer.")
    if changed:
        raise IncompatibleModel(
            "cannot fine-tune the parent model: its pipeline differs in\n  " + "\n  ".join(changed),
            hint=COLD_HINT,
        )


def inherited_pipeline(
    pipeline: Pipeline, parent: BundleSpec | None
) -> tuple[Pipeline, dict[str, Any]]:
    """``pipeline`` as an update of ``parent`` trains it, and the spec meta it carries on.

    A parent whose hidden units were pruned (``lifelong compress --method prune-neurons``)
    stores a narrower hidden layer than the config asks for, recorded as
    ``meta["pruned_hidden"]``: its update keeps that width, and the record, so the next update
    does too. A config whose ``pipeline.hidden`` changed since (it is not the recorded
    ``from``) is compared as is, and refused as any changed architecture.
    """
    record = None if parent is None else parent.meta.get(PRUNED_HIDDEN)
    if not isinstance(record, dict) or record.get("from") != pipeline.hidden:
        return pipeline, {}
    narrower = pipeline.model_copy(update={"hidden": int(record["to"])})
    return narrower, {PRUNED_HIDDEN: dict(record)}


def plan_labels(parent: Sequence[str], seen: Sequence[str], *, strict: bool) -> LabelPlan:
    """Labels of an update trained on data with labels ``seen``.

    New intents grow the head and vanished ones drop out; ``strict`` refuses both.
    """
    labels = sorted(set(seen))
    added = sorted(set(labels) - set(parent))
    removed = sorted(set(parent) - set(labels))
    if strict and (added or removed):
        raise IncompatibleModel(
            f"the intents changed (added {added or 'none'}, removed {removed or 'none'}) "
            "and strict_labels is set",
            hint="drop strict_labels to let the update grow or shrink its head, " + COLD_HINT,
        )
    return LabelPlan(labels, added, removed)
