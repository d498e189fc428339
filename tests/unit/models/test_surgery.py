from __future__ import annotations

import torch

from lifelong.features import HashedNGrams
from lifelong.models import IntentClassifier, remap_head
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
