from __future__ import annotations

import torch

from lifelong.features import HashedNGrams
from lifelong.models import IntentClassifier, head_inputs, imprint_rows, remap_head
from lifelong.models.surgery import NEW_ROW_STD


def test_old_intents_keep_their_logits_new_ones_appear_vanished_ones_go() -> None:
    torch.manual_seed(0)
    model = IntentClassifier(buckets=1024, dim=8, dense_dim=0, hidden=16, dropout=0.0, n_classes=3)
    model.eval()
    features = HashedNGrams(1024).transform(["set an alarm", "play a song", "book a table"])
    before = model(features)
    remap_head(model, ["a", "b", "c"], ["a", "c", "d", "e"], torch.Generator().manual_seed(0))
    after = model(features)
    assert after.shape == (3, 4)
    torch.testing.assert_close(after[:, [0, 1]], before[:, [0, 2]])
    assert model.out.weight[2:].abs().max() < 6 * NEW_ROW_STD
    torch.testing.assert_close(model.out.bias[2:], before.new_full((2,), 0) + model.out.bias[2])


def test_imprinting_points_a_new_row_at_what_sets_its_examples_apart() -> None:
    torch.manual_seed(0)
    model = IntentClassifier(buckets=1024, dim=8, dense_dim=0, hidden=16, dropout=0.5, n_classes=2)
    remap_head(model, ["a", "b"], ["a", "b", "new"], torch.Generator().manual_seed(0))
    model.train()
    features = HashedNGrams(1024).transform(["points balance", "my rewards", "play a song"])
    inputs = head_inputs(model, features)
    assert inputs.shape == (3, 16)
    assert model.training  # restored after the eval-mode pass
    torch.testing.assert_close(inputs, head_inputs(model, features))  # no dropout
    kept = model.out.weight[:2].detach().clone()
    center = inputs.mean(dim=0)
    imprint_rows(model, {2: inputs[:2].mean(dim=0)}, center, [0, 1])
    row = model.out.weight[2].detach()
    direction = inputs[:2].mean(dim=0) - center
    torch.testing.assert_close(row / row.norm(), direction / direction.norm())
    torch.testing.assert_close(row.norm(), kept.norm(dim=1).mean())
    torch.testing.assert_close(model.out.weight[:2], kept)
