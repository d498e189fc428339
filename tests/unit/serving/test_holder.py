"""ModelHolder: atomic swaps, refused corrupt versions, retry rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lifelong.registry import Registry
from lifelong.serving.holder import ModelHolder


@pytest.fixture
def registry(
    tmp_path: Path, served_registry: Callable[[str, Path], Registry]
) -> Iterator[Registry]:
    opened = served_registry(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "artifacts")
    yield opened
    opened.close()


def corrupt(registry: Registry, version: str) -> None:
    folder = registry.artifacts.path(registry.resolve(version).artifact_id)
    (folder / "weights.safetensors").write_bytes(b"not weights")


def test_swap_replaces_the_reference_and_old_holders_keep_their_model(
    registry: Registry,
) -> None:
    changes: list[str] = []
    holder = ModelHolder(registry, "champion", on_change=lambda m: changes.append(m.version))
    first = holder.sync()
    assert first is not None
    assert first.version == "1.0"
    in_flight = holder.current
    registry.set_alias("champion", "2.0", reason="", command="")
    assert holder.sync() is holder.current
    assert holder.current is not None
    assert holder.current.version == "2.0"
    assert in_flight is first  # a request holding the old model still has it, whole
    assert in_flight.bundle.predict(["play music"])[0] == ["music"]
    assert changes == ["1.0", "2.0"]
    assert holder.sync() is holder.current  # same version: no reload
    assert changes == ["1.0", "2.0"]


def test_corrupt_version_is_refused_and_old_model_keeps_serving(registry: Registry) -> None:
    loads: list[str] = []
    holder = ModelHolder(registry, "champion", on_load=loads.append)
    holder.sync()
    corrupt(registry, "2.0")
    registry.set_alias("champion", "2.0", reason="", command="")
    assert holder.sync() is not None
    assert holder.current is not None
    assert holder.current.version == "1.0"
    assert holder.last_error is not None
    assert holder.last_error.version == "2.0"
    assert "refused version 2.0: artifact of version 2.0 is corrupt" in holder.last_error.message
    holder.sync()  # not retried on every poll, nor reported again
    assert loads == ["ok", "refused"]
    holder.sync(force=True)  # an explicit reload retries
    assert loads == ["ok", "refused", "refused"]


def test_error_clears_once_the_version_loads(registry: Registry) -> None:
    holder = ModelHolder(registry, "champion")
    holder.sync()
    weights = registry.artifacts.path(registry.resolve("2.0").artifact_id) / "weights.safetensors"
    good = weights.read_bytes()
    corrupt(registry, "2.0")
    registry.set_alias("champion", "2.0", reason="", command="")
    holder.sync()
    assert holder.last_error is not None
    weights.write_bytes(good)  # restored from a backup: a reload picks it up
    holder.sync(force=True)
    assert holder.current is not None
    assert holder.current.version == "2.0"
    assert holder.last_error is None


def test_missing_alias_is_reported(registry: Registry) -> None:
    holder = ModelHolder(registry, "challenger")
    assert holder.sync() is None
    assert holder.last_error is not None
    assert "cannot resolve alias 'challenger'" in holder.last_error.message
