"""Data-parallel training: hash shards, the torchrun context, and real 2-process gloo runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import load_file

from lifelong.config import Finetune, Pipeline, Training
from lifelong.core.errors import ConfigError, DataError
from lifelong.core.types import Example
from lifelong.models.bundle import WEIGHTS_FILE
from lifelong.testing.ddp_worker import run
from lifelong.training.distributed import (
    DataParallel,
    DistContext,
    check_distributable,
    shard_rows,
)

MakeExamples = Callable[..., list[Example]]
hex_hashes = st.lists(st.text("0123456789abcdef", min_size=1, max_size=8), max_size=60)


@given(hex_hashes, st.integers(1, 5))
def test_shards_are_disjoint_cover_everything_and_have_one_length(
    hashes: list[str], world: int
) -> None:
    owners = [int(h, 16) % world for h in hashes]
    empty = set(range(world)) - set(owners)
    if empty:  # a rank that would get nothing is refused
        with pytest.raises(DataError, match="use fewer processes"):
            shard_rows(hashes, min(empty), world)
        return
    shards = [shard_rows(hashes, rank, world) for rank in range(world)]
    assert len({len(s) for s in shards}) == 1  # same steps per epoch on every rank
    for rank, shard in enumerate(shards):
        assert {owners[i] for i in shard} == {rank}  # only its own rows (padding repeats them)
    assert sorted(i for s in shards for i in set(s.tolist())) == list(range(len(hashes)))


def test_context_is_read_from_torchrun_variables() -> None:
    assert DistContext.from_env({}) is None
    context = DistContext.from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"})
    assert context is not None
    assert (context.rank, context.world_size, context.local_rank) == (3, 4, 1)
    assert not context.is_main
    assert context.backend == ("nccl" if torch.cuda.is_available() else "gloo")
    # the configured batch is split over the ranks: one step still averages about one batch
    assert DataParallel(context).rank_batch(Training(batch_size=65)) == 17
    with pytest.raises(ConfigError, match="RANK / LOCAL_RANK"):
        DistContext.from_env({"WORLD_SIZE": "2"})
    with pytest.raises(ConfigError, match="not within"):
        DistContext.from_env({"WORLD_SIZE": "2", "RANK": "2", "LOCAL_RANK": "0"})


def test_transformer_pipeline_is_refused() -> None:
    with pytest.raises(ConfigError, match="transformer cannot be trained with --nproc"):
        check_distributable(Pipeline(name="transformer"))
    check_distributable(Pipeline())


LABELS = ["alarm", "booking", "music", "weather", "balance"]
PIPELINE = Pipeline.model_validate({"ngrams": {"buckets": 1024, "dim": 16}, "hidden": 32})
TRAINING = Training(epochs=6, batch_size=16, lr=0.01, sparse_lr=0.1, seed=0, patience=2)


def _write(path: Path, examples: list[Example]) -> Path:
    lines = [json.dumps({"text": e.text, "intent": e.label}) for e in examples]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path, make_examples: MakeExamples) -> tuple[Path, Path, Path]:
    return (
        _write(tmp_path / "train.jsonl", make_examples(LABELS, 40, 1)),
        _write(tmp_path / "valid.jsonl", make_examples(LABELS, 8, 2)),
        _write(tmp_path / "test.jsonl", make_examples(LABELS, 12, 3)),
    )


def _torchrun(
    out: Path,
    files: tuple[Path, Path, Path],
    sparse_sync: str,
    *parent: str,
    training: Training = TRAINING,
) -> list[Any]:
    """Both ranks' figures of a 2-rank run; ``parent`` are the worker's fine-tune arguments."""
    data, valid, test = files
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        "--module",
        "lifelong.testing.ddp_worker",
        *("--data", str(data), "--valid", str(valid), "--test", str(test), "--out", str(out)),
        *("--pipeline", PIPELINE.model_dump_json(), "--training", training.model_dump_json()),
        *("--sparse-sync", sparse_sync, "--threads", "1"),
        *parent,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]


@pytest.mark.slow
@pytest.mark.parametrize("sparse_sync", ["ddp", "gather"])
def test_two_gloo_ranks_end_with_identical_weights_and_one_process_accuracy(
    tmp_path: Path, files: tuple[Path, Path, Path], sparse_sync: str
) -> None:
    ranks = _torchrun(tmp_path / "ddp", files, sparse_sync)
    weights = [load_file(tmp_path / "ddp" / f"rank{r}" / WEIGHTS_FILE) for r in range(2)]
    assert weights[0].keys() == weights[1].keys()
    for name, tensor in weights[0].items():
        assert torch.equal(tensor, weights[1][name]), name  # bit-identical, table included
    first, second = (r["report"] for r in ranks)
    # every rank scored the full valid set with the same weights: same scores, same stop
    # (the training loss is each rank's own shard's)
    assert [h["valid_accuracy"] for h in first["history"]] == [
        h["valid_accuracy"] for h in second["history"]
    ]
    assert first["epochs_run"] == second["epochs_run"]
    assert first["distributed"] == {"world_size": 2, "backend": "gloo", "sparse_sync": sparse_sync}
    alone = run(*files, tmp_path / "one", pipeline=PIPELINE, training=TRAINING)
    assert alone["world_size"] == 1
    assert "distributed" not in alone["report"]
    # the parent's data are trained on in halves of half the steps: close, not equal
    assert abs(ranks[0]["test_accuracy"] - alone["test_accuracy"]) <= 0.1
    assert ranks[0]["test_accuracy"] >= 0.8


@pytest.mark.slow
def test_two_gloo_ranks_average_the_same_epoch_weights(
    tmp_path: Path, files: tuple[Path, Path, Path]
) -> None:
    """``keep: average`` reads weights that are the same on every rank after each epoch."""
    average = TRAINING.model_copy(update={"keep": "average"})
    ranks = _torchrun(tmp_path / "ddp", files, "ddp", training=average)
    _identical_weights(tmp_path / "ddp")
    assert ranks[0]["report"]["epochs_run"] == ranks[1]["report"]["epochs_run"] == 6
    assert ranks[0]["test_accuracy"] >= 0.8


def _identical_weights(out: Path) -> None:
    weights = [load_file(out / f"rank{r}" / WEIGHTS_FILE) for r in range(2)]
    assert weights[0].keys() == weights[1].keys()
    for name, tensor in weights[0].items():
        assert torch.equal(tensor, weights[1][name]), name


# shrink-and-perturb's noise draws from the seed: the same on every rank; the new intent's
# examples are oversampled x3 (2 of 6 epochs), their copies on their example's rank
UPDATE = Finetune(init="shrink_perturb")


@pytest.mark.slow
def test_two_gloo_ranks_fine_tune_one_parent_to_identical_weights(
    tmp_path: Path, files: tuple[Path, Path, Path], make_examples: MakeExamples
) -> None:
    # the parent knows four intents; the update's data adds the fifth's examples to the same
    # four's (head surgery, oversampling and imprinting of a new intent, on every rank)
    old = LABELS[:-1]
    parent = run(
        _write(tmp_path / "old.jsonl", make_examples(old, 40, 1)),
        _write(tmp_path / "old_valid.jsonl", make_examples(old, 8, 2)),
        _write(tmp_path / "old_test.jsonl", make_examples(old, 12, 3)),
        tmp_path / "parent",
        pipeline=PIPELINE,
        training=TRAINING,
    )
    # the new intent's examples all on rank 0's shard: only rank 0 has copies to oversample
    _, valid, test = files
    new = [e for e in make_examples(LABELS[-1:], 40, 1) if int(e.hash, 16) % 2 == 0]
    update = (_write(tmp_path / "update.jsonl", [*make_examples(old, 40, 1), *new]), valid, test)
    folder = tmp_path / "parent" / "rank0"
    arguments = ("--parent", str(folder), "--finetune", UPDATE.model_dump_json())
    ranks = _torchrun(tmp_path / "ddp", update, "ddp", *arguments)
    _identical_weights(tmp_path / "ddp")
    first, second = (r["report"] for r in ranks)
    assert first["kind"] == second["kind"] == "finetune"
    assert first["labels_added"] == [LABELS[-1]]
    assert first["new_intents"]["oversampled"] == 3
    assert first["init"] == second["init"]  # the same strategy and noise on both ranks
    assert first["n_train"] == second["n_train"] == 160 + len(new)  # every example
    alone = run(
        *update,
        tmp_path / "one",
        pipeline=PIPELINE,
        training=TRAINING,
        parent=folder,
        finetune=UPDATE,
    )
    assert alone["report"]["n_train"] == first["n_train"]
    assert abs(ranks[0]["test_accuracy"] - alone["test_accuracy"]) <= 0.1
    assert ranks[0]["test_accuracy"] >= min(0.8, parent["test_accuracy"])
