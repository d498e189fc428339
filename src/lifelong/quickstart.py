"""The quickstart: a tour of lifelong on the sample project, run as a user would run it.

Each step runs the real ``lifelong`` command in a subprocess and shows it, so what you see is
exactly what you would type. ``scripts/quickstart.sh`` calls ``python -m lifelong.quickstart``.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.rule import Rule

console = Console()


def _lifelong(*args: str, cwd: Path, check: bool = True) -> int:
    """Run ``lifelong ARGS`` in ``cwd``, echoing the command; return its exit code."""
    shown = " ".join(args)
    console.print(f"\n[bold cyan]$ lifelong {shown}[/]")
    started = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", "lifelong.cli.main", *args], cwd=cwd)
    console.print(f"[dim]({time.perf_counter() - started:.1f} s, exit {code})[/]")
    if check and code != 0:
        raise SystemExit(f"quickstart: `lifelong {shown}` failed with exit code {code}")
    return code


def _add_batch(demo: Path, *names: str) -> None:
    """Simulate a day of annotation: copy sample batches into the project's data folder."""
    for name in names:
        shutil.copy(demo / "batches" / name, demo / "data" / name)
        console.print(f"[dim]annotators delivered batches/{name} -> data/{name}[/]")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Server:
    """``lifelong serve`` in the background, as a user would start it in another terminal."""

    def __init__(self, demo: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        console.print(f"\n[bold cyan]$ lifelong serve --port {self.port} &[/]")
        command = [sys.executable, "-m", "lifelong.cli.main", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, cwd=demo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("quickstart: the server exited at start-up")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    console.print(f"[dim]server ready at {self.url} (docs at {self.url}/docs)[/]")
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise SystemExit("quickstart: the server did not become ready in 90 s")

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        console.print(f"[bold cyan]POST {path}[/] {json.dumps(payload)}", highlight=False)
        answer = httpx.post(f"{self.url}{path}", json=payload, timeout=10)
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    def predict(self, text: str) -> dict[str, Any]:
        body = self.post("/predict", {"text": text})
        console.print(
            f"  -> {body['intent']} ({body['confidence']:.2f}) from model {body['version']}",
            highlight=False,
        )
        return body

    def wait_for_version(self, version: str, timeout: float = 30) -> None:
        """The server follows the champion alias by polling; wait until it swapped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = httpx.post(f"{self.url}/predict", json={"text": "hello"}, timeout=10)
            if answer.json().get("version") == version:
                return
            time.sleep(0.5)
        raise SystemExit(f"quickstart: the server did not switch to {version}")

    def stop(self) -> None:
        console.print("\n[bold cyan]$ kill -TERM %lifelong-serve[/]")
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        # uvicorn shuts down gracefully, then re-raises the signal: -SIGTERM is a clean stop.
        clean = code in (0, -signal.SIGTERM)
        console.print(f"[dim]server stopped {'cleanly' if clean else f'with exit {code}'}[/]")


def _champion(demo: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "lifelong.cli.main", "models", "show", "champion", "--json"],
        cwd=demo,
        capture_output=True,
        text=True,
        check=True,
    )
    record: dict[str, Any] = json.loads(done.stdout)
    return f"{record['major']}.{record['minor']}"


def run(workdir: Path) -> None:
    """Create a fresh sample project under ``workdir`` and walk through it."""
    demo = workdir / "demo"
    if demo.exists():
        shutil.rmtree(demo)
    workdir.mkdir(parents=True, exist_ok=True)
    steps = [
        "Create a project with sample data (an online shop's support assistant)",
        "Validate the data: every file, every intent, the stable train/valid/test split",
        "Train version 1.0 from scratch; as the project's first model it becomes champion",
        "Preview what the next batch of annotations adds (a new intent, gift_card)",
        "Add it and fine-tune 1.1 from 1.0; the gate decides whether it ships",
        "What the registry remembers about 1.1: parent, data diff, verdict, forgetting",
        "Serve the champion over HTTP: predictions and a feedback correction",
        "The continual loop: new batches land in the inbox; two `lifelong update` cycles",
        "The server follows the champion by itself; history and lineage of every model",
    ]

    def step(number: int) -> None:
        console.print(f"\n[bold]{number}/{len(steps)}[/] {steps[number - 1]}")

    console.print(Rule("lifelong quickstart"))
    step(1)
    _lifelong("init", str(demo), cwd=workdir)
    step(2)
    _lifelong("data", "validate", cwd=demo)
    step(3)
    _lifelong("train", cwd=demo)
    step(4)
    _lifelong("data", "diff", "--add", "batches/day2.csv", cwd=demo)
    step(5)
    _add_batch(demo, "day2.csv")
    _lifelong("train", "--finetune", "--promote", cwd=demo)
    step(6)
    _lifelong("models", "show", "1.1", cwd=demo)
    step(7)
    server = _Server(demo)
    try:
        for text in ("hey, is anyone there?", "where is my parcel A1234", "can I buy a gift card"):
            server.predict(text)
        text, truth = "do you ship to hotels or only home addresses", "shipping_options"
        answer = server.predict(text)
        server.post(
            "/feedback", {"text": text, "intent": truth, "prediction_id": answer["prediction_id"]}
        )
        verdict = "right" if answer["intent"] == truth else "wrong"
        console.print(
            f"  -> a reviewer says it is {truth} (the model was {verdict}); stored and fsynced "
            "in the feedback inbox, the next update trains on it"
        )
        step(8)
        for name in ("day1.jsonl", "day3.jsonl"):
            shutil.copy(demo / "batches" / name, demo / "inbox" / name)
            console.print(f"[dim]batches/{name} landed in inbox/[/]")
            _lifelong("update", cwd=demo, check=False)
        step(9)
        champion = _champion(demo)
        server.wait_for_version(champion)
        server.predict("can I buy a gift card")
    finally:
        server.stop()
    _lifelong("history", cwd=demo)
    _lifelong("lineage", cwd=demo)
    console.print(Rule("done"))
    console.print(f"The demo project is in {demo}; cd there and try `lifelong --help`.")


def main() -> None:
    run(Path(sys.argv[1] if len(sys.argv) > 1 else ".quickstart").resolve())


if __name__ == "__main__":
    main()
