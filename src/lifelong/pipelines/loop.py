"""One cycle of the continual loop, top to bottom, and ``watch`` (cycles on an interval).

resume -> ingest -> snapshot -> commit sources -> triggers -> plan -> train -> gate -> promote
-> record.

Every step that writes is either atomic (the ingested file, a registration, an alias move) or
idempotent (snapshots are content-addressed; redelivered examples are recognised by content),
so a cycle killed anywhere leaves a consistent project and the next cycle picks up from the last
committed snapshot. A kill between registering a version and promoting it is finished by the
next cycle's first step (``pipelines/resume.py``), which also removes the temp leftovers of
killed runs.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lifelong.core.crashpoint import crash_point
from lifelong.core.errors import IncompatibleModel, LifelongError
from lifelong.data import load_dataset
from lifelong.data.sources import build_sources, closing_all
from lifelong.monitoring import TriggerResult, build_trigger
from lifelong.pipelines.data_view import data_view, manifests_now
from lifelong.pipelines.ingest import (
    collect_pending,
    commit_sources,
    conform_rows,
    hold_untrainable,
    write_ingested,
)
from lifelong.pipelines.judge import Judgement, judge_competing
from lifelong.pipelines.lock import cycle_lock
from lifelong.pipelines.policy import Plan, plan_updates
from lifelong.pipelines.resume import Resumed, remove_orphaned_temp, resume
from lifelong.pipelines.retrain import TrainOptions, train_version
from lifelong.pipelines.review import hold
from lifelong.pipelines.screening import hold_suspicious
from lifelong.pipelines.signals import trigger_context
from lifelong.project import Project
from lifelong.registry import CHAMPION, CycleRecord, Registry

# Exit codes of `lifelong update` (documented in the README). A held lock raises
# LockHeld before the cycle starts; the CLI exits with its exit_code (3).
EXIT_PROMOTED = 0
EXIT_ERROR = 1
EXIT_NOTHING = 10
EXIT_REJECTED = 11


@dataclass
class CycleResult:
    """What a cycle did; ``record`` is what ``lifelong history`` shows."""

    outcome: str
    trigger: TriggerResult | None = None
    plans: list[Plan] = field(default_factory=list)
    judgements: list[Judgement] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    record: CycleRecord | None = None
    error: str = ""
    resumed: list[Resumed] = field(default_factory=list)
    removed_temp: list[str] = field(default_factory=list)

    def record_data(self) -> dict[str, Any]:
        """``data`` as the cycle record keeps it: what was ingested, plus what was resumed
        from an interrupted run and which temp leftovers were removed (when any)."""
        extra: dict[str, Any] = {}
        if self.resumed:
            extra["resumed"] = [r.to_dict() for r in self.resumed]
        if self.removed_temp:
            extra["removed_temp"] = self.removed_temp
        return {**self.data, **extra}

    def settle_outcome(self) -> None:
        """Count resumed work in the outcome (and so the exit code): a promotion completed or
        won by a resumed judgement is a promotion; a resumed judgement that lost, in a cycle
        that trained nothing, is a rejection."""
        if self.outcome in ("nothing", "rejected") and any(r.promoted for r in self.resumed):
            self.outcome = "promoted"
        elif self.outcome == "nothing" and any(r.judgement for r in self.resumed):
            self.outcome = "rejected"

    @property
    def exit_code(self) -> int:
        return {
            "promoted": EXIT_PROMOTED,
            "nothing": EXIT_NOTHING,
            "rejected": EXIT_REJECTED,
            "dry-run": EXIT_PROMOTED,
        }.get(self.outcome, EXIT_ERROR)


def _trigger_dict(result: TriggerResult | None) -> dict[str, Any]:
    if result is None:
        return {}
    return {
        "fired": result.fired_names(),
        "reason": result.reason,
        "checks": [
            {"name": c.name, "fired": c.fired, "reason": c.reason, "figures": c.figures}
            for c in (result.children or (result,))
        ],
    }


class _Clock:
    """Seconds per stage, for the history's durations."""

    def __init__(self) -> None:
        self.durations: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.durations[stage] = round(self.durations.get(stage, 0.0) + now - self._last, 3)
        self._last = now


