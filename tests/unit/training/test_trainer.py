from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from lifelong.config import Pipeline, Training
from lifelong.core import Example
from lifelong.models.objective import Classification
from lifelong.training import train
from lifelong.training.trainer import _keep, sparse_parameters


def test_cold_model_learns_an_easy_set(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: Callable[..., list[Example]],
    old_labels: list[str],
) -> None:
    outcome = train(
        make_examples(old_labels, 30, 0),
        make_examples(old_labels, 10, 1),
        pipeline=small_pipeline,
        training=small_training,
        progress=False,
    )
    test = make_examples(old_labels, 10, 2)
    predicted, _ = outcome.bundle.predict([e.text for e in test])
    assert np.mean([p == e.label for p, e in zip(predicted, test, strict=True)]) >= 0.95
    report = outcome.report
    assert report["kind"] == "train"
    assert report["init"] == {"strategy": "cold"}
    assert report["valid_accuracy"] >= 0.95
    assert report["n_train"] == 120
    assert report["timings"]["train_s"] > 0
    assert 1 <= report["best_epoch"] <= report["epochs_run"] <= 8


def test_same_seed_gives_identical_weights(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: Callable[..., list[Example]],
    old_labels: list[str],
) -> None:
    data = make_examples(old_labels, 10, 0)

    def weights(seed: int) -> dict[str, torch.Tensor]:
        training = small_training.model_copy(update={"epochs": 2, "seed": seed})
        outcome = train(data, data, pipeline=small_pipeline, training=training, progress=False)
        return outcome.bundle.module.state_dict()

    first, second, other = weights(0), weights(0), weights(1)
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name
    assert not torch.equal(first["hidden.weight"], other["hidden.weight"])


def _shuffled_labels(data: list[Example]) -> list[Example]:
    """``data`` with its labels permuted: as a valid split, accuracy stays near chance, so it
    peaks early (early stopping stops soon)."""
    labels = np.random.default_rng(0).permutation([e.label for e in data])
    return [Example.make(e.text, str(label)) for e, label in zip(data, labels, strict=True)]


def test_early_stopping_restores_the_best_epoch(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: Callable[..., list[Example]],
    old_labels: list[str],
) -> None:
    data = make_examples(old_labels, 10, 0)
    noisy = _shuffled_labels(data)
    training = small_training.model_copy(update={"epochs": 20, "patience": 1})
    outcome = train(data, noisy, pipeline=small_pipeline, training=training, progress=False)
    report = outcome.report
    assert report["epochs_run"] == report["best_epoch"] + 2
    best = max(h["valid_accuracy"] for h in report["history"])
    assert report["valid_accuracy"] == best
    assert report["history"][report["best_epoch"] - 1]["valid_accuracy"] == best
    # the weights returned are the best epoch's (kept in place across better epochs)
    predicted, _ = outcome.bundle.predict([e.text for e in noisy])
    restored = np.mean([p == e.label for p, e in zip(predicted, noisy, strict=True)])
    assert restored == pytest.approx(best, abs=1e-6)
    assert 0 < report["timings"]["setup_s"] <= report["timings"]["train_s"]


def test_keep_last_trains_every_epoch_and_returns_the_final_weights(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: Callable[..., list[Example]],
    old_labels: list[str],
) -> None:
    data = make_examples(old_labels, 10, 0)
    noisy = _shuffled_labels(data)
    training = small_training.model_copy(update={"epochs": 6, "patience": 0, "keep": "last"})
    outcome = train(data, noisy, pipeline=small_pipeline, training=training, progress=False)
    report = outcome.report
    assert report["epochs_run"] == report["best_epoch"] == 6  # no early stop despite patience 0
    assert report["valid_accuracy"] == report["history"][-1]["valid_accuracy"]
    full = train(
        data,
        [],
        pipeline=small_pipeline,
        training=training.model_copy(update={"keep": "best"}),
        progress=False,
    )  # no valid split: the last weights too, the same run
    for name, tensor in full.bundle.module.state_dict().items():
        assert torch.equal(outcome.bundle.module.state_dict()[name], tensor), name


def test_keep_average_returns_the_mean_of_the_second_halfs_epoch_weights(
    monkeypatch: pytest.MonkeyPatch,
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: Callable[..., list[Example]],
    old_labels: list[str],
) -> None:
    """The trainer scores the network once per epoch end (and the averaged one at the end):
    the weights it saw then are the ones averaged."""
    seen: list[dict[str, torch.Tensor]] = []
    score = Classification.score

    def spy(self: Classification, model: torch.nn.Module, *valid: Any) -> float:
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return score(self, model, *valid)

    monkeypatch.setattr(Classification, "score", spy)
    data, valid = make_examples(old_labels, 10, 0), make_examples(old_labels, 4, 1)
    training = small_training.model_copy(update={"epochs": 5, "patience": 0, "keep": "average"})
    outcome = train(data, valid, pipeline=small_pipeline, training=training, progress=False)
    assert outcome.report["epochs_run"] == 5  # no early stop despite patience 0
    assert len(seen) == 6  # 5 epochs, then the averaged weights
    kept = outcome.bundle.module.state_dict()
    for name in ("hidden.weight", "out.bias", "norm.weight"):
        mean = torch.stack([state[name] for state in seen[2:5]]).mean(dim=0)  # epochs 3-5
        torch.testing.assert_close(kept[name], mean)
        torch.testing.assert_close(seen[5][name], mean)
        assert not torch.allclose(kept[name], seen[4][name])  # not the last epoch's
    assert outcome.report["valid_accuracy"] == score(
        Classification(), outcome.bundle.module, *_valid_inputs(outcome, valid)
    )


def _valid_inputs(outcome: Any, valid: list[Example]) -> tuple[Any, torch.Tensor]:
    """The features and targets a bundle's network scores ``valid`` on."""
    bundle = outcome.bundle
    features = bundle.featurizer.transform([e.text for e in valid])
    return features, Classification().targets([e.label for e in valid], bundle.labels)


def test_the_best_state_is_a_copy_reused_across_better_epochs() -> None:
    model = torch.nn.Linear(3, 2)
    first = _keep(model, None)
    assert all(first[k].data_ptr() != v.data_ptr() for k, v in model.state_dict().items())
    with torch.no_grad():
        model.weight.fill_(1.0)
    second = _keep(model, first)
    assert second is first
    assert torch.equal(second["weight"], torch.ones(2, 3))
    with torch.no_grad():
        model.weight.fill_(2.0)  # a later, worse epoch does not reach the kept copy
    assert torch.equal(second["weight"], torch.ones(2, 3))


def test_the_hashed_table_is_trained_sparsely(small_pipeline: Pipeline) -> None:
    from lifelong.models import build_model

    model = build_model(small_pipeline, 3)
    assert [p.shape for p in sparse_parameters(model)] == [torch.Size([1024, 16])]


def test_without_validation_every_epoch_runs(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: Callable[..., list[Example]],
    old_labels: list[str],
) -> None:
    data = make_examples(old_labels, 5, 0)
    training = small_training.model_copy(update={"epochs": 3, "patience": 0})
    report = train(data, [], pipeline=small_pipeline, training=training, progress=False).report
    assert (report["epochs_run"], report["best_epoch"], report["valid_accuracy"]) == (3, 3, None)
    assert [h["epoch"] for h in report["history"]] == [1, 2, 3]
