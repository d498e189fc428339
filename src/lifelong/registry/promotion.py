"""The one way an alias is promoted: the CLI, the HTTP admin endpoint and the loop all call
:func:`promote`, so the rules hold whichever door a promotion comes through.

The rules, in the order they are checked:

1. a forced promotion names a non-empty reason;
2. the version's artifact passes its sha256 check (a damaged model never becomes champion,
   where the server would refuse to load it and keep serving the old one unnoticed);
3. moving an alias to the version it already names changes nothing and records nothing (a
   recorded ``1.1 -> 1.1`` move would be what the next rollback undoes, so it would do nothing);
4. the champion moves only to a version whose gate verdict is ``promote`` and was reached
   against the current champion (or, with no champion, a first-model verdict): a verdict
   against an earlier champion says nothing about beating this one;
5. ``force`` overrides rule 4 only, and the move is then recorded as kind ``forced``.

It lives in the registry because the verdict is a record on the version and serving, which
may not import ``pipelines``, must apply the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lifelong.core.errors import RegistryError
from lifelong.registry.entities import CHAMPION, AliasMove, ModelVersion

if TYPE_CHECKING:
    from lifelong.registry.registry import Registry


class PromotionRefused(RegistryError):
    """The promotion rules refuse to move the alias; nothing was changed."""


@dataclass(frozen=True)
class Promotion:
    """What a promotion did: ``move`` is None when the alias already named the version."""

    alias: str
    version: str
    previous: str | None
    move: AliasMove | None
    overridden: str | None = None
    """The refusal that ``force`` overrode (the move is then recorded as ``forced``)."""

    @property
    def changed(self) -> bool:
        return self.move is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "alias": self.alias,
            "version": self.version,
            "previous": self.previous,
            "changed": self.changed,
            "kind": None if self.move is None else self.move.kind,
            "overridden": self.overridden,
        }


_FORCE_HINT = (
    "override with force and a reason (`--force --reason '...'`, or \"force\": true over "
    "HTTP); the move is recorded as forced"
)


def verdict_refusal(version: ModelVersion, champion: str | None) -> PromotionRefused | None:
    """Why ``version`` may not become champion while ``champion`` is (None when it may)."""
    verdict = version.verdict
    rejudge = f"`lifelong challenge {version.label}` judges it against the current champion"
    if verdict is None:
        return PromotionRefused(
            f"version {version.label} has no gate verdict yet",
            hint=f"{rejudge}; or {_FORCE_HINT}",
        )
    if verdict.get("decision") != "promote":
        reasons = verdict.get("reasons") or ["(no reason recorded)"]
        return PromotionRefused(
            f"the gate rejected version {version.label}: {reasons[0]}", hint=_FORCE_HINT
        )
    judged_against = verdict.get("champion_version")
    if judged_against != champion:
        against = (
            "as the project's first model"
            if judged_against is None
            else f"against champion {judged_against}"
        )
        now = f"the champion is {champion} now" if champion else "there is no champion now"
        return PromotionRefused(
            f"the promote verdict of version {version.label} is stale: it was judged "
            f"{against}, but {now}",
            hint=rejudge,
        )
    return None


def promote(
    registry: Registry,
    ref: str,
    *,
    reason: str,
    command: str,
    alias: str = CHAMPION,
    force: bool = False,
) -> Promotion:
    """Move ``alias`` to the version ``ref`` names, under the rules of this module.

    Raises
    ------
    PromotionRefused
        A rule refused the move (no, a rejecting or a stale verdict; a forced promotion
        without a reason; the alias moved by someone else while this one was checked).
    ArtifactCorrupt
        The version's artifact is missing or damaged.
    RegistryError, NotFound
        The version was pruned or removed, or does not exist.
    """
    version = registry.resolve(ref)
    if force and not reason.strip():
        raise PromotionRefused(
            f"a forced promotion of version {version.label} needs a reason",
            hint="say why the gate is overridden: --reason '...' (kept in the alias history)",
        )
    registry.artifact_path(version.label)  # sha256 of every file; raises ArtifactCorrupt
    current = registry.store.aliases().get(alias)
    if current == version.label:
        return Promotion(alias, version.label, current, None)
    refusal = verdict_refusal(version, current) if alias == CHAMPION else None
    if refusal is not None and not force:
        raise refusal

    def unchanged_since_checked(now: str | None) -> None:
        if now != current:
            raise PromotionRefused(
                f"alias {alias!r} moved from {current or '-'} to {now or '-'} while version "
                f"{version.label} was being checked; nothing changed",
                hint="look at the new state (`lifelong models list`) and promote again if still "
                "wanted",
            )

    move = registry.set_alias(
        alias,
        version.label,
        reason=reason,
        command=command,
        kind="forced" if refusal is not None else "set",
        guard=unchanged_since_checked,
    )
    overridden = None if refusal is None else refusal.message
    return Promotion(alias, version.label, current, move, overridden)