def made_from(registry: Registry, label: str) -> list[str]:
    """``label``, then the versions it was compressed or distilled from, nearest first.

    A champion that cannot be fine-tuned (an int8 ONNX Runtime graph, a transformer with pruned
    heads, a student of another pipeline than config.yml's) is updated through the model it was
    made from: the update then competes with the champion at the gate like any challenger.
    """
    line = [label]
    version = registry.resolve(label)
    while version.edge in ("compress", "distill") and version.parent is not None:
        version = registry.resolve(version.parent)
        line.append(version.label)
    return line


def _train(project: Project, registry: Registry, plan: Plan, progress: bool) -> tuple[Plan, str]:
    """Train one planned challenger. A fine-tune the champion refuses goes to the version it was
    compressed or distilled from (:func:`made_from`); when none can be fine-tuned, cold."""

    def run(step: Plan) -> tuple[Plan, str]:
        options = TrainOptions(
            finetune=step.parent,
            notes=step.reason,
            progress=progress,
            promote_after=True,
            resume=True,  # a cycle killed mid-training goes on from its last checkpoint
        )
        return step, train_version(project, registry, options).version.label

    if plan.parent is None:
        return run(plan)
    refusals: list[str] = []
    for source in made_from(registry, plan.parent):
        step = plan
        if refusals:
            step = Plan(
                "finetune",
                source,
                f"{plan.reason}; {plan.parent} cannot be fine-tuned ({refusals[0]}): "
                f"fine-tuned {source}, which it was made from",
            )
        try:
            return run(step)
        except IncompatibleModel as error:
            refusals.append(error.message)
    return run(Plan("cold", None, f"fine-tune impossible ({'; '.join(refusals)}); trained cold"))


def _train_and_judge(
    project: Project, registry: Registry, plans: list[Plan], clock: _Clock, progress: bool
) -> list[Judgement]:
    """Train every planned challenger, gate them, promote at most the best one."""
    labels = []
    for i, plan in enumerate(plans):
        plans[i], label = _train(project, registry, plan, progress)
        labels.append(label)
    clock.lap("train")
    judgements = judge_competing(project, registry, labels, command="update")
    clock.lap("gate")
    return judgements


def run_cycle(
    project: Project,
    registry: Registry,
    *,
    dry_run: bool = False,
    force: bool = False,
    progress: bool = False,
    now: datetime | None = None,
) -> CycleResult:
    """Run one cycle; with ``dry_run`` report what would happen and change nothing."""
    started = now or datetime.now(UTC)
    clock = _Clock()
    result = CycleResult(outcome="nothing")
    with cycle_lock(project, registry):
        locked_at = datetime.now(UTC)
        try:
            if not dry_run:
                removed = remove_orphaned_temp(project, locked_at)
                result.removed_temp = [p.name for p in removed]
            result.resumed = resume(project, registry, dry_run=dry_run)
            clock.lap("resume")
            _cycle(
                project,
                registry,
                result,
                clock,
                dry_run=dry_run,
                force=force,
                progress=progress,
                now=started,
            )
        except LifelongError as error:
            result.outcome, result.error = "error", str(error)
        except Exception:
            result.outcome, result.error = "error", traceback.format_exc(limit=5)
        result.settle_outcome()
        result.durations = clock.durations
        if not dry_run:
            result.record = registry.store.record_cycle(
                CycleRecord(
                    id=0,
                    started_at=started,
                    finished_at=datetime.now(UTC),
                    outcome=result.outcome,
                    trigger=_trigger_dict(result.trigger),
                    data=result.record_data(),
                    strategy={
                        "plans": [p.to_dict() for p in result.plans],
                        "kind": result.plans[0].kind if result.plans else None,
                    },
                    versions=[r.version for r in result.resumed]
                    + [j.challenger for j in result.judgements],
                    champion=registry.store.aliases().get(CHAMPION),
                    durations=result.durations,
                    error=result.error,
                )
            )
    return result


