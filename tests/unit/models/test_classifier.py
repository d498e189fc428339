"""IntentClassifier's two ways in: the torch forward over bag inputs and the numpy forward an
online learner predicts with."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.models import IntentClassifier


@settings(deadline=None, max_examples=25)
@given(st.integers(0, 2**16), st.integers(1, 9), st.integers(1, 5))
def test_the_numpy_forward_gives_the_torch_forwards_logits(
    seed: int, rows: int, width: int
) -> None:
    """An online learner predicts through numpy; it must be the same network."""
    torch.manual_seed(seed)
    model = IntentClassifier(buckets=64, dim=8, dense_dim=0, hidden=16, dropout=0.5, n_classes=3)
    with torch.no_grad():  # a trained LayerNorm is not the identity
        model.norm.weight.normal_()
        model.norm.bias.normal_()
    generator = torch.Generator().manual_seed(seed)
    indices = torch.randint(0, 64, (rows, width), generator=generator)
    weights = torch.randn(rows, width, generator=generator)
    model.eval()
    with torch.no_grad():
        want = model.forward_bags(indices, weights).numpy()
        flat = model.forward_bags(
            indices.reshape(-1), weights.reshape(-1), torch.arange(rows) * width
        ).numpy()
    model.train()  # numpy has no dropout whatever the mode
    got = model.predict_numpy(indices.numpy(), weights.numpy())
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(flat, want, rtol=1e-5, atol=1e-6)
