"""The model being served, swapped atomically when its alias moves.

A :class:`ModelHolder` keeps one reference, :attr:`ModelHolder.current`, to an immutable
:class:`LoadedModel`. A request reads it once and uses that object to the end, so a swap never
changes the model under a request in flight: the old model finishes what it started and is
freed when the last request lets go of it. Loading (sha256 checks, weights, a warm-up
prediction) happens on the caller's thread, never on the request path: the
:class:`AliasFollower` thread or an admin call. A version that fails to load is refused: the
old model keeps serving, the failure is kept for ``/health``, and the same version is not
retried until the alias moves again or a reload is asked for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.exc import SQLAlchemyError

from lifelong.core.errors import LifelongError
from lifelong.models import ModelBundle
from lifelong.registry import Registry
from lifelong.serving.rows import warm_up_inputs

log = logging.getLogger(__name__)

WARMUP_TEXTS = ("hello", "what is the weather like tomorrow", "book a table for two at eight")


@dataclass(frozen=True)
class LoadedModel:
    """A loaded, warmed-up bundle and the registry version it is.

    ``labels`` holds the bundle's intent names as an object array, made once here rather than
    for every request scored (see :class:`~lifelong.serving.inference.Served`).
    """

    version: str
    bundle: ModelBundle
    loaded_at: datetime
    labels: NDArray[np.object_] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", np.asarray(self.bundle.labels, dtype=object))


@dataclass(frozen=True)
class LoadFailure:
    """Why a version was refused, for ``/health``."""

    version: str | None
    message: str
    at: datetime

    def to_dict(self) -> dict[str, str | None]:
        return {"version": self.version, "message": self.message, "at": self.at.isoformat()}


class ModelHolder:
    """Serves the version an alias names; swaps in a new one only once it loaded cleanly.

    Parameters
    ----------
    registry
        Where aliases, versions and verified artifacts come from.
    alias
        The alias to follow (``champion``, or a shadow alias such as ``challenger``).
    on_change
        Called with the new model after each swap (e.g. to update the metrics).
    on_load
        Called with ``"ok"`` or ``"refused"`` after each attempt to load a version.
    """

    def __init__(
        self,
        registry: Registry,
        alias: str,
        *,
        on_change: Callable[[LoadedModel], None] | None = None,
        on_load: Callable[[str], None] | None = None,
    ) -> None:
        self.registry = registry
        self.alias = alias
        self.current: LoadedModel | None = None
        self.last_error: LoadFailure | None = None
        self._on_change = on_change
        self._on_load = on_load
        self._lock = threading.Lock()  # one load at a time
        self._refused: tuple[str, str] | None = None  # (version, artifact id) that failed

    def sync(self, *, force: bool = False) -> LoadedModel | None:
        """Load the version the alias names now, unless it is already serving.

        ``force`` reloads it even so, and retries a refused version. Returns the model serving
        afterwards (the old one when the new one was refused, ``None`` before any load).
        """
        with self._lock:
            try:
                version = self.registry.resolve(self.alias)
            except (LifelongError, SQLAlchemyError) as error:
                reason = error.message if isinstance(error, LifelongError) else str(error)
                self._fail(None, f"cannot resolve alias {self.alias!r}: {reason}")
                return self.current
            key = (version.label, version.artifact_id)
            serving = self.current is not None and self.current.version == version.label
            if not force and (serving or self._refused == key):
                return self.current
            try:
                loaded = self._load(version.label)
            except (LifelongError, OSError, ValueError, RuntimeError) as error:
                message = error.message if isinstance(error, LifelongError) else repr(error)
                self._refused = key
                self._fail(version.label, f"refused version {version.label}: {message}")
                if self._on_load is not None:
                    self._on_load("refused")
                return self.current
            self._refused = None
            self.last_error = None
            self.current = loaded  # the atomic swap: one reference assignment
            log.info("%s: now serving version %s", self.alias, loaded.version)
            if self._on_load is not None:
                self._on_load("ok")
            if self._on_change is not None:
                self._on_change(loaded)
            return loaded

    def _load(self, label: str) -> LoadedModel:
        folder = self.registry.artifact_path(label)  # verifies sha256 against the registry
        bundle = ModelBundle.load(folder)  # verifies the bundle's own manifest
        warm_up(bundle, WARMUP_TEXTS)
        return LoadedModel(version=label, bundle=bundle, loaded_at=datetime.now(UTC))

    def _fail(self, version: str | None, message: str) -> None:
        repeated = self.last_error is not None and self.last_error.message == message
        self.last_error = LoadFailure(version, message, datetime.now(UTC))
        if not repeated:  # a poll that fails the same way again is not news
            log.error("%s: %s", self.alias, message)


def warm_up(bundle: ModelBundle, texts: Sequence[str]) -> None:
    """Run a few predictions so the first real request pays no lazy initialisation.

    Also a last check that the bundle can predict at all: one that fails here is refused. A
    tabular model is warmed up on rows of missing values (its texts are canonical rows).
    """
    texts = warm_up_inputs(bundle, texts)
    for size in (1, len(texts)):
        labels, proba = bundle.predict(list(texts[:size]))
        if len(labels) != size or proba.shape != (size, len(bundle.labels)):
            raise ValueError(f"warm-up predicted shape {proba.shape} for {size} texts")


class AliasFollower:
    """A daemon thread that syncs holders every ``interval`` seconds (the first sync at once).

    With ``interval == 0`` it syncs once and stops: the alias is then only followed on
    ``/admin/reload``.
    """

    def __init__(self, holders: Sequence[ModelHolder], interval: float) -> None:
        self.holders = list(holders)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alias-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            for holder in self.holders:
                holder.sync()
            if self.interval <= 0:
                return
            self._stop.wait(self.interval)
