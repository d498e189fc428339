"""Benchmark of the featurizer: the compiled ``HashedNGrams`` core against its Python path.

Both give the same matrix bit for bit (checked here on the whole data set before timing). Texts
are CLINC150's in-scope training set, read by path; each figure is the median of ``--repeat``
passes over it, in batches of 256 (as the server scores a batch and training featurizes) and
one text at a time (a single-text request). The two run alternately, so both see the same state
of a shared, noisy machine. Prints a markdown table and writes ``bench/out/featurize.md``.

    PYTHONPATH=src python bench/featurize.py [--repeat 5] [--single 3000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lifelong.features import HashedNGrams

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATA = ROOT.parent / "shared" / "datasets" / "clinc150" / "train.jsonl"
BATCH = 256


def us_per_text(run: Callable[[], int]) -> float:
    """Microseconds per text of one call of ``run``, which returns how many texts it did."""
    started = time.perf_counter()
    count = run()
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--single", type=int, default=3000, help="texts timed one at a time")
    args = parser.parse_args()
    lines = DATA.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    featurizers = {
        "compiled": HashedNGrams(1 << 18),
        "python": HashedNGrams(1 << 18, compiled=False),
    }
    assert featurizers["compiled"].compiled, "the compiled module is not built: pip install -e ."
    matrices = [f.transform(texts).sparse for f in featurizers.values()]
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(matrices[0], name), getattr(matrices[1], name)), name

    def batches(featurizer: HashedNGrams) -> int:
        for start in range(0, len(texts), BATCH):
            featurizer.transform(texts[start : start + BATCH])
        return len(texts)

    def singles(featurizer: HashedNGrams) -> int:
        for text in texts[: args.single]:
            featurizer.transform([text])
        return args.single

    figures: dict[str, dict[str, list[float]]] = {
        n: {"batch": [], "single": []} for n in featurizers
    }
    for _ in range(args.repeat):  # alternate, one pass each, so drifts of the host hit both
        for name, featurizer in featurizers.items():
            figures[name]["batch"].append(us_per_text(lambda f=featurizer: batches(f)))
            figures[name]["single"].append(us_per_text(lambda f=featurizer: singles(f)))
    median = {n: {k: statistics.median(v) for k, v in f.items()} for n, f in figures.items()}
    rows = [
        "| path | batches of 256: µs / text | one text: µs / text |",
        "| --- | ---: | ---: |",
        *(f"| {n} | {m['batch']:.2f} | {m['single']:.1f} |" for n, m in median.items()),
        "| python / compiled | "
        f"{median['python']['batch'] / median['compiled']['batch']:.2f}x | "
        f"{median['python']['single'] / median['compiled']['single']:.2f}x |",
    ]
    table = "\n".join(rows)
    print(f"{len(texts)} CLINC150 texts, median of {args.repeat} alternating passes\n{table}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "featurize.md").write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
