"""Everything a running server holds, started and stopped together by the app's lifespan.

:class:`Services` opens the registry, starts the model holders (champion and optional shadow)
with the thread that follows their aliases, the prediction log (its writer thread and, with
``server.log_process``, the writer process) and the shadow runner, and closes them in reverse
order. Routes reach it through :mod:`lifelong.serving.deps`.
"""

from __future__ import annotations

import logging

import torch

from lifelong.core.errors import RegistryError, StorageError
from lifelong.core.hashing import TextHasher
from lifelong.registry import Registry, open_registry
from lifelong.serving.batcher import Batcher
from lifelong.serving.holder import AliasFollower, LoadedModel, ModelHolder
from lifelong.serving.ids import TimeOrderedIds
from lifelong.serving.log_process import LogWriterProcess, separate_process_possible
from lifelong.serving.metrics import ServerMetrics
from lifelong.serving.prediction_log import PredictionLog
from lifelong.serving.rate_limit import RateLimiter
from lifelong.serving.settings import ServeSettings
from lifelong.serving.shadow import ShadowRunner

PRIMARY, SHADOW = "primary", "shadow"

log = logging.getLogger(__name__)


class Services:
    """The server's long-lived parts (see the module docstring)."""

    def __init__(
        self,
        settings: ServeSettings,
        registry: Registry,
        metrics: ServerMetrics,
        log_writer: LogWriterProcess | None = None,
    ) -> None:
        server = settings.server
        self.settings = settings
        self.registry = registry
        self.metrics = metrics
        self.ids = TimeOrderedIds()  # one per process: its ids increase across both users
        self.hash_text = TextHasher(settings.hash_secret)  # the logged hash of a text
        self.batcher = Batcher(
            server.max_batch, self.ids, server.scoring_threads, hash_text=self.hash_text
        )
        self.feedback_limiter = RateLimiter(server.feedback_rate, server.feedback_burst)
        self.champion = self._holder(settings.alias, PRIMARY)
        self.shadow = None if server.shadow is None else self._holder(server.shadow, SHADOW)
        holders = [h for h in (self.champion, self.shadow) if h is not None]
        self.follower = AliasFollower(holders, server.poll_interval)
        self.log_writer = log_writer
        self.prediction_log = PredictionLog(
            registry.store,
            self.metrics,
            flush_ms=server.log_flush_ms,
            flush_rows=server.log_flush_rows,
            keep_rows=server.keep_rows,
            keep_days=server.keep_days,
            writer=self.log_writer,
        )
        self.shadow_runner = None
        if self.shadow is not None:
            self.shadow_runner = ShadowRunner(
                self.shadow,
                self.prediction_log,
                self.metrics,
                self.ids,
                hash_text=self.hash_text,
                keep_text=server.log_text,
            )

    @classmethod
    def start(cls, settings: ServeSettings, metrics: ServerMetrics) -> Services:
        """Open the registry and start every thread; the first model loads in the background.

        Call it on the event loop (the app's lifespan does): the batcher's task runs there.

        Also sets torch's intra-op threads to ``server.threads``: requests are scored one per
        call, where extra threads only contend with each other and with the event loop.
        """
        torch.set_num_threads(settings.server.threads)
        registry, writable = _open_store(settings)
        writer = _start_log_writer(settings) if writable else None
        services = cls(settings, registry, metrics, writer)
        services.batcher.start()
        if writable:  # else rows wait in memory, up to its bound, then count as dropped
            services.prediction_log.start()
        if services.shadow_runner is not None:
            services.shadow_runner.start()
        services.follower.start()
        return services

    async def close(self) -> None:
        """Stop batching and following aliases, finish shadow work, flush the log, close the
        registry."""
        await self.batcher.close()
        self.follower.stop()
        if self.shadow_runner is not None:
            self.shadow_runner.close()
        self.prediction_log.close()
        if self.log_writer is not None:
            self.log_writer.close()
        self.registry.close()

    def _holder(self, alias: str, role: str) -> ModelHolder:
        return ModelHolder(
            self.registry,
            alias,
            on_change=lambda _model: self._publish_versions(),
            on_load=lambda result: self.metrics.model_loads.inc(role, result),
        )

    def _publish_versions(self) -> None:
        serving: dict[tuple[str, ...], float] = {}
        for role, holder in ((PRIMARY, self.champion), (SHADOW, self.shadow)):
            model: LoadedModel | None = None if holder is None else holder.current
            if model is not None:
                serving[(role, model.version)] = 1.0
        self.metrics.model_info.replace(serving)


def _open_store(settings: ServeSettings) -> tuple[Registry, bool]:
    """The registry and whether it is writable: read-only where the storage refuses writes
    (logged: serving the champion matters more than logging its predictions)."""
    try:
        return open_registry(settings.store_url, settings.artifacts_dir), True
    except StorageError as error:
        log.warning("%s: serving from a read-only store, predictions are not logged", error)
        return open_registry(settings.store_url, settings.artifacts_dir, read_only=True), False


def _start_log_writer(settings: ServeSettings) -> LogWriterProcess | None:
    """The prediction log's writer process, started; ``None`` (the log's own thread writes)
    when ``server.log_process`` is off, the store is in memory, or the process fails to start
    (logged: the log is worth less than the server being up)."""
    if not (settings.server.log_process and separate_process_possible(settings.store_url)):
        return None
    writer = LogWriterProcess(settings.store_url, settings.artifacts_dir)
    try:
        writer.start()
    except RegistryError as error:
        log.error("prediction log: %s; writing it from the server's own thread", error.message)
        return None
    return writer
