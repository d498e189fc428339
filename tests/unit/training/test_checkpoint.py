"""Checkpoints: a run stopped mid-training and resumed ends with the uninterrupted weights."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from lifelong.config import Columns, Pipeline, Splits, Training
from lifelong.core import Example
from lifelong.data.stream import StreamSource
from lifelong.training import TrainOutcome, train
from lifelong.training import trainer as trainer_module
from lifelong.training.checkpoint import POINTER, Checkpointer
from lifelong.training.stream import train_stream

MakeExamples = Callable[..., list[Example]]


class Killed(Exception):
    """Stands in for SIGKILL at a crash point (the test process must live on)."""


def _kill_at(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    def crash(name: str) -> None:
        if name == f"step:{step}":
            raise Killed(name)

    monkeypatch.setattr(trainer_module, "crash_point", crash)


def _same_weights(a: TrainOutcome, b: TrainOutcome) -> bool:
    first, second = a.bundle.module.state_dict(), b.bundle.module.state_dict()
    return all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize(
    ("kill_at", "keep"),
    [(4, "best"), (13, "best"), (15, "best"), (21, "best"), (15, "average"), (21, "average")],
)
def test_a_resumed_run_ends_with_the_uninterrupted_weights(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    make_examples: MakeExamples,
    old_labels: list[str],
    small_pipeline: Pipeline,
    small_training: Training,
    kill_at: int,
    keep: str,
) -> None:
    data, valid = make_examples(old_labels, 12, 0), make_examples(old_labels, 4, 1)
    # keep: average resumed mid-average (21) and before it began (15, epoch 5 of 8)
    training = small_training.model_copy(update={"epochs": 8, "patience": 8, "keep": keep})

    def run(checkpoint: Checkpointer | None = None) -> TrainOutcome:
        return train(
            data,
            valid,
            pipeline=small_pipeline,
            training=training,
            progress=False,
            checkpoint=checkpoint,
        )

    whole = run()
    checkpoint = Checkpointer(tmp_path / "run", every=5)
    # 8 epochs of 3 batches: killed before any checkpoint, mid-epoch, right after a
    # checkpoint at an epoch's end, late in the run
    _kill_at(monkeypatch, kill_at)
    with pytest.raises(Killed):
        run(checkpoint)
    monkeypatch.undo()
    resumed = run(checkpoint)
    saved_at = kill_at - kill_at % 5
    assert resumed.report["resumed_from_step"] == (saved_at or None)
    assert _same_weights(whole, resumed)
    assert resumed.report["examples_trained"] == whole.report["examples_trained"]
    assert resumed.report["history"] == whole.report["history"]


def test_a_resumed_stream_trains_each_example_once_per_epoch(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    make_examples: MakeExamples,
    old_labels: list[str],
    small_pipeline: Pipeline,
    small_training: Training,
) -> None:
    path = tmp_path / "d.jsonl"
    rows = make_examples(old_labels, 25, 0)
    path.write_text("".join(json.dumps({"text": e.text, "intent": e.label}) + "\n" for e in rows))
    source = StreamSource([path], Columns(), Splits(valid=0.2, test=0.2), chunk_rows=16)

    def run(checkpoint: Checkpointer | None = None) -> TrainOutcome:
        return train_stream(
            source,
            pipeline=small_pipeline,
            training=small_training,
            buffer_size=20,
            progress=False,
            checkpoint=checkpoint,
        )

    whole = run()
    checkpoint = Checkpointer(tmp_path / "run", every=4)
    _kill_at(monkeypatch, 10)
    with pytest.raises(Killed):
        run(checkpoint)
    monkeypatch.undo()
    resumed = run(checkpoint)
    assert resumed.report["resumed_from_step"] == 8
    assert resumed.report["examples_trained"] == whole.report["examples_trained"]
    assert _same_weights(whole, resumed)


def test_a_checkpoint_that_fails_its_sha256_is_not_loaded(tmp_path: Path) -> None:
    checkpoint = Checkpointer(tmp_path / "run", every=1)
    checkpoint.save({"step": 3, "weights": torch.ones(4)})
    loaded = checkpoint.load()
    assert loaded is not None
    assert torch.equal(loaded["weights"], torch.ones(4))
    checkpoint.save({"step": 4, "weights": torch.zeros(4)})
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [POINTER, "step-4.pt"]
    payload = tmp_path / "run" / "step-4.pt"
    payload.write_bytes(payload.read_bytes()[:-10] + b"0123456789")
    assert checkpoint.load() is None
    checkpoint.clear()
    assert not (tmp_path / "run").exists()
    assert checkpoint.load() is None
    with pytest.raises(ValueError, match="every 0 steps"):
        Checkpointer(tmp_path, every=0)
