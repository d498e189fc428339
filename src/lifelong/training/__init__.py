"""Training: the loop, init strategies for updates, replay and compatibility checks.

``train()`` is the entry point: cold when given no parent, an update (warm, shrink-and-perturb
or cold start, with head surgery for new and vanished intents) when given one.
"""

from lifelong.training.api import TrainOutcome, check_parent, train, update_epochs
from lifelong.training.compat import LabelPlan, check_compatible, plan_labels
from lifelong.training.init import ColdStart, InitStrategy, ShrinkPerturb, WarmStart, make_strategy
from lifelong.training.replay import replay_sample
from lifelong.training.trainer import FitResult, Trainer

__all__ = [
    "ColdStart",
    "FitResult",
    "InitStrategy",
    "LabelPlan",
    "ShrinkPerturb",
    "TrainOutcome",
    "Trainer",
    "WarmStart",
    "check_compatible",
    "check_parent",
    "make_strategy",
    "plan_labels",
    "replay_sample",
    "train",
    "update_epochs",
]
