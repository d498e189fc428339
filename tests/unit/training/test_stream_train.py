"""Streamed training: as good as in memory on the same data, refusals before any step."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from lifelong.config import Columns, Distill, Ewc, Finetune, Pipeline, Splits, Training
from lifelong.core import Example
from lifelong.core.errors import ConfigError, IncompatibleModel, ValidationFailed
from lifelong.data.split import split_examples
from lifelong.data.stream import StreamSource
from lifelong.models import CompactBag, ModelBundle, table
from lifelong.training import stream as stream_module
from lifelong.training import train
from lifelong.training.stream import train_stream, unseen_train

MakeExamples = Callable[..., list[Example]]
SPLITS = Splits(valid=0.2, test=0.2, salt="stream")


def _jsonl(path: Path, examples: list[Example]) -> Path:
    path.write_text(
        "".join(json.dumps({"text": e.original, "intent": e.label}) + "\n" for e in examples)
    )
    return path


def _accuracy(bundle: ModelBundle, examples: list[Example]) -> float:
    predicted, _ = bundle.predict([e.text for e in examples])
    return float(np.mean([p == e.label for p, e in zip(predicted, examples, strict=True)]))


def test_streamed_training_matches_in_memory_training(
    tmp_path: Path,
    make_examples: MakeExamples,
    old_labels: list[str],
    small_pipeline: Pipeline,
    small_training: Training,
) -> None:
    data = make_examples(old_labels, 60, 0)
    source = StreamSource([_jsonl(tmp_path / "d.jsonl", data)], Columns(), SPLITS, chunk_rows=32)
    streamed = train_stream(
        source, pipeline=small_pipeline, training=small_training, buffer_size=64, progress=False
    )
    splits = split_examples(data, SPLITS)
    held = train(
        list(splits.train),
        list(splits.valid),
        pipeline=small_pipeline,
        training=small_training,
        progress=False,
    )
    test = list(splits.test)
    # same data, other order (a buffer shuffle): within 5 points on ~50 test examples
    assert abs(_accuracy(streamed.bundle, test) - _accuracy(held.bundle, test)) <= 0.05
    assert _accuracy(streamed.bundle, test) >= 0.9
    report = streamed.report
    assert report["n_train"] == len(splits.train)
    assert report["n_valid"] == len(splits.valid)
    # every epoch trains on every training example exactly once
    assert report["examples_trained"] == report["epochs_run"] * len(splits.train)
    assert report["data"] == "stream"
    assert len(report["files"]) == 1
    assert streamed.bundle.labels == sorted(old_labels)
    # compact storage keeps the rows the training touched, as in memory
    streamed_table, held_table = table(streamed.bundle.module), table(held.bundle.module)
    assert isinstance(streamed_table, CompactBag)
    assert isinstance(held_table, CompactBag)
    assert torch.equal(streamed_table.row_ids, held_table.row_ids)


def test_the_same_seed_trains_the_same_weights(
    tmp_path: Path,
    make_examples: MakeExamples,
    old_labels: list[str],
    small_pipeline: Pipeline,
    small_training: Training,
) -> None:
    source = StreamSource(
        [_jsonl(tmp_path / "d.jsonl", make_examples(old_labels, 20, 0))], Columns(), SPLITS
    )
    runs = [
        train_stream(source, pipeline=small_pipeline, training=small_training, progress=False)
        for _ in range(2)
    ]
    first, second = (run.bundle.module.state_dict() for run in runs)
    assert all(bool((first[k] == second[k]).all()) for k in first)


def test_batches_read_ahead_by_a_thread_train_the_weights_made_inline(
    tmp_path: Path,
    make_examples: MakeExamples,
    old_labels: list[str],
    small_pipeline: Pipeline,
    small_training: Training,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = StreamSource(
        [_jsonl(tmp_path / "d.jsonl", make_examples(old_labels, 20, 0))], Columns(), SPLITS
    )
    runs = []
    for spare in (True, False):
        monkeypatch.setattr(stream_module, "spare_core", lambda spare=spare: spare)
        runs.append(
            train_stream(source, pipeline=small_pipeline, training=small_training, progress=False)
        )
    ahead, inline = (run.bundle.module.state_dict() for run in runs)
    assert all(torch.equal(ahead[k], inline[k]) for k in ahead)


def test_a_streamed_update_grows_the_parents_head(
    tmp_path: Path,
    make_examples: MakeExamples,
    old_labels: list[str],
    parent: ModelBundle,
    small_pipeline: Pipeline,
    small_training: Training,
) -> None:
    data = make_examples([*old_labels, "balance"], 30, 3)
    source = StreamSource([_jsonl(tmp_path / "d.jsonl", data)], Columns(), SPLITS)
    outcome = train_stream(
        source, pipeline=small_pipeline, training=small_training, parent=parent, progress=False
    )
    assert outcome.report["labels_added"] == ["balance"]
    assert outcome.report["init"]["strategy"] == Finetune().init
    assert outcome.report["epochs"] < small_training.epochs  # an update's epoch fraction
    assert _accuracy(outcome.bundle, make_examples(["balance"], 10, 9)) >= 0.8
    with pytest.raises(IncompatibleModel):
        train_stream(
            source,
            pipeline=small_pipeline,
            training=small_training,
            parent=parent,
            strict_labels=True,
            progress=False,
        )


def test_bad_rows_and_unsupported_settings_fail_before_training(
    tmp_path: Path,
    make_examples: MakeExamples,
    old_labels: list[str],
    parent: ModelBundle,
    small_pipeline: Pipeline,
    small_training: Training,
) -> None:
    path = _jsonl(tmp_path / "d.jsonl", make_examples(old_labels, 20, 0))
    with path.open("a") as handle:
        handle.write('{"text": "no label"}\n')
    source = StreamSource([path], Columns(), SPLITS, chunk_rows=8)
    with pytest.raises(ValidationFailed):
        train_stream(source, pipeline=small_pipeline, training=small_training, progress=False)
    with pytest.raises(ConfigError, match="replay_size"):
        train_stream(
            source,
            pipeline=small_pipeline,
            training=small_training,
            finetune=Finetune(ewc=Ewc(weight=1.0), replay_size=0),
            parent=parent,
            progress=False,
        )
    with pytest.raises(ConfigError, match="new\\+replay"):
        train_stream(
            source,
            pipeline=small_pipeline,
            training=small_training,
            finetune=Finetune(data="new+replay"),
            parent=parent,
        )
    other = small_pipeline.model_copy(update={"hidden": small_pipeline.hidden * 2})
    with pytest.raises(IncompatibleModel):
        train_stream(source, pipeline=other, training=small_training, parent=parent)


def test_a_streamed_new_replay_update_trains_the_unseen_rows_and_the_replay_sample(
    tmp_path: Path,
    make_examples: MakeExamples,
    old_labels: list[str],
    parent: ModelBundle,
    small_pipeline: Pipeline,
    small_training: Training,
) -> None:
    old = _jsonl(tmp_path / "old.jsonl", make_examples(old_labels, 30, 0))
    new = _jsonl(tmp_path / "new.jsonl", make_examples(["balance"], 30, 3))
    source = StreamSource([old, new], Columns(), SPLITS)
    scan = source.scan(replay_size=25)
    unseen = {source.name(new): 0}
    n_new = sum(1 for _ in source.train_examples(unseen))
    assert 0 < n_new < scan.n_train
    assert all(e.label == "balance" for e in source.train_examples(unseen))
    outcome = train_stream(
        source,
        pipeline=small_pipeline,
        training=small_training,
        finetune=Finetune(data="new+replay", replay_size=25),
        parent=parent,
        scan=scan,
        unseen=unseen,
        progress=False,
    )
    report = outcome.report
    assert (report["n_train"], report["n_replay"]) == (n_new + 25, 25)
    # every epoch trains the unseen rows and the replay sample once, not the whole stream
    assert report["examples_trained"] == report["epochs_run"] * (n_new + 25)
    assert report["labels_added"] == ["balance"]
    assert _accuracy(outcome.bundle, make_examples(["balance"], 10, 9)) >= 0.8
    assert _accuracy(outcome.bundle, make_examples(old_labels, 10, 8)) >= 0.8


def test_unseen_training_rows_are_counted_from_manifests_and_a_grown_tail_only(
    tmp_path: Path,
    make_examples: MakeExamples,
    old_labels: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grown = _jsonl(tmp_path / "a-grown.jsonl", make_examples(old_labels, 15, 0))
    added = _jsonl(tmp_path / "b-added.jsonl", make_examples(old_labels, 15, 1))
    kept = _jsonl(tmp_path / "c-kept.jsonl", make_examples(old_labels, 15, 2))
    source = StreamSource([grown, added, kept], Columns(), SPLITS, chunk_rows=9)
    scan = source.scan()
    unseen = {source.name(grown): 40, source.name(added): 0}
    expected = sum(1 for _ in source.train_examples(unseen))
    read: list[Path] = []
    chunks = StreamSource.chunks

    def counted(self: StreamSource, path: Path) -> Iterator[list[Example]]:
        read.append(path)
        return chunks(self, path)

    monkeypatch.setattr(StreamSource, "chunks", counted)
    assert unseen_train(source, scan, unseen) == expected
    assert 0 < expected < scan.n_train
    assert read == [grown]  # the added file's count is its manifest's


def test_unseen_rows_of_a_file_that_grew_start_where_the_parent_stopped(
    tmp_path: Path, make_examples: MakeExamples, old_labels: list[str]
) -> None:
    rows = make_examples(old_labels, 20, 0)
    path = _jsonl(tmp_path / "d.jsonl", rows)
    source = StreamSource([path], Columns(), SPLITS, chunk_rows=7)
    everything = [e.text for _, e in source.examples()]
    tail = [e.text for _, e in source.examples({source.name(path): 25})]
    assert tail == everything[25:]
    assert list(source.examples({})) == []  # no file unseen: nothing to train


def _moved(parent: ModelBundle, child: ModelBundle) -> float:
    """How far the child's hidden layer moved from its parent's (L2)."""
    before, after = parent.module.hidden.weight, child.module.hidden.weight  # type: ignore[union-attr]
    return float((after.detach() - before.detach()).norm())  # type: ignore[operator]


def _divergence(parent: ModelBundle, child: ModelBundle, texts: list[str]) -> float:
    """Mean KL from the parent's predicted distribution to the child's, on the parent's labels."""
    columns = [child.labels.index(label) for label in parent.labels]
    p = torch.from_numpy(parent.predict_proba(texts, calibrated=False))
    q = torch.from_numpy(child.predict_proba(texts, calibrated=False)[:, columns])
    q = q / q.sum(dim=1, keepdim=True)
    return float((p * (p.clamp_min(1e-9).log() - q.clamp_min(1e-9).log())).sum(dim=1).mean())


