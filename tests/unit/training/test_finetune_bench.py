"""The chunked fine-tune benchmark: its band verdicts on synthetic rows and its seeding on a tiny
data set (never the shared ones)."""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifelong.config import NGrams, Pipeline, Training, load_config
from lifelong.core.errors import ConfigError
from lifelong.core.types import Example
from lifelong.testing.scripts import load_script
from lifelong.training import train

BENCH = Path(__file__).resolve().parents[3] / "bench" / "finetune.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(BENCH, "finetune_bench")


def synthetic(deltas: list[float], ratio: float = 0.1) -> list[dict[str, Any]]:
    """Two seeds, step 0 plus one update step per delta: cold's mean accuracy is 90 + t points
    (the seeds 0.2 pt either side of it); ``warm`` is cold + ``deltas[t - 1]`` points at
    ``ratio`` of cold's seconds on both seeds, so its mean delta at step t is that delta."""
    rows = []
    for seed, side in ((0, 1), (1, -1)):
        for step in range(len(deltas) + 1):
            cold = (90 + step + 0.2 * side) / 100
            row: dict[str, Any] = {
                "dataset": "toy",
                "pipeline": "ngrams",
                "seed": seed,
                "step": step,
                "n_train": 100 * (step + 5),
                "cold": {"accuracy": cold, "seconds": 10.0},
            }
            if step:
                warm = cold + deltas[step - 1] / 100
                row["warm"] = {"accuracy": warm, "seconds": 10.0 * ratio}
            rows.append(row)
    return rows


def warm_verdict(bench: ModuleType, rows: list[dict[str, Any]]) -> dict[str, Any]:
    (verdict,) = [v for v in bench.verdicts(rows) if v["method"] == "warm"]
    return dict(verdict)


def test_band_verdict_flips_when_one_step_falls_0_3_below_cold(bench: ModuleType) -> None:
    inside = warm_verdict(bench, synthetic([0.0, -0.1, -0.15]))
    assert inside["in_band"]
    assert inside["steps"] == 3
    assert inside["worst_delta"] == pytest.approx(-0.15)
    assert inside["median_delta"] == pytest.approx(-0.1)
    assert inside["median_ratio"] == pytest.approx(0.1)
    outside = warm_verdict(bench, synthetic([0.0, -0.3, -0.15]))
    assert not outside["in_band"]
    assert outside["worst_delta"] == pytest.approx(-0.3)
    assert outside["median_delta"] == pytest.approx(-0.15)  # the median alone would pass


def test_fastest_in_band_names_the_variant_or_says_there_is_none(bench: ModuleType) -> None:
    rows = synthetic([0.0, -0.1])
    assert "fastest update variant inside the band at every step: warm (10.0%" in (
        bench.fastest_in_band(bench.verdicts(rows), "toy", "ngrams")
    )
    rows = synthetic([0.0, -0.3])
    assert "no update variant" in bench.fastest_in_band(bench.verdicts(rows), "toy", "ngrams")


@given(st.lists(st.floats(-1.0, 1.0).filter(lambda d: abs(d + 0.2) > 1e-6), min_size=1))
def test_band_is_every_step_no_more_than_0_2_below_cold(
    bench: ModuleType, deltas: list[float]
) -> None:
    verdict = warm_verdict(bench, synthetic(deltas))
    assert verdict["in_band"] == all(d >= -0.2 for d in deltas)
    assert verdict["worst_delta"] == pytest.approx(min(deltas), abs=1e-9)
    assert verdict["median_delta"] == pytest.approx(statistics.median(deltas), abs=1e-9)


def test_tables_show_mean_and_spread_over_seeds(bench: ModuleType) -> None:
    rows = synthetic([0.0, -0.3])
    stats = bench.per_step(rows, "cold")
    assert stats[1][0] == pytest.approx(91.0)
    assert stats[1][1] == pytest.approx(statistics.stdev([91.2, 90.8]))
    table = bench.markdown(rows)
    assert "over 2 seed(s)" in table
    assert "| 1 | 600 | 91.00 +- 0.28 (10.0 s) | 91.00 +- 0.28 (1.0 s) |" in table
    assert "| 0 | 500 | 90.00 +- 0.28 (10.0 s) | - |" in table
    assert "| toy | ngrams | warm | 2 | -0.30 | -0.15 | 10.0% | no |" in bench.summary(rows)


