"""Opportunistic micro-batching: concurrent requests are scored together, never waited for.

Scoring has a fixed cost per call (featurizer set-up, one forward pass) that dwarfs the cost per
text, so one call for 32 queued requests is far cheaper than 32 calls. The batcher adds no
delay: when a worker is free, a request is scored at once, alone; while every worker is busy
(in the batcher's own threads, so the event loop keeps accepting requests) new requests queue up
and go together in the next call. A few workers (``server.scoring_threads``) are worth having
although Python runs one thread at a time: featurizing (compiled) and the forward pass (torch)
release the GIL, so one call can run those while another, or the event loop, runs Python. The
batcher's own executor hands off for less than the framework's shared thread pool (anyio's
limiter and cancel scopes).
Jobs are grouped by the model object they read at their start, so a request that began before a
swap is still scored by the old model.
A call that raises is retried in halves until the failing jobs stand alone: one request that
breaks scoring fails only itself, with a :class:`ScoringFailed` naming the model and the
error, and every request that shared its call still gets its answer. A call that succeeds
(nearly all of them) costs nothing more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lifelong.core.errors import LifelongError
from lifelong.serving.holder import LoadedModel
from lifelong.serving.ids import TimeOrderedIds
from lifelong.serving.inference import Served, score

log = logging.getLogger(__name__)


class ScoringFailed(LifelongError):
    """Scoring a request's texts raised (its own texts: the jobs batched with it were scored
    without it). The server answers 500 with this message; the cause is chained."""

    def __init__(self, version: str, error: Exception) -> None:
        super().__init__(
            f"scoring failed with model {version}: {type(error).__name__}: {error}",
            hint="the server's log has the traceback; requests batched with this one were answered",
        )


@dataclass
class _Job:
    model: LoadedModel
    texts: list[str]
    top_k: int
    done: asyncio.Future[Served]


class Batcher:
    """Scores queued requests in as few calls as possible, at most ``max_texts`` texts a call
    and ``workers`` calls at once; prediction ids come from ``ids``, logged text hashes from
    ``hash_text``."""

    def __init__(
        self,
        max_texts: int,
        ids: TimeOrderedIds,
        workers: int = 1,
        *,
        hash_text: Callable[[str], str],
    ) -> None:
        self.max_texts = max_texts
        self.ids = ids
        self.hash_text = hash_text
        self.workers = workers
        self._jobs: list[_Job] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._calls: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="scoring")
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for call in list(self._calls):
            call.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def score(self, model: LoadedModel, texts: list[str], top_k: int) -> Served:
        """``texts`` scored by ``model`` (possibly in one call with other requests' texts)."""
        done: asyncio.Future[Served] = asyncio.get_running_loop().create_future()
        self._jobs.append(_Job(model, texts, top_k, done))
        self._wake.set()
        return await done

    def _take(self) -> list[_Job]:
        """The oldest job and the queued jobs on the same model that fit with it."""
        first = self._jobs[0]
        taken: list[_Job] = []
        kept: list[_Job] = []
        size = 0
        for job in self._jobs:
            fits = size + len(job.texts) <= self.max_texts or not taken
            if job.model is first.model and fits and not job.done.done():
                taken.append(job)
                size += len(job.texts)
            elif not job.done.done():  # cancelled jobs (timed out) are dropped
                kept.append(job)
        self._jobs = kept
        return taken

    async def _run(self) -> None:
        """Start a call for the queued jobs whenever a worker is free: woken by each new job
        and by each call that ends."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._jobs and len(self._calls) < self.workers:
                jobs = self._take()
                if jobs:
                    call = asyncio.get_running_loop().create_task(self._score(jobs))
                    self._calls.add(call)  # the loop keeps only weak references to tasks
                    call.add_done_callback(self._called)

    def _called(self, call: asyncio.Task[None]) -> None:
        self._calls.discard(call)
        self._wake.set()

    async def _score(self, jobs: list[_Job]) -> None:
        """Score ``jobs`` in one call and hand each its rows; if the call raises, score each
        half apart (recursively), so only the jobs that fail alone get the error."""
        jobs = [job for job in jobs if not job.done.done()]  # timed out meanwhile: not rescored
        if not jobs:
            return
        texts = [text for job in jobs for text in job.texts]
        top_k = max(job.top_k for job in jobs)
        try:
            loop = asyncio.get_running_loop()
            served = await loop.run_in_executor(
                self._executor, score, jobs[0].model, texts, top_k, self.ids, self.hash_text
            )
        except Exception as error:  # a failed call fails its requests, not the batcher
            if len(jobs) > 1:
                middle = len(jobs) // 2
                await self._score(jobs[:middle])
                await self._score(jobs[middle:])
            elif not jobs[0].done.done():
                failed = ScoringFailed(jobs[0].model.version, error)
                log.warning("%s", failed.message, exc_info=error)
                failed.__cause__ = error
                jobs[0].done.set_exception(failed)
            return
        start = 0
        for job in jobs:
            stop = start + len(job.texts)
            if not job.done.done():
                job.done.set_result(served.rows(start, stop, job.top_k))
            start = stop
