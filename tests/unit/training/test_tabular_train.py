"""train() on tabular rows: classification and regression, cold and as an update."""

from __future__ import annotations

import numpy as np
import pytest

from lifelong.config import Finetune, Pipeline, TabularSettings, Training
from lifelong.core.errors import IncompatibleModel
from lifelong.core.types import Example
from lifelong.data.schema import canonical_row
from lifelong.features import TabularFeaturizer
from lifelong.models import ModelBundle
from lifelong.training import train
from lifelong.training.trainer import sparse_parameters

TRAINING = Training(epochs=12, batch_size=32, lr=0.01, seed=0, patience=12)


def _rows(n: int, seed: int, shift: float = 0.0) -> list[Example]:
    """y = 3 x1 - 2 x2 + 5 [city = b] (+ shift) + noise; class = y > median-ish."""
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(n):
        x1, x2 = rng.normal(10, 2), rng.normal(0, 1)
        city = str(rng.choice(["a", "b", "c"]))
        y = 3 * x1 - 2 * x2 + 5 * (city == "b") + shift + rng.normal(0, 0.5)
        text = canonical_row({"city": city, "x1": float(x1), "x2": float(x2)})
        examples.append(Example(text=text, label=repr(float(y)), original=text))
    return examples


def _pipeline(kind: str) -> Pipeline:
    return Pipeline(name="tabular", hidden=32, dropout=0.0, tabular=TabularSettings(kind=kind))


def _rmse(bundle: ModelBundle, examples: list[Example]) -> float:
    predicted = bundle.predict_values([e.text for e in examples])
    truth = np.array([float(e.label) for e in examples])
    return float(np.sqrt(np.mean((predicted - truth) ** 2)))


def test_regression_learns_far_below_the_targets_spread() -> None:
    train_rows, test_rows = _rows(600, 0), _rows(200, 1)
    outcome = train(
        train_rows,
        test_rows[:50],
        pipeline=_pipeline("regression"),
        training=TRAINING,
        progress=False,
    )
    spread = float(np.std([float(e.label) for e in test_rows]))
    assert outcome.bundle.labels == ["value"]
    assert "valid_rmse" in outcome.report
    assert _rmse(outcome.bundle, test_rows) < 0.35 * spread


def test_regression_update_keeps_target_scaling_and_adapts_to_a_shift(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pipeline = _pipeline("regression")
    parent = train(
        _rows(600, 0), _rows(50, 9), pipeline=pipeline, training=TRAINING, progress=False
    ).bundle
    parent.save(tmp_path / "parent")
    loaded = ModelBundle.load(tmp_path / "parent")
    shifted = _rows(400, 2, shift=4.0)
    child = train(
        shifted,
        _rows(50, 3, shift=4.0),
        pipeline=pipeline,
        training=TRAINING,
        parent=loaded,
        finetune=Finetune(init="shrink_perturb"),
        progress=False,
    ).bundle
    assert child.spec.meta["target_stats"] == parent.spec.meta["target_stats"]
    test = _rows(200, 4, shift=4.0)
    assert _rmse(child, test) < _rmse(loaded, test)


def test_a_loaded_bundle_predicts_as_the_trained_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(300, 0)
    bundle = train(
        rows, rows[:30], pipeline=_pipeline("regression"), training=TRAINING, progress=False
    ).bundle
    bundle.save(tmp_path / "b")
    again = ModelBundle.load(tmp_path / "b")
    assert isinstance(again.featurizer, TabularFeaturizer)
    texts = [e.text for e in rows[:20]]
    np.testing.assert_allclose(again.predict_values(texts), bundle.predict_values(texts), rtol=1e-6)


def test_classification_of_rows_and_a_changed_column_refused() -> None:
    rows = [
        Example(text=e.text, label="high" if float(e.label) > 32 else "low", original=e.text)
        for e in _rows(500, 0)
    ]
    outcome = train(
        rows, rows[:40], pipeline=_pipeline("classification"), training=TRAINING, progress=False
    )
    assert outcome.report["valid_accuracy"] >= 0.85
    renamed = [
        Example(text=e.text.replace('"x2"', '"x3"'), label=e.label, original=e.text) for e in rows
    ]
    with pytest.raises(IncompatibleModel, match="'x3' is new"):
        train(
            renamed,
            renamed[:10],
            pipeline=_pipeline("classification"),
            training=TRAINING,
            parent=outcome.bundle,
            progress=False,
        )


def _distance(child: ModelBundle, parent: ModelBundle) -> float:
    """Squared distance of the dense weights (the sparse table moves only where rows hit)."""
    sparse = {id(p) for p in sparse_parameters(child.module)}
    theirs = dict(parent.module.named_parameters())
    return sum(
        float((p.detach() - theirs[n].detach()).pow(2).sum())
        for n, p in child.module.named_parameters()
        if id(p) not in sparse
    )


@pytest.mark.slow
def test_ewc_on_a_regression_update_pulls_the_weights_toward_the_parent() -> None:
    """A Gaussian likelihood's Fisher: the same update on shifted targets moves the weights
    less with a strong EWC, and predicts closer to the parent on the old rows."""
    pipeline = _pipeline("regression")
    training = TRAINING.model_copy(update={"epochs": 6})
    parent = train(
        _rows(200, 0), _rows(30, 9), pipeline=pipeline, training=training, progress=False
    ).bundle
    shifted = _rows(150, 2, shift=8.0)

    def update(finetune: Finetune) -> ModelBundle:
        return train(
            shifted,
            shifted[:30],
            pipeline=pipeline,
            training=training,
            parent=parent,
            finetune=finetune,
            epochs=4,
            progress=False,
        ).bundle

    plain = update(Finetune())
    held = update(Finetune(ewc={"weight": 5000.0, "samples": 128}))
    old = [e.text for e in _rows(100, 5)]
    before = parent.predict_values(old)
    assert _distance(held, parent) < 0.5 * _distance(plain, parent)
    assert (
        np.abs(held.predict_values(old) - before).mean()
        < np.abs(plain.predict_values(old) - before).mean()
    )


@pytest.mark.slow
def test_distillation_on_a_regression_update_pulls_predictions_toward_the_parent() -> None:
    """LwF for a number: the same update on shifted targets changes the predictions on old
    rows less with distillation than without, and less still with a larger weight; the price
    is a worse fit of the shifted rows."""
    pipeline = _pipeline("regression")
    training = TRAINING.model_copy(update={"epochs": 6})
    parent = train(
        _rows(200, 0), _rows(30, 9), pipeline=pipeline, training=training, progress=False
    ).bundle
    shifted = _rows(150, 2, shift=8.0)

    def update(weight: float) -> ModelBundle:
        outcome = train(
            shifted,
            shifted[:30],
            pipeline=pipeline,
            training=training,
            parent=parent,
            finetune=Finetune(distill={"weight": weight}),
            epochs=4,
            progress=False,
        )
        assert ("distill" in outcome.report["regularizers"]) == (weight > 0)
        return outcome.bundle

    plain, held, strong = update(0.0), update(1.0), update(10.0)
    old = [e.text for e in _rows(100, 5)]
    before = parent.predict_values(old)
    change = {
        name: float(np.abs(model.predict_values(old) - before).mean())
        for name, model in (("plain", plain), ("held", held), ("strong", strong))
    }
    assert change["strong"] < change["held"] < 0.7 * change["plain"]
    new = _rows(100, 6, shift=8.0)
    truth = np.array([float(e.label) for e in new])
    texts = [e.text for e in new]
    assert (
        np.abs(held.predict_values(texts) - truth).mean()
        > np.abs(plain.predict_values(texts) - truth).mean()
    )