def tiny(folder: Path) -> Path:
    """Four intents told apart by a keyword among shared filler words; a fifth of the train
    labels are flipped, so no model is perfect and accuracies can tell runs apart."""
    rng = random.Random(0)
    intents = ["alpha", "beta", "gamma", "delta"]
    filler = [f"w{i}" for i in range(40)]

    def rows(n: int, noise: float) -> list[dict[str, str]]:
        out = []
        for _ in range(n):
            intent = rng.choice(intents)
            words = [*rng.sample(filler, 4), f"{intent}{rng.randrange(3)}"]
            rng.shuffle(words)
            label = rng.choice(intents) if rng.random() < noise else intent
            out.append({"text": " ".join(words), "intent": label})
        return out

    root = folder / "datasets"
    (root / "tiny").mkdir(parents=True)
    for split, n, noise in (("train", 240, 0.2), ("valid", 40, 0.0), ("test", 200, 0.0)):
        lines = [json.dumps(r) for r in rows(n, noise)]
        (root / "tiny" / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    return root


def test_chunks_cover_the_data_and_follow_the_seed(bench: ModuleType) -> None:
    examples = [Example.make(f"text {i}", "a") for i in range(100)]
    first = bench.chunks(examples, [0.5, 0.1, 0.1], 0)
    assert [len(c) for c in first] == [50, 10, 10]
    assert first == bench.chunks(examples, [0.5, 0.1, 0.1], 0)
    assert first != bench.chunks(examples, [0.5, 0.1, 0.1], 1)
    assert len({e.hash for c in first for e in c}) == 70


def test_a_seed_repeats_and_two_seeds_differ(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = (
        Pipeline(hidden=16, ngrams=NGrams(buckets=4096, dim=16)),
        Training(epochs=2, batch_size=32),
    )
    monkeypatch.setitem(bench.PIPELINES, "ngrams", small)
    seeds_trained: list[int] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seeds_trained.append(kwargs["training"].seed)
        return train(*args, **kwargs)

    monkeypatch.setattr(bench, "train", spy)
    args = argparse.Namespace(
        datasets=tiny(tmp_path),
        out=tmp_path / "out",
        quick=True,
        methods={"cold", "warm", "tfidf+lr", "sgd"},
        baselines="last",
    )

    def accuracies(seed: int) -> list[tuple[int, str, float]]:
        seeds_trained.clear()
        rows = bench.run("tiny", "ngrams", seed, args)
        assert [r["seed"] for r in rows] == [seed] * 3
        assert seeds_trained == [seed] * 5  # cold at every step, warm at steps 1 and 2
        return [(r["step"], m, r[m]["accuracy"]) for r in rows for m in bench.METHODS if m in r]

    first = accuracies(0)
    methods = [(step, method) for step, method, _ in first]
    assert methods == [
        (0, "cold"),
        (0, "sgd"),
        (1, "cold"),
        (1, "warm"),
        (1, "sgd"),
        (2, "cold"),
        (2, "warm"),
        (2, "tfidf+lr"),
        (2, "sgd"),
    ]  # warm from step 1 on, TF-IDF + LR only at the last step with --baselines last
    assert accuracies(0) == first
    assert accuracies(1) != first


def test_config_set_edits_keys_and_refuses_an_invalid_value(
    bench: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "config.yml"
    path.write_text("training: {epochs: 7}\nfinetune: {data: all}\n")
    bench.config_set(path, ["finetune.data=new+replay", "finetune.lr_scale=0.25", "splits.salt=s"])
    config = load_config(path)
    assert config.finetune.data == "new+replay"
    assert config.finetune.lr_scale == 0.25
    assert config.splits.salt == "s"
    assert config.training.epochs == 7  # untouched keys survive the rewrite
    before = path.read_text()
    with pytest.raises(ConfigError):
        bench.config_set(path, ["finetune.lr_scale=fast"])
    assert path.read_text() == before


def test_the_valid_band_chooses_and_the_test_band_only_reports(bench: ModuleType) -> None:
    """Every step within 0.2 pt of cold on test, one step 0.5 below it on valid: no variant is
    chosen, since valid decides; with valid inside the band the same rows choose warm."""
    rows = synthetic([0.0, -0.1])
    for row in rows:
        for method in ("cold", "warm"):
            if method in row:
                row[method] |= {"valid": row[method]["accuracy"], "ece": 0.05}
    chosen = bench.fastest_in_band(bench.verdicts(rows), "toy", "ngrams")
    assert "inside the band at every step on valid: warm" in chosen
    for row in (r for r in rows if r["step"] == 2):
        row["warm"]["valid"] = row["cold"]["valid"] - 0.005
    (verdict,) = [v for v in bench.verdicts(rows) if v["method"] == "warm"]
    assert verdict["in_band"]
    assert not verdict["valid_in_band"]
    assert verdict["valid_worst_delta"] == pytest.approx(-0.5)
    assert verdict["ece"] == pytest.approx(0.05)
    assert "no update variant" in bench.fastest_in_band([verdict], "toy", "ngrams")


def test_a_variant_is_init_s_update_with_the_keys_changed(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "METHODS", list(bench.METHODS))
    monkeypatch.setattr(bench, "FINETUNES", dict(bench.FINETUNES))
    assert bench.add_variant("big:replay_size=5000,epoch_fraction=0.3") == "big"
    variant = bench.FINETUNES["big"]
    assert (variant.replay_size, variant.epoch_fraction) == (5000, 0.3)
    assert (variant.data, variant.lr_scale) == (bench.REPLAY.data, bench.REPLAY.lr_scale)
    assert bench.METHODS.index("big") < bench.METHODS.index("tfidf+lr")
    with pytest.raises(ValueError, match="new method name"):
        bench.add_variant("warm:replay_size=10")
    with pytest.raises(ValueError, match="lr_scale"):  # pydantic's ValidationError is one
        bench.add_variant("bad:lr_scale=fast")
