"""The chunked tabular benchmark's step on a few hundred generated rows."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import pytest

from lifelong.config import Pipeline, TabularSettings, Training
from lifelong.models import ModelBundle
from lifelong.testing.scripts import load_script

BENCH = Path(__file__).resolve().parents[3] / "bench" / "tabular_chunks.py"
TRAINING = Training(epochs=2, batch_size=64, seed=0)


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(BENCH, "tabular_chunks")


def test_chunks_keep_stream_order_and_cover_every_row(bench: ModuleType, tmp_path: Path) -> None:
    examples = bench.read(bench.friedman(tmp_path, 300, 0))
    chunks = bench.cut(examples, 4)
    assert [e for chunk in chunks for e in chunk] == examples
    assert sorted(map(len, chunks)) == [75, 75, 75, 75]


@pytest.mark.parametrize("make", ["agrawal", "friedman"])
def test_step_updates_each_method_from_its_own_parent(
    bench: ModuleType, tmp_path: Path, make: str
) -> None:
    stream = getattr(bench, make)(tmp_path, 300, 0)
    chunks = bench.cut(bench.read(stream), 3)
    pipeline = Pipeline(
        name="tabular", hidden=16, tabular=TabularSettings(kind=stream.columns.kind)
    )
    parents: dict[str, ModelBundle] = {}
    first = bench.step(chunks, 0, parents, pipeline, TRAINING)
    assert list(first) == bench.METHODS
    assert len({id(s.bundle) for s in first.values()}) == 1  # one cold model at step 0
    cold = parents["cold"]
    second = bench.step(chunks, 1, parents, pipeline, TRAINING)
    assert len({id(s.bundle) for s in second.values()}) == len(bench.METHODS)
    assert all(parents[m] is second[m].bundle and parents[m] is not cold for m in bench.METHODS)
    for result in second.values():
        assert result.seconds > 0
        assert result.wall >= result.seconds
        assert math.isfinite(result.score)
        assert result.score > 0 if stream.regression else 0 <= result.score <= 1
    records = [
        {"dataset": stream.name, "seed": 0, "step": t, "n_train": 100 * (t + 1)}
        | {m: {"score": s.score, "seconds": s.seconds, "wall": s.wall} for m, s in r.items()}
        for t, r in enumerate([first, second])
    ]
    table = bench.tables(records)
    assert ("RMSE" if stream.regression else "accuracy") in table
    assert all(f"| {m} |" in table for m in bench.METHODS)
