"""The promotion rules every door shares: artifact, verdict, staleness, force, no-op moves."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.core.errors import ArtifactCorrupt, RegistryError
from lifelong.core.types import Example
from lifelong.registry import (
    CHALLENGER,
    CHAMPION,
    PromotionRefused,
    Registry,
    open_registry,
    promote,
)

BundleFactory = Callable[..., Path]


def promote_verdict(against: str | None) -> dict[str, object]:
    return {
        "decision": "promote",
        "kind": "first" if against is None else "challenger",
        "champion_version": against,
        "reasons": ["significantly better"],
    }


def fill(registry: Registry, make_bundle: BundleFactory, n: int = 3) -> None:
    """Versions 1.0 .. 1.(n-1), each fine-tuned from the last; 1.0 is champion."""
    snapshot = registry.put_snapshot([Example.make("hi", "greet")]).id
    for i in range(n):
        registry.register(
            make_bundle(i),
            snapshot_id=snapshot,
            config={},
            parent=None if i == 0 else f"1.{i - 1}",
            edge=None if i == 0 else "finetune",
        )
    registry.set_alias(CHAMPION, "1.0", reason="first", command="test")


@pytest.fixture
def filled(registry: Registry, make_bundle: BundleFactory) -> Registry:
    fill(registry, make_bundle)
    return registry


def champion(registry: Registry) -> str:
    return registry.store.aliases()[CHAMPION]


def test_a_current_promote_verdict_moves_the_champion(filled: Registry) -> None:
    filled.set_verdict("1.1", promote_verdict("1.0"))
    done = promote(filled, "1.1", reason="better", command="test")
    assert (done.previous, done.version, done.changed) == ("1.0", "1.1", True)
    assert done.move is not None
    assert done.move.kind == "set"
    assert champion(filled) == "1.1"


@pytest.mark.parametrize(
    ("verdict", "message"),
    [
        (None, "version 1.1 has no gate verdict yet"),
        (
            {"decision": "reject", "reasons": ["intent 'x' fell"]},
            "the gate rejected version 1.1: intent 'x' fell",
        ),
        (promote_verdict("1.2"), "stale: it was judged against champion 1.2, but the champion"),
        (promote_verdict(None), "stale: it was judged as the project's first model"),
    ],
)
def test_the_champion_needs_a_current_promote_verdict(
    filled: Registry, verdict: dict[str, object] | None, message: str
) -> None:
    if verdict is not None:
        filled.set_verdict("1.1", verdict)
    moves = len(filled.store.alias_history())
    with pytest.raises(PromotionRefused, match=re.escape(message)):
        promote(filled, "1.1", reason="why not", command="test")
    assert champion(filled) == "1.0"
    assert len(filled.store.alias_history()) == moves


def test_a_stale_verdict_says_how_to_rejudge(filled: Registry) -> None:
    filled.set_verdict("1.1", promote_verdict("1.2"))
    with pytest.raises(PromotionRefused) as refused:
        promote(filled, "1.1", reason="x", command="test")
    assert refused.value.hint is not None
    assert "lifelong challenge 1.1" in refused.value.hint


def test_a_first_model_verdict_promotes_when_there_is_no_champion(
    registry: Registry, make_bundle: BundleFactory
) -> None:
    snapshot = registry.put_snapshot([Example.make("hi", "greet")]).id
    registry.register(make_bundle(0), snapshot_id=snapshot, config={})
    registry.set_verdict("1.0", promote_verdict(None))
    assert promote(registry, "1.0", reason="first", command="test").changed


def test_force_needs_a_reason_and_is_recorded_as_forced(filled: Registry) -> None:
    filled.set_verdict("1.1", {"decision": "reject", "reasons": ["worse"]})
    with pytest.raises(
        PromotionRefused, match=re.escape("forced promotion of version 1.1 needs a reason")
    ):
        promote(filled, "1.1", reason="  ", command="test", force=True)
    assert champion(filled) == "1.0"
    done = promote(filled, "1.1", reason="hotfix", command="test", force=True)
    assert done.move is not None
    assert done.move.kind == "forced"
    assert done.overridden == "the gate rejected version 1.1: worse"
    last = filled.store.alias_history(CHAMPION)[-1]
    assert (last.kind, last.reason, last.to_version) == ("forced", "hotfix", "1.1")
    # a forced promotion is undone by rollback like any other
    assert filled.rollback(reason="undo", command="test").to_version == "1.0"


def test_force_with_a_promote_verdict_is_a_plain_move(filled: Registry) -> None:
    filled.set_verdict("1.1", promote_verdict("1.0"))
    done = promote(filled, "1.1", reason="sure", command="test", force=True)
    assert done.move is not None
    assert done.move.kind == "set"
    assert done.overridden is None


def test_a_flipped_byte_is_refused_before_the_alias_moves(filled: Registry) -> None:
    filled.set_verdict("1.1", promote_verdict("1.0"))
    version = filled.resolve("1.1")
    weights = filled.artifacts.path(version.artifact_id) / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[10] ^= 0x01
    weights.write_bytes(bytes(data))
    for force in (False, True):  # force overrides the verdict, never a damaged artifact
        with pytest.raises(ArtifactCorrupt, match=re.escape("artifact of version 1.1 is corrupt")):
            promote(filled, "1.1", reason="x", command="test", force=force)
    assert champion(filled) == "1.0"


def test_promoting_the_champion_records_nothing_and_rollback_still_goes_back(
    filled: Registry,
) -> None:
    filled.set_verdict("1.1", promote_verdict("1.0"))
    promote(filled, "1.1", reason="better", command="test")
    moves = len(filled.store.alias_history())
    again = promote(filled, "1.1", reason="again", command="test")
    assert (again.changed, again.move, again.previous) == (False, None, "1.1")
    forced_again = promote(filled, "1.1", reason="again", command="test", force=True)
    assert not forced_again.changed
    assert len(filled.store.alias_history()) == moves
    assert filled.rollback(reason="bad", command="test").to_version == "1.0"


def test_other_aliases_need_no_verdict_but_a_sound_artifact(filled: Registry) -> None:
    done = promote(filled, "1.2", reason="try it", command="test", alias=CHALLENGER)
    assert done.changed
    assert filled.store.aliases()[CHALLENGER] == "1.2"
    assert not promote(filled, "1.2", reason="again", command="test", alias=CHALLENGER).changed


def test_a_champion_moved_while_checking_refuses_the_move(
    filled: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    filled.set_verdict("1.1", promote_verdict("1.0"))
    read = filled.store.aliases

    def read_then_someone_moves() -> dict[str, str]:
        seen = read()  # what the rules are checked against
        monkeypatch.setattr(filled.store, "aliases", read)
        filled.store.set_alias(CHAMPION, "1.2", reason="other door", command="test")
        return seen

    monkeypatch.setattr(filled.store, "aliases", read_then_someone_moves)
    with pytest.raises(
        PromotionRefused, match=re.escape("moved from 1.0 to 1.2 while version 1.1")
    ):
        promote(filled, "1.1", reason="x", command="test")
    assert champion(filled) == "1.2"


def test_a_removed_version_is_refused(filled: Registry) -> None:
    filled.remove("1.2", command="test")
    with pytest.raises(RegistryError, match=re.escape("version 1.2 is deleted")):
        promote(filled, "1.2", reason="x", command="test", force=True)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["1.0", "1.1", "1.2"]), st.none()), max_size=12))
def test_every_recorded_move_changes_the_alias_so_rollback_always_does(
    steps: list[str | None],
) -> None:
    """Promotions (None: a rollback) in any order: no move from a version to itself is
    recorded, so each rollback that succeeds moves the champion somewhere else."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        counter = iter(range(100))

        def make_bundle(seed: object = 0) -> Path:
            folder = root / "bundles" / f"b{next(counter)}"
            folder.mkdir(parents=True)
            (folder / "weights.safetensors").write_bytes(f"weights {seed}".encode() * 10)
            return folder

        with open_registry(f"sqlite:///{root / 'registry.db'}", root / "artifacts") as registry:
            fill(registry, make_bundle)
            for step in steps:
                before = champion(registry)
                if step is None:
                    try:
                        registry.rollback(reason="r", command="test")
                    except RegistryError:
                        continue
                    assert champion(registry) != before
                else:
                    promote(registry, step, reason="p", command="test", force=True)
                    assert champion(registry) == step
            moves = registry.store.alias_history(CHAMPION)
            assert all(m.from_version != m.to_version for m in moves if m.kind != "rollback")
