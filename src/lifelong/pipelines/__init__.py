"""Recipes: explicit, top-to-bottom orchestration across layers (data -> training -> evaluation
-> registry). Only ``pipelines`` and ``cli`` import across layers, and nothing imports them.
"""

from lifelong.pipelines.judge import Judgement, evaluate_version, judge
from lifelong.pipelines.retrain import (
    TrainOptions,
    TrainResult,
    check_launch,
    train_shard,
    train_version,
)
from lifelong.pipelines.session import load_bundle

__all__ = [
    "Judgement",
    "TrainOptions",
    "TrainResult",
    "check_launch",
    "evaluate_version",
    "judge",
    "load_bundle",
    "train_shard",
    "train_version",
]
