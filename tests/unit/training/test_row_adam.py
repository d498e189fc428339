"""RowAdam is SparseAdam, bit for bit, on the gradients an embedding bag gives."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lifelong.training.row_adam import RowAdam


def _run(
    optimizer_class: type[torch.optim.Optimizer],
    batches: list[list[int]],
    **options: bool,
) -> nn.Module:
    torch.manual_seed(0)
    bag = nn.EmbeddingBag(50, 8, mode="sum", sparse=True)
    optimizer = optimizer_class(bag.parameters(), lr=0.05, **options)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + step))
    for rows in batches:
        optimizer.zero_grad()
        ids = torch.tensor(rows, dtype=torch.long)
        bag(ids, torch.tensor([0, len(rows) // 2])).pow(2).sum().backward()
        optimizer.step()
        schedule.step()
    return bag


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(0, 49), min_size=2, max_size=30), min_size=1, max_size=8))
def test_row_adam_moves_the_weights_exactly_as_sparse_adam(batches: list[list[int]]) -> None:
    # repeated rows in a batch make an uncoalesced gradient, as a text's repeated n-grams do
    expected = _run(torch.optim.SparseAdam, batches).weight
    assert torch.equal(_run(RowAdam, batches).weight, expected)
    assert torch.equal(_run(RowAdam, batches, compiled=False).weight, expected)


def test_the_compiled_step_is_the_torch_steps_on_a_fast_pipeline_sized_table() -> None:
    # 7,000 n-gram occurrences of a batch on a 2**16 x 128 table: many repeated rows (whose
    # sums are torch's coalesce order) and widths past any vector register
    generator = torch.Generator().manual_seed(1)
    weights = []
    for compiled in (True, False):
        torch.manual_seed(0)
        bag = nn.EmbeddingBag(2**16, 128, mode="sum", sparse=True)
        optimizer = RowAdam(bag.parameters(), lr=0.05, compiled=compiled)
        assert optimizer.compiled is compiled
        generator.manual_seed(1)
        for _ in range(3):
            rows = torch.randint(0, 2**16, (3_000,), generator=generator)
            ids = rows[torch.randint(0, 3_000, (7_000,), generator=generator)]
            offsets = torch.arange(0, 7_000, 110)
            optimizer.zero_grad()
            bag(ids, offsets, per_sample_weights=torch.rand(7_000, generator=generator)).pow(
                2
            ).sum().backward()
            optimizer.step()
        weights.append(bag.weight.detach())
    assert torch.equal(weights[0], weights[1])


def test_row_adam_state_is_sparse_adams_and_dense_gradients_are_refused() -> None:
    batches = [[1, 2, 2, 3], [3, 4, 40, 41]]
    ours, theirs = (_run(cls, batches) for cls in (RowAdam, torch.optim.SparseAdam))
    assert torch.equal(ours.weight, theirs.weight)
    dense = nn.Linear(2, 2)
    optimizer = RowAdam(dense.parameters())
    dense(torch.ones(1, 2)).sum().backward()
    with pytest.raises(RuntimeError, match="sparse gradients"):
        optimizer.step()