def _cycle(
    project: Project,
    registry: Registry,
    result: CycleResult,
    clock: _Clock,
    *,
    dry_run: bool,
    force: bool,
    progress: bool,
    now: datetime,
) -> None:
    # 1. Ingest: new examples from every source, those not already in the data; what needs a
    #    person (relabels, unknown or untrainable new intents) is held in the review queue.
    #    The champion screens the new examples first (pipelines/screening.py).
    #    LIFELONG_CRASH_AT kills the process at the named points (crash tests only).
    #    A streamed project is not read whole: the view holds its samples, its intents and the
    #    examples whose texts the batches bring (pipelines/data_view.py).
    with closing_all(build_sources(project)) as sources:
        pending = [(source.name, source.pending()) for source in sources]
        view = data_view(project, {e.text for _, batch in pending for e in batch.examples})
        before = view.dataset
        regression = project.config.columns.kind == "regression"
        found = collect_pending(
            pending,
            before.pool,
            None if regression else view.intents,
            allow_conflicts=project.config.allow_conflicts,
        )
        if project.config.columns.target is not None:  # rows typed alone fit the data's types
            conform_rows(found, before)
        crash_point("read")
        aliases = registry.store.aliases()
        champion = registry.resolve(aliases[CHAMPION]) if CHAMPION in aliases else None
        screened = hold_suspicious(project, registry, found, before, champion)
        hold_untrainable(found, before, project, view.intents)
        screen = [s.describe() for s in screened if s.suspicious]
        result.data = {**found.summary(), "screen": screen}
        clock.lap("ingest")
        if not dry_run:
            hold(registry, found)
            write_ingested(project, found, now)
            crash_point("written")
            result.data = {**found.summary(), "screen": screen}  # now with the file written
        # 2. Snapshot the grown data, then acknowledge the sources (exactly once). A streamed
        #    project's snapshot lists its files, not millions of examples (only the files that
        #    changed since the view are read again).
        grown = bool(found.new) and not dry_run
        dataset = load_dataset(project) if grown and view.source is None else before
        files = None
        if view.source is not None:
            files = manifests_now(project, view) if grown else list(view.manifests)
        if not dry_run:
            if files is None:
                registry.put_snapshot(dataset.pool.sorted_examples())
            else:
                registry.put_file_snapshot(files)
            crash_point("snapshot")
            commit_sources(sources, found)
            crash_point("committed")
    clock.lap("snapshot")
    # 3. Triggers.
    context = trigger_context(project, registry, dataset.pool, champion, now, files)
    if dry_run and found.new:
        context = type(context)(
            **{**context.__dict__, "n_new_examples": context.n_new_examples + len(found.new)}
        )
    result.trigger = build_trigger(project.config.policy.triggers).evaluate(context)
    clock.lap("triggers")
    if not (result.trigger.fired or force or champion is None):
        result.outcome = "nothing"
        return
    # 4. Plan, train, gate, promote.
    result.plans = plan_updates(project, registry, champion, now)
    if dry_run:
        result.outcome = "dry-run"
        return
    result.judgements = _train_and_judge(project, registry, result.plans, clock, progress)
    result.outcome = "promoted" if result.judgements[0].promoted else "rejected"


def watch(
    project: Project,
    open_registry: Callable[[], Registry],
    *,
    interval: float,
    should_stop: Callable[[], bool],
    on_cycle: Callable[[CycleResult], None],
    max_cycles: int | None = None,
) -> int:
    """Run cycles every ``interval`` seconds until ``should_stop()`` (checked between steps)."""
    cycles = 0
    while not should_stop() and (max_cycles is None or cycles < max_cycles):
        with open_registry() as registry:
            on_cycle(run_cycle(project, registry))
        cycles += 1
        deadline = time.monotonic() + interval
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    return cycles
