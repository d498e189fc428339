"""The data layer: readers for Rasa YAML, JSONL, CSV and Parquet; validation; content-addressed
snapshots and their diffs; stable hash-based splits.

>>> from lifelong.data import Snapshot, diff
>>> a = Snapshot.of([Example.make("hi", "greet")])
>>> b = Snapshot.of([Example.make("hi", "greet"), Example.make("bye", "goodbye")])
>>> diff(a, b).summary()["new_labels"]
['goodbye']
"""

from lifelong.core.types import Example
from lifelong.data.dataset import Dataset, load_dataset
from lifelong.data.read import SUPPORTED, read_file, read_paths
from lifelong.data.result import ReadResult
from lifelong.data.snapshot import Snapshot, SnapshotDiff, apply_diff, diff, diff_from_labels
from lifelong.data.split import SplitData, split_examples, split_of
from lifelong.data.trainable import check_trainable, untrainable_intents
from lifelong.data.validate import check, find_conflicts

__all__ = [
    "SUPPORTED",
    "Dataset",
    "Example",
    "ReadResult",
    "Snapshot",
    "SnapshotDiff",
    "SplitData",
    "apply_diff",
    "check",
    "check_trainable",
    "diff",
    "diff_from_labels",
    "find_conflicts",
    "load_dataset",
    "read_file",
    "read_paths",
    "split_examples",
    "split_of",
    "untrainable_intents",
]
