"""The micro-batcher: concurrent requests share calls, per model, each gets its own answers."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifelong.core.hashing import TextHasher
from lifelong.models import ModelBundle
from lifelong.serving import batcher as batcher_module
from lifelong.serving.batcher import Batcher, ScoringFailed
from lifelong.serving.holder import LoadedModel
from lifelong.serving.ids import TimeOrderedIds
from lifelong.serving.inference import Served, score

HASHER = TextHasher(b"a test key of the batcher")


def test_concurrent_requests_share_calls_but_not_models(
    trained_bundles: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = (
        LoadedModel(v, ModelBundle.load(p), datetime.now(UTC))
        for v, p in zip(("1.0", "2.0"), trained_bundles, strict=True)
    )
    calls: list[tuple[str, int]] = []

    def counted(
        model: LoadedModel, texts: list[str], top_k: int, ids: TimeOrderedIds, hasher: TextHasher
    ) -> Served:
        calls.append((model.version, len(texts)))
        return score(model, texts, top_k, ids, hasher)

    monkeypatch.setattr(batcher_module, "score", counted)

    async def main() -> list[Served]:
        batcher = Batcher(max_texts=4, ids=TimeOrderedIds(), hash_text=HASHER)
        batcher.start()
        requests = [
            batcher.score(old, ["play music"], 1),
            batcher.score(old, ["wake me up", "rain"], 3),
            batcher.score(new, ["book a table"], 2),
            batcher.score(old, ["play a song"], 2),
            batcher.score(old, ["snooze"], 2),
        ]
        answers = await asyncio.gather(*requests)
        await batcher.close()
        return answers

    answers = asyncio.run(main())
    assert calls == [("1.0", 4), ("2.0", 1), ("1.0", 1)]  # FIFO, grouped, at most 4 texts
    assert [a.version for a in answers] == ["1.0", "1.0", "2.0", "1.0", "1.0"]
    assert [len(a) for a in answers] == [1, 2, 1, 1, 1]
    assert [len(a.rankings()[0]) for a in answers] == [1, 3, 2, 2, 2]
    assert answers[1].intents[0] == "alarm"
    assert answers[2].intents[0] == "booking"
    ids = [i for a in answers for i in a.prediction_ids]
    assert len(set(ids)) == len(ids)  # every text its own id, shared calls or not


def test_calls_run_side_by_side_up_to_the_workers(
    trained_bundles: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = LoadedModel("1.0", ModelBundle.load(trained_bundles[0]), datetime.now(UTC))
    lock = threading.Lock()
    running: list[int] = []  # calls running, seen as each one starts
    release = threading.Event()

    def held(
        model: LoadedModel, texts: list[str], top_k: int, ids: TimeOrderedIds, hasher: TextHasher
    ) -> Served:
        with lock:
            running.append(running[-1] + 1 if running else 1)
        release.wait(10)
        try:
            return score(model, texts, top_k, ids, hasher)
        finally:
            with lock:
                running.append(running[-1] - 1)

    monkeypatch.setattr(batcher_module, "score", held)
    texts = [["play music"], ["wake me up"], ["book a table"], ["rain"], ["snooze"]]

    async def main() -> tuple[list[int], list[Served]]:
        batcher = Batcher(max_texts=1, ids=TimeOrderedIds(), workers=2, hash_text=HASHER)
        batcher.start()
        requests = [asyncio.ensure_future(batcher.score(model, t, 1)) for t in texts]
        for _ in range(500):  # two calls start without waiting for each other...
            if len(running) >= 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        started = list(running)  # ...and a third waits for a free worker
        release.set()
        answers = await asyncio.gather(*requests)
        await batcher.close()
        return started, answers

    started, answers = asyncio.run(main())
    assert started == [1, 2]
    assert max(running) == 2
    expected = [score(model, t, 1, TimeOrderedIds(), HASHER).intents for t in texts]
    assert [a.intents for a in answers] == expected  # each request its own answer


class _Stub:
    """A bundle stand-in: the fake scorer below never reads more than the labels."""

    labels = ("ok",)


STUB = LoadedModel("9.9", _Stub(), datetime.now(UTC))  # type: ignore[arg-type]


def _echo_unless_bad(calls: list[list[str]]) -> object:
    """A scorer that raises on any call holding a text starting ``bad`` and otherwise answers
    each text with itself as prediction id (so a job can see it got its own rows)."""

    def fake(
        model: LoadedModel, texts: list[str], top_k: int, ids: TimeOrderedIds, _hash: object
    ) -> Served:
        calls.append(list(texts))
        if any(text.startswith("bad") for text in texts):
            raise ValueError("cannot featurize a bad text")
        n = len(texts)
        ranked = np.zeros((n, 1), dtype=np.intp)
        confidences = np.ones((n, 1), dtype=np.float32)
        return Served(model.version, model.labels, list(texts), ranked, confidences, [""] * n, 1.0)

    return fake


async def _gather_all(batcher: Batcher, jobs: list[list[str]]) -> list[Served | BaseException]:
    batcher.start()
    try:
        return await asyncio.gather(
            *(batcher.score(STUB, texts, 1) for texts in jobs), return_exceptions=True
        )
    finally:
        await batcher.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    jobs=st.lists(
        st.lists(st.sampled_from(["good", "bad"]), min_size=1, max_size=3), min_size=1, max_size=24
    ),
    max_texts=st.integers(1, 16),
    workers=st.integers(1, 3),
)
def test_a_job_whose_scoring_raises_fails_only_itself(
    jobs: list[list[str]], max_texts: int, workers: int
) -> None:
    jobs = [[f"{kind}-{j}-{i}" for i, kind in enumerate(job)] for j, job in enumerate(jobs)]
    calls: list[list[str]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batcher_module, "score", _echo_unless_bad(calls))
        answers = asyncio.run(
            _gather_all(Batcher(max_texts, TimeOrderedIds(), workers, hash_text=HASHER), jobs)
        )
    for texts, answer in zip(jobs, answers, strict=True):
        if any(text.startswith("bad") for text in texts):
            assert isinstance(answer, ScoringFailed)
            assert answer.message == (
                "scoring failed with model 9.9: ValueError: cannot featurize a bad text"
            )
            assert isinstance(answer.__cause__, ValueError)
        else:
            assert isinstance(answer, Served)
            assert answer.prediction_ids == texts  # its own rows, in order
    if not any(text.startswith("bad") for texts in jobs for text in texts):
        # the fast path: calls that succeed are never repeated, every text is scored once
        scored = sorted(text for call in calls for text in call)
        assert scored == sorted(text for job in jobs for text in job)


def test_many_good_jobs_in_flight_with_bad_ones_all_get_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """300 good jobs and 30 failing ones queued together: every good one answered, and the
    bisection costs a few calls per failing job, not one per job."""
    calls: list[list[str]] = []
    monkeypatch.setattr(batcher_module, "score", _echo_unless_bad(calls))
    jobs = [[f"good {i}"] for i in range(300)]
    for index in range(30):
        jobs.insert(index * 11, [f"bad {index}"])
    answers = asyncio.run(
        _gather_all(Batcher(32, TimeOrderedIds(), workers=2, hash_text=HASHER), jobs)
    )
    good = [a for texts, a in zip(jobs, answers, strict=True) if texts[0].startswith("good")]
    bad = [a for texts, a in zip(jobs, answers, strict=True) if texts[0].startswith("bad")]
    assert [a.prediction_ids if isinstance(a, Served) else a for a in good] == [
        [f"good {i}"] for i in range(300)
    ]
    assert len(bad) == 30
    assert all(isinstance(a, ScoringFailed) for a in bad)
    assert any(len(call) > 1 and any(t.startswith("bad") for t in call) for call in calls)
    assert len(calls) < len(jobs)
