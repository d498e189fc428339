from __future__ import annotations

import copy
import random
from collections.abc import Callable

import numpy as np
import pytest
import torch
from numpy.typing import NDArray
from pydantic import ValidationError

from lifelong.config import Distill, Ewc, Finetune, Pipeline, Training
from lifelong.core import Example
from lifelong.features import Features
from lifelong.models import ModelBundle, trainable_copy
from lifelong.training import TrainOutcome, train
from lifelong.training.regularizers import Distillation, ElasticWeights, make_regularizers
from lifelong.training.trainer import sparse_parameters

MakeExamples = Callable[..., list[Example]]
Update = Callable[..., TrainOutcome]


def _inputs(bundle: ModelBundle, examples: list[Example]) -> tuple[Features, NDArray[np.int64]]:
    features = bundle.featurizer.transform([e.text for e in examples])
    labels = np.array([bundle.labels.index(e.label) for e in examples], dtype=np.int64)
    return features, labels


def _dense(module: torch.nn.Module) -> list[torch.Tensor]:
    sparse = {id(p) for p in sparse_parameters(module)}
    return [p for p in module.parameters() if id(p) not in sparse]


@pytest.mark.parametrize(
    "regularizer", [Distillation(1.0, 2.0), ElasticWeights(1.0, 64)], ids=["distill", "ewc"]
)
def test_penalty_is_zero_at_the_parent_and_grows_away_from_it(
    parent: ModelBundle,
    make_examples: MakeExamples,
    old_labels: list[str],
    regularizer: Distillation | ElasticWeights,
) -> None:
    features, labels = _inputs(parent, make_examples(old_labels, 8, 1))
    teacher = copy.deepcopy(parent.module)
    penalty = regularizer.prepare(teacher, features, range(len(old_labels)), labels)
    rows = np.arange(len(labels))

    def value(model: torch.nn.Module) -> float:
        model.eval()
        with torch.no_grad():
            batch = features.rows(rows)
            return float(penalty(model, rows, batch, model(batch)))

    assert value(parent.module) == pytest.approx(0.0, abs=1e-6)
    moved = copy.deepcopy(parent.module)
    with torch.no_grad():
        for p in _dense(moved):
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(0)) * 0.5)
    assert value(moved) > 1e-3
    # prepare() reads the parent and leaves it as it was
    for name, p in parent.module.named_parameters():
        assert torch.equal(p, dict(teacher.named_parameters())[name])


def test_fisher_is_normalised_and_reaches_only_the_table_rows_of_its_examples(
    parent: ModelBundle, make_examples: MakeExamples, old_labels: list[str]
) -> None:
    features, labels = _inputs(parent, make_examples(old_labels, 8, 1))
    warm = trainable_copy(parent.module)  # as an update reads it: a compact table made full
    params = dict(warm.named_parameters())
    fisher = ElasticWeights(1.0, 16)._fisher(
        warm, features, labels, set(range(len(old_labels))), params
    )
    flat = torch.cat([f.flatten() for f in fisher.values()])
    assert float(flat[flat != 0].mean()) == pytest.approx(1.0, rel=1e-4)
    assert bool((flat >= 0).all())
    (table,) = sparse_parameters(warm)
    (name,) = [n for n, p in params.items() if p is table]
    reached = set(fisher[name].abs().sum(dim=1).nonzero().flatten().tolist())
    assert features.sparse is not None
    assert reached
    assert reached <= set(features.sparse[:16].indices.tolist())


@pytest.mark.parametrize(
    "held",
    [
        Finetune(distill=Distill(weight=20.0, temperature=1.0)),
        Finetune(ewc=Ewc(weight=2000.0, samples=64)),
    ],
    ids=["distill", "ewc"],
)
def test_a_regularized_update_stays_closer_to_its_parent(
    parent: ModelBundle,
    update: Update,
    make_examples: MakeExamples,
    old_labels: list[str],
    held: Finetune,
) -> None:
    """Trained on wrongly labeled copies of its data, a plain update learns the wrong labels;
    the same update with a strong regularizer keeps more of the parent's predictions."""
    rng = random.Random(3)
    data = [
        Example.make(e.text, rng.choice([x for x in old_labels if x != e.label]))
        for e in make_examples(old_labels, 30, 0)
    ]
    probe = [e.text for e in make_examples(old_labels, 20, 9)]
    before, _ = parent.predict(probe)
    plain = update(data, finetune=Finetune(), epochs=6).bundle
    kept = update(data, finetune=held, epochs=6).bundle

    def agreement(bundle: ModelBundle) -> float:
        after, _ = bundle.predict(probe)
        return float(np.mean([a == b for a, b in zip(after, before, strict=True)]))

    assert agreement(kept) > agreement(plain) + 0.2


def test_regularizers_are_recorded_and_validated(
    update: Update,
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: MakeExamples,
    old_labels: list[str],
) -> None:
    finetune = Finetune(distill=Distill(weight=0.5), ewc=Ewc(weight=3.0, samples=10))
    assert [r.name for r in make_regularizers(finetune)] == ["distill", "ewc"]
    assert make_regularizers(Finetune()) == []
    outcome = update(make_examples([*old_labels, "balance"], 10, 2), finetune=finetune)
    assert outcome.report["regularizers"] == {
        "distill": {"weight": 0.5, "temperature": 2.0},
        "ewc": {"weight": 3.0, "samples": 10},
    }
    with pytest.raises(ValidationError, match="weight"):
        Finetune.model_validate({"distill": {"weight": -1}})
    with pytest.raises(ValidationError, match="temperature"):
        Finetune.model_validate({"distill": {"temperature": 0}})
    # the cold path never regularizes
    cold = train(
        make_examples(old_labels, 10, 2),
        [],
        pipeline=small_pipeline,
        training=small_training,
        finetune=finetune,
        progress=False,
    )
    assert cold.report["regularizers"] == {}
