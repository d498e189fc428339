"""Every init strategy runs through the same checks; ShrinkPerturb's limits are warm and cold."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from lifelong.models import IntentClassifier
from lifelong.training import ColdStart, InitStrategy, ShrinkPerturb, WarmStart


def _network(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return IntentClassifier(buckets=1024, dim=8, dense_dim=4, hidden=16, dropout=0.0, n_classes=5)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


STRATEGIES: list[InitStrategy] = [
    WarmStart(),
    ColdStart(),
    ShrinkPerturb(0.6, 0.01),
    ShrinkPerturb(0.5, 0.1, noise="gaussian", exclude=["embeddings", "norms"]),
]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s.name)
def test_contract(strategy: InitStrategy) -> None:
    parent, fresh = _network(1), _network(2)
    expected_shapes = {k: v.shape for k, v in parent.state_dict().items()}

    def run() -> dict[str, torch.Tensor]:
        model = strategy.apply(
            copy.deepcopy(parent), lambda: copy.deepcopy(fresh), torch.Generator().manual_seed(0)
        )
        return _state(model)

    first, second = run(), run()
    assert {k: v.shape for k, v in first.items()} == expected_shapes
    assert all(torch.isfinite(v).all() for v in first.values())
    assert all(torch.equal(first[k], second[k]) for k in first)  # deterministic
    params = strategy.params()
    assert isinstance(params, dict)
    assert strategy.name in {"warm", "cold", "shrink_perturb"}


def _apply(strategy: InitStrategy) -> dict[str, torch.Tensor]:
    model = strategy.apply(_network(1), lambda: _network(2), torch.Generator().manual_seed(0))
    return _state(model)


@pytest.mark.parametrize(
    ("shrink_perturb", "equivalent"),
    [(ShrinkPerturb(1.0, 0.0), WarmStart()), (ShrinkPerturb(0.0, 1.0), ColdStart())],
    ids=["warm", "cold"],
)
def test_shrink_perturb_limits(shrink_perturb: ShrinkPerturb, equivalent: InitStrategy) -> None:
    got, expected = _apply(shrink_perturb), _apply(equivalent)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=0, atol=0)


def test_shrink_perturb_is_the_convex_formula_on_every_tensor() -> None:
    parent, fresh = _state(_network(1)), _state(_network(2))
    got = _apply(ShrinkPerturb(0.6, 0.3))
    for name in parent:
        torch.testing.assert_close(got[name], 0.6 * parent[name] + 0.3 * fresh[name])


def test_excluded_families_keep_the_parent_values() -> None:
    parent = _state(_network(1))
    got = _apply(ShrinkPerturb(0.5, 0.1, exclude=["embeddings", "norms"]))
    for name in ("bag.weight", "norm.weight", "norm.bias"):
        assert torch.equal(got[name], parent[name])
    assert not torch.equal(got["hidden.weight"], parent["hidden.weight"])


def test_gaussian_noise_has_the_asked_scale() -> None:
    parent = _state(_network(1))
    got = _apply(ShrinkPerturb(1.0, 0.05, noise="gaussian"))
    noise = got["bag.weight"] - parent["bag.weight"]
    assert abs(float(noise.std()) - 0.05) < 0.002


@pytest.mark.parametrize(
    "strategy", [WarmStart(), ShrinkPerturb(0.5, 0.1, noise="gaussian")], ids=["warm", "gaussian"]
)
def test_strategies_that_use_no_fresh_network_build_none(strategy: InitStrategy) -> None:
    """Building one initialises the whole n-gram table: wasted time in every warm update."""

    def refuse() -> torch.nn.Module:
        raise AssertionError("built a fresh network it does not use")

    strategy.apply(_network(1), refuse, torch.Generator().manual_seed(0))
