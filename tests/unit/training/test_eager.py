"""The eager optimizers are torch's, bit for bit, and leave torch._dynamo unimported."""

from __future__ import annotations

import subprocess
import sys

import torch
from torch import nn

from lifelong.training.eager import LBFGS, AdamW


def _adamw(optimizer_class: type[torch.optim.Optimizer], steps: int) -> tuple[nn.Module, dict]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    optimizer = optimizer_class(net.parameters(), lr=0.05, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + step))
    inputs, targets = torch.randn(16, 6), torch.randint(0, 3, (16,))
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(inputs), targets).backward()
        optimizer.step()
        schedule.step()
    return net, optimizer.state_dict()


def test_adamw_moves_the_weights_and_keeps_the_state_of_torchs() -> None:
    ours, our_state = _adamw(AdamW, 7)
    theirs, their_state = _adamw(torch.optim.AdamW, 7)
    for mine, expected in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(mine, expected)
    assert our_state["param_groups"] == their_state["param_groups"]
    for key, state in their_state["state"].items():
        for name, value in state.items():
            assert torch.equal(our_state["state"][key][name], value)


def test_adamw_resumes_from_its_state_dict() -> None:
    """A checkpoint's round trip: 3 steps, the state loaded into a new optimizer, 4 more, as
    7 in one go."""
    straight, _ = _adamw(AdamW, 7)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    first = AdamW(net.parameters(), lr=0.05, weight_decay=0.01)
    inputs, targets = torch.randn(16, 6), torch.randint(0, 3, (16,))
    rates = [0.05 / (1 + step) for step in range(7)]
    for step in range(7):
        optimizer = first
        if step >= 3:
            if step == 3:
                second = AdamW(net.parameters(), lr=0.05, weight_decay=0.01)
                second.load_state_dict(first.state_dict())
            optimizer = second
        for group in optimizer.param_groups:
            group["lr"] = rates[step]
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(inputs), targets).backward()
        optimizer.step()
    for mine, expected in zip(net.parameters(), straight.parameters(), strict=True):
        assert torch.equal(mine, expected)


def test_lbfgs_finds_torchs_minimum() -> None:
    def fit(optimizer_class: type[torch.optim.Optimizer]) -> torch.Tensor:
        x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        optimizer = optimizer_class([x], max_iter=50, line_search_fn="strong_wolfe")

        def loss() -> torch.Tensor:
            optimizer.zero_grad()
            value = (x[0] - 3) ** 2 + 10 * (x[1] + 1) ** 4
            value.backward()  # type: ignore[no-untyped-call]
            return value

        optimizer.step(loss)  # type: ignore[no-untyped-call]
        return x.detach()

    assert torch.equal(fit(LBFGS), fit(torch.optim.LBFGS))


def test_building_stepping_and_saving_them_does_not_import_dynamo() -> None:
    code = (
        "import sys, torch\n"
        "from lifelong.training.eager import AdamW, LBFGS\n"
        "from lifelong.training.row_adam import RowAdam\n"
        "net = torch.nn.Linear(3, 2)\n"
        "bag = torch.nn.EmbeddingBag(10, 2, sparse=True)\n"
        "dense, sparse = AdamW(net.parameters()), RowAdam(bag.parameters())\n"
        "loss = net(torch.ones(1, 3)).sum() + bag(torch.tensor([[1, 2]])).sum()\n"
        "loss.backward()\n"
        "for o in (dense, sparse):\n"
        "    o.step(); o.load_state_dict(o.state_dict()); o.zero_grad()\n"
        "x = torch.zeros((), requires_grad=True)\n"
        "LBFGS([x]).zero_grad()\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
