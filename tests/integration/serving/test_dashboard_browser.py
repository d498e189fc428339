"""The dashboard in a real browser: headless Chromium (Playwright) on ``lifelong serve``'s
``/ui`` and on ``lifelong ui``. Pages load without console errors, links work, a promote and a
rollback made by clicking change the champion in the store, an unauthorised action is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lifelong.registry import Registry
from lifelong.serving.process import free_port
from lifelong.testing.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Project = tuple[Path, Registry]
StartServer = Callable[..., Any]
SRC = Path(__file__).resolve().parents[3] / "src"
TOKEN = "integration-token"  # conftest's TOKEN, the one start_server gives the server

PAGES = ["/ui/", "/ui/versions/1.0", "/ui/metrics", "/ui/compare", "/ui/cycles", "/ui/monitoring"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} missing")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Page:
    """A browser tab that records console errors and failed requests."""

    def __init__(self, browser: Any, base: str) -> None:
        self.base = base
        self.tab = browser.new_page()
        self.errors: list[str] = []
        self.tab.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str) -> Any:
        response = self.tab.goto(self.base + path)
        self.tab.wait_for_load_state("networkidle")
        return response


def test_pages_links_and_actions_under_serve(
    browser: Any, project: Project, start_server: StartServer
) -> None:
    folder, registry = project
    registry.set_verdict(
        "1.1", {"decision": "promote", "champion_version": "1.0", "reasons": ["ok"]}
    )
    server = start_server(folder)
    with httpx.Client(base_url=server.url) as http:  # some traffic for the monitoring page
        for text in ("wake me up at seven", "play a song", "book a table"):
            assert http.post("/predict", json={"text": text}).status_code == 200
    page = Page(browser, server.url)
    for path in PAGES:
        assert page.open(path).status == 200, path
        assert page.tab.locator("h1").count() == 1
    assert page.tab.locator("div.chart .main-svg").count() > 0  # plotly drew, offline
    assert page.errors == []

    page.open("/ui/lineage")
    hrefs = page.tab.eval_on_selector_all(
        "a[href^='/ui']", "els => els.map(e => e.getAttribute('href'))"
    )
    assert {"/ui/versions/1.0", "/ui/versions/1.1", "/ui/versions/2.0"} <= set(hrefs)
    for href in set(hrefs):
        assert page.tab.request.get(server.url + href).status == 200, href
    page.tab.click("a[data-version='1.1']")
    page.tab.wait_for_url("**/ui/versions/1.1")
    assert "The verdict allows it" in page.tab.content()

    # not logged in: no form, and a hand-made post is refused
    assert page.tab.locator("#promote-form").count() == 0
    refused = page.tab.request.post(
        server.url + "/ui/versions/1.1/promote", form={"csrf": "x", "reason": "r"}
    )
    assert refused.status == 403
    assert registry.store.aliases()["champion"] == "1.0"

    page.tab.fill("input[name=token]", TOKEN)
    page.tab.click("form.login button")
    page.tab.wait_for_url("**/ui/versions/1.1")
    page.tab.fill("#promote-form input[name=reason]", "better on the new data")
    page.tab.click("#promote-form button")
    assert "moved from 1.0 to 1.1" in page.tab.locator("#result").inner_text()
    assert registry.store.aliases()["champion"] == "1.1"

    page.open("/ui/versions/2.0")  # no verdict: forcing needs the box and a reason
    page.tab.fill("#promote-form input[name=reason]", "manual override")
    page.tab.check("#promote-form input[name=force]")
    page.tab.click("#promote-form button")
    assert "forced" in page.tab.locator("#result").inner_text()
    assert registry.store.alias_history("champion")[-1].kind == "forced"

    page.open("/ui/cycles")
    response = page.tab.request.post(  # a logged-in browser, but no CSRF token
        server.url + "/ui/rollback", form={"reason": "x"}
    )
    assert response.status == 403
    page.open("/ui/versions/2.0")
    page.tab.evaluate(
        """csrf => { const f = document.createElement('form'); f.method = 'post';
        f.action = '/ui/rollback'; const i = document.createElement('input'); i.name = 'csrf';
        i.value = csrf; f.appendChild(i); document.body.appendChild(f); f.submit(); }""",
        page.tab.locator("input[name=csrf]").first.get_attribute("value"),
    )
    page.tab.wait_for_selector("#result")
    assert "rolled back from 2.0 to 1.1" in page.tab.locator("#result").inner_text()
    assert registry.store.aliases()["champion"] == "1.1"
    assert page.errors == []


def test_lifelong_ui_serves_the_dashboard_alone(browser: Any, project: Project) -> None:
    folder, _registry = project
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC), "LIFELONG_ADMIN_TOKEN": TOKEN}
    command = [sys.executable, "-m", "lifelong.cli.main", "--project", str(folder)]
    child = subprocess.Popen([*command, "ui", "--port", str(port)], env=env)
    try:
        page = Page(browser, f"http://127.0.0.1:{port}")
        for _ in range(300):
            assert child.poll() is None, f"lifelong ui exited with {child.returncode}"
            try:
                if httpx.get(f"{page.base}/ui/").status_code == 200:
                    break
            except httpx.TransportError:
                page.tab.wait_for_timeout(100)
        assert page.open("/").status == 200  # redirected to /ui/
        assert page.tab.url.endswith("/ui/")
        assert page.open("/ui/versions/9.9").status == 404
        assert "does not exist" in page.tab.content()
        assert [e for e in page.errors if "404" not in e] == []
    finally:
        child.terminate()
        child.wait(10)
