"""bench/gate_noise.py judges seed twins with the real gate and names the rule of a rejection."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from lifelong.testing.scripts import load_script

BENCH = Path(__file__).resolve().parents[3] / "bench"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCH))  # its sibling imports, as when run from bench/
        return load_script(BENCH / "gate_noise.py", "gate_noise_bench")


def test_twins_that_agree_are_all_promoted_as_ties(bench: ModuleType) -> None:
    truth = ["a", "b"] * 50
    verdicts = bench.judge_twins([list(truth)] * 3, truth)
    assert len(verdicts) == 6  # every ordered pair
    assert all(v.promoted and v.mcnemar.p_value == 1.0 for v in verdicts)
    assert "| 6 | 0 (-) | 0 |" in bench.row("toy", [list(truth)] * 3, truth)


def test_a_worse_twin_is_rejected_and_the_rule_named(bench: ModuleType) -> None:
    truth = ["a", "b"] * 100
    worse = [("b" if t == "a" else "a") if i < 60 else t for i, t in enumerate(truth)]
    verdicts = bench.judge_twins([list(truth), list(truth), worse], truth)
    rejected = [v for v in verdicts if not v.promoted]
    assert sorted(v.challenger_version for v in rejected) == ["seed 2", "seed 2"]
    # 60 of the champion's 200 right answers broken: the backward check (first in precedence)
    assert {bench.rule(v) for v in rejected} == {"backward"}
    better = [v for v in verdicts if v.champion_version == "seed 2"]
    assert all(v.promoted and (v.difference or 0) > 0 for v in better)
    assert "(backward 2) | 2 |" in bench.row("toy", [list(truth), list(truth), worse], truth)
