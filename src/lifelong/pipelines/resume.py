"""Finish what a killed cycle (or ``lifelong train --promote``) left half done.

A run that registers a version and then means to judge and promote it records that intent on
the version (``training["promote_after"]``). Killed between registration and promotion, it
leaves either a version with no verdict or a ``promote`` verdict whose alias never moved; the
data that trained it is already in a committed snapshot, so the next cycle sees "0 new
examples" and would never come back to it. The loop therefore starts every cycle (under the
cycle lock) with :func:`resume`:

- a version with no verdict is judged, with promotion (the gate decides, as it would have);
- a ``promote`` verdict against the current champion is completed through the one
  promotion function (:func:`lifelong.registry.promote`);
- a ``promote`` verdict against an earlier champion is stale: it says nothing about beating
  this champion, so it is not promoted; the version becomes ``challenger`` (what the gate does
  with a promote verdict it may not act on), and ``lifelong challenge`` re-judges it.

A version any champion or challenger move ever went to was dealt with (by the run or by a
person) and is left alone, as is a plain ``lifelong train`` version registered with a champion
in place: its author did not ask for the gate (``lifelong challenge V`` does that).

:func:`remove_orphaned_temp` removes what killed runs leave in the state folder (the
``.tmp-bundle-*`` folders of :func:`~lifelong.pipelines.retrain.train_version`, ``.tmp-*``
files of interrupted atomic writes).
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from lifelong.core.atomic import TMP_PREFIX
from lifelong.core.errors import ConfigError, LifelongError
from lifelong.pipelines.ingest import ingest_folder
from lifelong.pipelines.judge import Judgement, judge_competing
from lifelong.project import Project
from lifelong.registry import (
    CHALLENGER,
    CHAMPION,
    ModelVersion,
    Registry,
    promote,
    verdict_refusal,
)

Action = Literal["judge", "promote", "stale"]

COMMAND = "update (resumed)"


@dataclass(frozen=True)
class Resumed:
    """One piece of unfinished work: what was (or, in a dry run, would be) done about it."""

    version: str
    action: Action
    done: bool
    detail: str
    promoted: bool = False
    judgement: Judgement | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "action": self.action,
            "done": self.done,
            "promoted": self.promoted,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Unfinished:
    """Versions a killed run registered to promote: not yet judged, or judged ``promote``
    but never moved to an alias."""

    to_judge: list[ModelVersion]
    to_promote: list[ModelVersion]


def find_unfinished(registry: Registry) -> Unfinished:
    """The project's half-done promotions (see the module docstring for the rules)."""
    handled = {
        move.to_version
        for move in registry.store.alias_history()
        if move.alias in (CHAMPION, CHALLENGER)
    }
    pending = [
        v
        for v in registry.versions()
        if v.status == "candidate" and v.training.get("promote_after") and v.label not in handled
    ]
    return Unfinished(
        to_judge=[v for v in pending if v.verdict is None],
        to_promote=[
            v for v in pending if v.verdict is not None and v.verdict.get("decision") == "promote"
        ],
    )


def _complete_promotions(
    registry: Registry, versions: list[ModelVersion], *, dry_run: bool
) -> list[Resumed]:
    """Promote each current promote verdict (after the first, the others are stale against
    the new champion); make the stale ones challenger."""
    done = []
    for version in versions:
        champion = registry.store.aliases().get(CHAMPION)
        refusal = verdict_refusal(version, champion)
        action: Action = "promote" if refusal is None else "stale"
        will = "would be" if dry_run else "was"
        if refusal is None:
            detail = (
                f"promote verdict against {champion or 'no champion'}: the promotion {will} "
                "completed"
            )
        else:
            detail = f"{refusal.message}: not promoted, {will} made challenger ({refusal.hint})"
        try:
            if not dry_run:
                alias = CHAMPION if refusal is None else CHALLENGER
                promote(registry, version.label, reason=detail, command=COMMAND, alias=alias)
        except LifelongError as error:
            done.append(Resumed(version.label, action, False, f"failed: {error}"))
            continue
        promoted = refusal is None and not dry_run
        done.append(Resumed(version.label, action, not dry_run, detail, promoted))
    return done


def _judge_pending(
    project: Project, registry: Registry, versions: list[ModelVersion], *, dry_run: bool
) -> list[Resumed]:
    labels = [v.label for v in versions]
    if not labels:
        return []
    if dry_run:
        return [Resumed(label, "judge", False, "no verdict: would be judged") for label in labels]
    try:
        judgements = judge_competing(project, registry, labels, command=COMMAND)
    except LifelongError as error:
        return [Resumed(label, "judge", False, f"failed: {error}") for label in labels]
    return [
        Resumed(
            j.challenger,
            "judge",
            True,
            f"no verdict: judged, {j.verdict.decision}"
            + (f" ({j.verdict.reasons[0]})" if j.verdict.reasons else ""),
            j.promoted,
            j,
        )
        for j in judgements
    ]


def resume(project: Project, registry: Registry, *, dry_run: bool = False) -> list[Resumed]:
    """Finish the project's half-done promotions (judged ones first, then unjudged ones);
    with ``dry_run`` only say what would be done.

    A step that fails with a :class:`LifelongError` (a damaged artifact, say) is reported as
    not done and the cycle goes on: one broken leftover must not stop the loop.
    """
    unfinished = find_unfinished(registry)
    done = _complete_promotions(registry, unfinished.to_promote, dry_run=dry_run)
    return done + _judge_pending(project, registry, unfinished.to_judge, dry_run=dry_run)


def remove_orphaned_temp(project: Project, before: datetime) -> list[Path]:
    """Remove ``.tmp-*`` leftovers older than ``before`` from the project's state and ingest
    folders. Call it only while holding the cycle lock: every writer of these folders (a
    training, a cycle) holds it too, so none of them is live."""
    folders = [project.state_dir]
    with contextlib.suppress(ConfigError):  # no data folder: the cycle itself says so
        folders.append(ingest_folder(project))
    removed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"{TMP_PREFIX}*")):
            if path.lstat().st_mtime >= before.timestamp():
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed
