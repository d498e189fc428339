"""Benchmark of the dashboard: every page over a store of 200 versions and 1 M logged
predictions, and screenshots of each page for the README.

Builds the store once in ``--store`` (SQLite; the registry filled by
``lifelong.testing.dashboard_store``, predictions bulk-inserted in chunks of 100 000 through
the store's own batch insert) unless it is there already, then requests each page
``--repeat`` times in-process (FastAPI's TestClient, so the figure is the server's time to
answer, not the network's) and prints the median per page as a markdown table, also written
to ``bench/out/ui.md``. With ``--screenshots DIR`` it serves the dashboard on a free port and
has headless Chromium (Playwright) save a PNG of each page there.

    PYTHONPATH=src python bench/ui.py [--versions 200] [--predictions 1000000] [--repeat 5]
        [--store /tmp/lifelong-ui-bench] [--screenshots docs/ui]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from lifelong.registry import Registry, open_registry
from lifelong.testing.browser import CHROMIUM, CHROMIUM_ARGS
from lifelong.testing.dashboard_store import fill_registry
from lifelong.ui import UiContext, create_ui_app

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def pages(registry: Registry) -> dict[str, str]:
    """Page name -> path, with versions chosen from the store."""
    versions = registry.versions()
    champion = registry.store.aliases()["champion"]
    rejected = next(
        v.label for v in versions if v.verdict and v.verdict.get("decision") != "promote"
    )
    return {
        "lineage": "/ui/lineage",
        "lineage-last-page": "/ui/lineage?page=99",
        "version": f"/ui/versions/{champion}",
        "version-rejected": f"/ui/versions/{rejected}",
        "metrics": "/ui/metrics",
        "metrics-major": f"/ui/metrics?line=major%20{versions[-1].major}",
        "compare": f"/ui/compare?a={versions[0].label}&b={champion}",
        "cycles": "/ui/cycles",
        "monitoring": "/ui/monitoring",
        "not-found": "/ui/versions/999.9",
    }


def build(store: Path, versions: int, predictions: int) -> None:
    store.mkdir(parents=True, exist_ok=True)
    bundle = store / "bundle"
    bundle.mkdir(exist_ok=True)
    (bundle / "weights.bin").write_bytes(b"weights" * 1000)
    started = time.perf_counter()
    with open_registry(f"sqlite:///{store / 'registry.db'}", store / "artifacts") as registry:
        fill_registry(
            registry,
            bundle,
            versions=versions,
            predictions=predictions,
            feedback_log=store / "feedback.jsonl",
        )
    print(
        f"built {store}: {versions} versions, {predictions:,} predictions "
        f"in {time.perf_counter() - started:.1f} s"
    )


def time_pages(client: TestClient, paths: dict[str, str], repeat: int) -> list[str]:
    lines = ["| page | median ms | min ms | status | KiB |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, path in paths.items():
        times, response = [], None
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        assert response is not None
        lines.append(
            f"| {name} | {statistics.median(times):.0f} | {min(times):.0f} | "
            f"{response.status_code} | {len(response.content) / 1024:.0f} |"
        )
    return lines


def screenshots(context: UiContext, paths: dict[str, str], folder: Path) -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_ui_app(context), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for name, path in paths.items():
                if name in ("lineage-last-page", "metrics-major", "not-found"):
                    continue
                page.goto(f"http://127.0.0.1:{port}{path}")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    print(f"screenshots in {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--predictions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", type=Path, default=Path("/tmp/lifelong-ui-bench"))
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args()
    if not (args.store / "registry.db").exists():
        build(args.store, args.versions, args.predictions)
    url = f"sqlite:///{args.store / 'registry.db'}"
    with open_registry(url, args.store / "artifacts") as registry:
        context = UiContext(registry, "bench-token", args.store / "feedback.jsonl")
        paths = pages(registry)
        with TestClient(create_ui_app(context)) as client:
            client.get("/ui/static/plotly.min.js")  # read once, as a running server has
            lines = time_pages(client, paths, args.repeat)
        span = registry.store.prediction_span()
        count = 0 if span is None else span[2]
        header = (
            f"{len(registry.versions())} versions, {count:,} logged predictions, SQLite, "
            f"median of {args.repeat} requests"
        )
        table = "\n".join([header, "", *lines])
        print(table)
        OUT.mkdir(exist_ok=True)
        (OUT / "ui.md").write_text(table + "\n", encoding="utf-8")
        if args.screenshots is not None:
            screenshots(context, paths, args.screenshots)


if __name__ == "__main__":
    main()
