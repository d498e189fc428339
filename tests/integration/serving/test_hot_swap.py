"""Hot swap under load: the champion moves while clients hammer the server; nothing fails.

Moves go both ways a server learns of them: through the store (as ``lifelong models promote``
does; the server follows by polling) and through ``POST /admin/promote``. Every response must
be a 200 whose version was champion at some moment before the response arrived.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from lifelong.registry import Registry

pytestmark = pytest.mark.integration

MOVES = ["2.0", "1.1", "1.0", "2.0", "1.0", "1.1", "2.0", "1.0"]
CONCURRENCY = 8


class Load:
    """Clients sending /predict in a loop from a background thread until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results: list[tuple[float, int, str | None]] = []  # (received at, status, version)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()))

    async def _client(self, http: httpx.AsyncClient, n: int) -> None:
        texts = ["play some music", "will it rain", "book a table", "wake me up at 7"]
        i = 0
        while not self._stop.is_set():
            i += 1
            try:
                answer = await http.post("/predict", json={"text": texts[(n + i) % 4]})
                version = answer.json().get("version") if answer.status_code == 200 else None
                self.results.append((time.monotonic(), answer.status_code, version))
            except httpx.HTTPError as error:
                self.errors.append(repr(error))

    async def _main(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            await asyncio.gather(*(self._client(http, n) for n in range(CONCURRENCY)))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)


def test_hot_swap_under_load(
    store_project: tuple[Path, Registry], start_server: Callable[..., Any]
) -> None:
    folder, registry = store_project
    server = start_server(folder)
    champion_since: list[tuple[float, str]] = [(0.0, "1.0")]
    with Load(server.url) as load, httpx.Client(base_url=server.url) as http:
        time.sleep(0.5)
        for n, version in enumerate(MOVES):
            champion_since.append((time.monotonic(), version))
            if n % 2:
                answer = http.post(
                    "/admin/promote",
                    # no verdicts in this store: forced (the rules are test_admin's)
                    json={"version": version, "reason": "swap test", "force": True},
                    headers=server.admin(),
                )
                assert answer.status_code == 200, answer.text
            else:
                registry.set_alias("champion", version, reason="swap test", command="test")
            deadline = time.monotonic() + 10
            while http.get("/health").json()["version"] != version:
                assert time.monotonic() < deadline, f"server never swapped to {version}"
                time.sleep(0.02)
            time.sleep(0.3)
    assert load.errors == []
    assert len(load.results) > 200
    assert {status for _, status, _ in load.results} == {200}
    for received, _, version in load.results:
        was_champion = {v for since, v in champion_since if since <= received}
        assert version in was_champion, (received, version, champion_since)
    served = {version for _, _, version in load.results}
    assert served == {"1.0", "1.1", "2.0"}
