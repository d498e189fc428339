"""Benchmark: the memory a stream's duplicate and conflict check takes per row.

:class:`lifelong.data.repeats.RowKeys` keys every row of a scan by two 64-bit hashes and sorts
them once (:mod:`lifelong.data.repeats`). This measures, for ``n`` synthetic rows (1% of them
repeats of an earlier row, 0.1% an earlier text under another label), the peak memory the keys
take while the rows are added and while they are sorted (``tracemalloc``: numpy's buffers are
traced; the Python lists of one block of keys, ~5 MB, are a constant), with the keys in memory
and with them on disk (``memory_rows`` a quarter of ``n``: SQLite), and the seconds it takes
(the rows' strings are made in the loop too); the repeats found are checked against those
planted.

Run from the project root::

    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/repeats.py [--rows 250000 1000000 4000000]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from lifelong.data.repeats import RowKeys


def _fill(keys: RowKeys, n: int) -> None:
    for i in range(n):
        if i % 100 == 99:
            text, label = f"row {i - 50}", f"label {(i - 50) % 150}"  # a duplicate
        elif i % 1000 == 998:
            text, label = f"row {i - 7}", "another label"  # a conflict
        else:
            text, label = f"row {i}", f"label {i % 150}"
        keys.add(text, label)


def measure(n: int, on_disk: bool) -> dict[str, float]:
    """Peak traced MB of adding ``n`` rows' keys and of finding their repeats (one run,
    traced), and the seconds of each (another run, untraced: tracing slows allocation)."""
    memory_rows = n // 4 if on_disk else n + 1
    keys = RowKeys(memory_rows)
    tracemalloc.start()
    _fill(keys, n)
    _, add_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    found = keys.find()
    _, find_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert found.duplicates.size == n // 100, found.duplicates.size
    assert len(found.conflicts) == (n + 1) // 1000, len(found.conflicts)
    keys = RowKeys(memory_rows)
    started = time.perf_counter()
    _fill(keys, n)
    add_s = time.perf_counter() - started
    started = time.perf_counter()
    keys.find()
    find_s = time.perf_counter() - started
    return {
        "add_mb": add_peak / 2**20,
        "find_mb": find_peak / 2**20,
        "add_s": add_s,
        "find_s": find_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[250_000, 1_000_000, 4_000_000])
    args = parser.parse_args()
    print(
        f"{'rows':>10} {'keys':>7} {'add MB':>8} {'B/row':>6} {'sort MB':>8} {'B/row':>6} "
        f"{'add s':>7} {'sort s':>7}"
    )
    for n in args.rows:
        for on_disk in (False, True):
            m = measure(n, on_disk)
            print(
                f"{n:>10,} {'disk' if on_disk else 'memory':>7} {m['add_mb']:>8.1f} "
                f"{m['add_mb'] * 2**20 / n:>6.1f} {m['find_mb']:>8.1f} "
                f"{m['find_mb'] * 2**20 / n:>6.1f} {m['add_s']:>7.2f} {m['find_s']:>7.2f}"
            )


if __name__ == "__main__":
    main()
