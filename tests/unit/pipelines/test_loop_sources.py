"""The loop updates a champion that cannot be fine-tuned through the version it was made from.

A compressed or distilled champion (an int8 ONNX graph, a pruned transformer, a student of
another pipeline) refuses ``--finetune``; the cycle then fine-tunes the version it was
compressed or distilled from, and trains cold only when none of them can be fine-tuned.
``train_version`` is replaced by a recorder here: what is under test is which parent each
attempt asks for and what the cycle's plan says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lifelong.config import CONFIG_FILE
from lifelong.core.errors import IncompatibleModel
from lifelong.core.types import Example
from lifelong.pipelines import loop
from lifelong.pipelines.policy import Plan
from lifelong.pipelines.retrain import TrainOptions
from lifelong.project import Project
from lifelong.registry import Registry


@dataclass
class _Version:
    label: str


@dataclass
class _Result:
    version: _Version


def _project(root: Path) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    (root / CONFIG_FILE).write_text("policy: {}\n")
    return Project.load(root)


def _student_of_int8(registry: Registry, make_bundle) -> list[str]:  # type: ignore[no-untyped-def]
    """1.0 (cold) -> 1.1 (finetune) -> 1.2 (compress) -> 1.3 (distill), labels in order."""
    snapshot = registry.put_snapshot([Example.make("hi", "greet")]).id
    labels = [registry.register(make_bundle(0), snapshot_id=snapshot, config={}).label]
    for seed, edge in enumerate(("finetune", "compress", "distill"), start=1):
        labels.append(
            registry.register(
                make_bundle(seed), snapshot_id=snapshot, config={}, parent=labels[-1], edge=edge
            ).label
        )
    return labels


def _recorder(monkeypatch: pytest.MonkeyPatch, refused: set[str | None]) -> list[str | None]:
    asked: list[str | None] = []

    def train_version(project: Project, registry: Registry, options: TrainOptions) -> _Result:
        asked.append(options.finetune)
        if options.finetune in refused:
            raise IncompatibleModel(f"version {options.finetune} cannot be trained")
        return _Result(_Version(f"new-from-{options.finetune}"))

    monkeypatch.setattr(loop, "train_version", train_version)
    return asked


def test_made_from_walks_compress_and_distill_edges_only(
    registry: Registry,
    make_bundle,  # type: ignore[no-untyped-def]
) -> None:
    labels = _student_of_int8(registry, make_bundle)
    assert loop.made_from(registry, labels[3]) == [labels[3], labels[2], labels[1]]
    assert loop.made_from(registry, labels[1]) == [labels[1]]  # a fine-tune is its own source


def _cycle(
    registry: Registry,
    make_bundle,  # type: ignore[no-untyped-def]
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    refused: slice,
) -> tuple[list[str], list[str | None], Plan, str]:
    """The line of :func:`_student_of_int8`, its versions ``refused`` refusing to be
    fine-tuned, and a cycle that plans to fine-tune the student: the labels, the parents asked
    for in order, the plan done and the label registered."""
    labels = _student_of_int8(registry, make_bundle)
    asked = _recorder(monkeypatch, refused=set(labels[refused]))
    plan = Plan("finetune", labels[3], f"fine-tune champion {labels[3]}")
    done, label = loop._train(_project(root), registry, plan, progress=False)
    return labels, asked, done, label


def test_a_refusing_champion_is_updated_through_what_it_was_made_from(
    registry: Registry,
    make_bundle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    labels, asked, done, label = _cycle(registry, make_bundle, tmp_path, monkeypatch, slice(2, 4))
    assert asked == [labels[3], labels[2], labels[1]]
    assert (done.kind, done.parent, label) == ("finetune", labels[1], f"new-from-{labels[1]}")
    assert f"{labels[3]} cannot be fine-tuned" in done.reason
    assert f"fine-tuned {labels[1]}, which it was made from" in done.reason


def test_cold_when_no_source_can_be_fine_tuned(
    registry: Registry,
    make_bundle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    labels, asked, done, label = _cycle(registry, make_bundle, tmp_path, monkeypatch, slice(1, 4))
    assert asked == [labels[3], labels[2], labels[1], None]
    assert (done.kind, done.parent, label) == ("cold", None, "new-from-None")
    assert all(f"version {v} cannot be trained" in done.reason for v in labels[1:])


def test_a_trainable_champion_is_fine_tuned_itself(
    registry: Registry,
    make_bundle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    labels, asked, done, _ = _cycle(registry, make_bundle, tmp_path, monkeypatch, slice(0, 0))
    assert asked == [labels[3]]
    assert done == Plan("finetune", labels[3], f"fine-tune champion {labels[3]}")
