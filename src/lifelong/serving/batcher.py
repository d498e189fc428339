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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lifelong.serving.holder import LoadedModel
from lifelong.serving.ids import TimeOrderedIds
from lifelong.serving.inference import Served, score


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
        texts = [text for job in jobs for text in job.texts]
        top_k = max(job.top_k for job in jobs)
        try:
            loop = asyncio.get_running_loop()
            served = await loop.run_in_executor(
                self._executor, score, jobs[0].model, texts, top_k, self.ids, self.hash_text
            )
        except Exception as error:  # a failed call fails its requests, not the batcher
            for job in jobs:
                if not job.done.done():
                    job.done.set_exception(error)
            return
        start = 0
        for job in jobs:
            stop = start + len(job.texts)
            if not job.done.done():
                job.done.set_result(served.rows(start, stop, job.top_k))
            start = stop
