"""Temperature scaling: the fitted temperature, and a trained bundle that applies it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.config import Pipeline, Training
from lifelong.core import Example
from lifelong.models import ModelBundle
from lifelong.models.objective import TEMPERATURE
from lifelong.training import train
from lifelong.training.calibrate import MIN_EXAMPLES, fit_temperature, recalibrated


def _sampled(
    scale: float, n: int = 4000, classes: int = 10, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``scale`` times too sharp for labels drawn from ``softmax(z)``."""
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, classes, generator=generator) * 2
    labels = torch.multinomial(torch.softmax(z, dim=1), 1, generator=generator)[:, 0]
    return z * scale, labels


@pytest.mark.parametrize("scale", [0.4, 3.0])
def test_fit_recovers_the_scale_and_lowers_ece(scale: float) -> None:
    logits, labels = _sampled(scale)
    fitted = fit_temperature(logits, labels)
    assert fitted.value == pytest.approx(scale, rel=0.1)
    assert fitted.ece_before is not None
    assert fitted.ece_after is not None
    assert fitted.ece_after < fitted.ece_before / 2


def test_unknown_labels_are_left_out_and_few_examples_keep_one() -> None:
    logits, labels = _sampled(3.0, n=MIN_EXAMPLES + 5)
    labels[:10] = -1  # intents the model lacks: no likelihood to score
    fitted = fit_temperature(logits, labels)
    assert (fitted.value, fitted.n_valid, fitted.ece_before) == (1.0, MIN_EXAMPLES - 5, None)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.1, 10.0))
def test_the_fitted_temperature_is_in_bounds_and_no_worse_than_one(seed: int, scale: float) -> None:
    logits, labels = _sampled(scale, n=200, classes=5, seed=seed)
    fitted = fit_temperature(logits, labels)
    assert 0.05 <= fitted.value <= 20.0

    def nll(t: float) -> float:
        return float(torch.nn.functional.cross_entropy(logits.double() / t, labels))

    assert nll(fitted.value) <= nll(1.0) + 1e-9


def _train(
    make_examples: Callable[..., list[Example]],
    labels: list[str],
    pipeline: Pipeline,
    training: Training,
) -> ModelBundle:
    outcome = train(
        make_examples(labels, 30, 0),
        make_examples(labels, 12, 1),
        pipeline=pipeline,
        training=training,
        progress=False,
    )
    return outcome.bundle


def test_a_trained_bundle_applies_its_temperature_and_keeps_its_predictions(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: Callable[..., list[Example]],
    old_labels: list[str],
    tmp_path: Path,
) -> None:
    calibrated = _train(make_examples, old_labels, small_pipeline, small_training)
    plain = _train(
        make_examples,
        old_labels,
        small_pipeline,
        small_training.model_copy(update={"calibrate_confidence": False}),
    )
    assert TEMPERATURE not in plain.spec.meta
    temperature = calibrated.spec.meta[TEMPERATURE]
    assert temperature != 1.0
    texts = [e.text for e in make_examples(old_labels, 5, 2)]
    labels, proba = calibrated.predict(texts)
    plain_labels, plain_proba = plain.predict(texts)
    assert labels == plain_labels  # the same weights: calibration moves no prediction
    logits = np.log(plain_proba)  # softmax is shift-invariant, so log-probabilities do
    expected = torch.softmax(torch.from_numpy(logits) / temperature, dim=1).numpy()
    np.testing.assert_allclose(proba, expected, rtol=1e-4, atol=1e-6)
    raw = calibrated.predict_proba(texts, calibrated=False)  # what the intake screen reads
    np.testing.assert_allclose(raw, plain_proba, rtol=1e-5, atol=1e-6)
    calibrated.save(tmp_path / "model")
    loaded = ModelBundle.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict_proba(texts), proba, rtol=1e-5, atol=1e-6)


def test_recalibrated_fits_again_keeps_it_on_few_examples_and_skips_the_uncalibrated(
    small_pipeline: Pipeline,
    small_training: Training,
    make_examples: Callable[..., list[Example]],
    old_labels: list[str],
) -> None:
    calibrated = _train(make_examples, old_labels, small_pipeline, small_training)
    before = calibrated.spec.meta[TEMPERATURE]
    out = calibrated.module.out
    assert isinstance(out, torch.nn.Linear)
    with torch.no_grad():  # a changed network: sharper logits want a larger temperature
        out.weight.mul_(3.0)
        out.bias.mul_(3.0)
    valid = make_examples(old_labels, 12, 3)
    refit, fitted = recalibrated(calibrated, valid)
    assert fitted is not None
    assert fitted.n_valid == len(valid) >= MIN_EXAMPLES
    assert refit.spec.meta[TEMPERATURE] == pytest.approx(fitted.value)
    assert fitted.value > before
    assert calibrated.spec.meta[TEMPERATURE] == before, "the original bundle is not changed"
    kept, few = recalibrated(calibrated, valid[: MIN_EXAMPLES - 1])
    assert few is not None
    assert few.ece_before is None
    assert kept.spec.meta[TEMPERATURE] == before
    plain = _train(
        make_examples,
        old_labels,
        small_pipeline,
        small_training.model_copy(update={"calibrate_confidence": False}),
    )
    untouched, none = recalibrated(plain, valid)
    assert none is None
    assert untouched is plain
    assert TEMPERATURE not in plain.spec.meta
