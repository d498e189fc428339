"""The micro-batcher: concurrent requests share calls, per model, each gets its own answers."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lifelong.core.hashing import TextHasher
from lifelong.models import ModelBundle
from lifelong.serving import batcher as batcher_module
from lifelong.serving.batcher import Batcher
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
