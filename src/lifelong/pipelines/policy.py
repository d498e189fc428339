"""The update policy: fine-tune the champion (stateful) unless a cold training is due.

Stateful fine-tuning is the default because it is fast; a periodic cold training (every Kth
update, or after N days) bounds the drift of a long fine-tuning chain, and two rejected
fine-tunes in a row suggest the warm start itself is the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lifelong.project import Project
from lifelong.registry import ModelVersion, Registry


@dataclass(frozen=True)
class Plan:
    """One challenger to train: cold, or fine-tuned from ``parent``, and why."""

    kind: Literal["finetune", "cold"]
    parent: str | None
    reason: str

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "parent": self.parent, "reason": self.reason}


def updates_since_cold(registry: Registry, version: ModelVersion) -> int:
    """How many fine-tunes separate ``version`` from the cold training its line started with."""
    return len(registry.ancestors(version.label))


def rejected_finetunes_in_a_row(registry: Registry) -> int:
    """Rejected fine-tune cycles since the last cycle that promoted or trained cold."""
    count = 0
    for cycle in reversed(registry.store.list_cycles(limit=50)):
        if cycle.outcome not in ("promoted", "rejected"):
            continue
        if cycle.outcome == "rejected" and cycle.strategy.get("kind") == "finetune":
            count += 1
        else:
            break
    return count


def plan_updates(
    project: Project, registry: Registry, champion: ModelVersion | None, now: datetime
) -> list[Plan]:
    """The challengers this cycle trains (one, or two with ``policy.compete``)."""
    policy = project.config.policy
    if champion is None:
        return [Plan("cold", None, "no champion yet: train from scratch")]
    line = [*registry.ancestors(champion.label), champion]
    updates = updates_since_cold(registry, champion)
    rejected = rejected_finetunes_in_a_row(registry)
    age_days = (now - line[0].created_at).total_seconds() / 86400
    cold_reason = None
    if policy.calibrate_every and updates + 1 >= policy.calibrate_every:
        cold_reason = (
            f"periodic calibration: update {updates + 1} of line {champion.major} "
            f"(policy.calibrate_every = {policy.calibrate_every})"
        )
    elif policy.calibrate_days is not None and age_days >= policy.calibrate_days:
        cold_reason = (
            f"periodic calibration: line {champion.major} started {age_days:.1f} days ago "
            f"(policy.calibrate_days = {policy.calibrate_days})"
        )
    elif rejected >= policy.max_rejected_finetunes:
        cold_reason = (
            f"{rejected} rejected fine-tunes in a row "
            f"(policy.max_rejected_finetunes = {policy.max_rejected_finetunes})"
        )
    finetune = Plan(
        "finetune",
        champion.label,
        f"fine-tune champion {champion.label} (init {project.config.finetune.init}, "
        f"data {project.config.finetune.data})",
    )
    if cold_reason is not None:
        return [Plan("cold", None, cold_reason)]
    if policy.compete:
        return [finetune, Plan("cold", None, "policy.compete: a cold challenger competes")]
    return [finetune]