def test_streamed_updates_take_lwf_and_ewc_and_they_hold_the_parent(
    tmp_path: Path,
    make_examples: MakeExamples,
    old_labels: list[str],
    parent: ModelBundle,
    small_pipeline: Pipeline,
    small_training: Training,
) -> None:
    data = make_examples([*old_labels, "balance"], 30, 3)
    source = StreamSource([_jsonl(tmp_path / "d.jsonl", data)], Columns(), SPLITS, chunk_rows=16)
    plain = Finetune(init="warm", lr_scale=1.0)

    def update(finetune: Finetune) -> tuple[ModelBundle, dict[str, object]]:
        outcome = train_stream(
            source,
            pipeline=small_pipeline,
            training=small_training,
            finetune=finetune,
            parent=parent,
            buffer_size=64,
            progress=False,
        )
        return outcome.bundle, outcome.report

    free, report = update(plain)
    assert report["regularizers"] == {}
    lwf, report = update(plain.model_copy(update={"distill": Distill(weight=0.5)}))
    assert report["regularizers"] == {"distill": {"weight": 0.5, "temperature": 2.0}}
    ewc, report = update(plain.model_copy(update={"ewc": Ewc(weight=1.0, samples=64)}))
    assert report["regularizers"] == {"ewc": {"weight": 1.0, "samples": 64}}
    old_texts = [e.text for e in make_examples(old_labels, 10, 8)]
    assert _divergence(parent, lwf, old_texts) < _divergence(parent, free, old_texts)
    assert _moved(parent, ewc) < 0.5 * _moved(parent, free)
    # a mild LwF still learns the new intent (in memory too, EWC's pull slows it down most)
    assert _accuracy(lwf, make_examples(["balance"], 10, 9)) >= 0.6
