"""The quickstart: a tour of lifelong on the sample project, run as a user would run it.

Each step runs the real ``lifelong`` command in a subprocess and shows it, so what you see is
exactly what you would type. ``scripts/quickstart.sh`` calls ``python -m lifelong.quickstart``.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lifelong.cli.common import make_console
from lifelong.serving.process import ServerProcess

console = make_console()


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


class _Server:
    """``lifelong serve`` in the background, as a user would start it in another terminal."""

    def __init__(self, demo: Path) -> None:
        # Feedback becomes training data, so the server takes it only with its own token.
        self.feedback_token = secrets.token_urlsafe(16)
        self.process = ServerProcess(demo, env={"LIFELONG_FEEDBACK_TOKEN": self.feedback_token})
        port = self.process.port
        console.print(
            f"\n[bold cyan]$ LIFELONG_FEEDBACK_TOKEN=... lifelong serve --port {port} &[/]"
        )
        self.process.start()
        url = self.process.url
        console.print(f"[dim]server ready at {url} (docs at {url}/docs)[/]")

    def post(self, path: str, payload: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        auth = " (Authorization: Bearer $LIFELONG_FEEDBACK_TOKEN)" if token else ""
        console.print(f"[bold cyan]POST {path}[/]{auth} {json.dumps(payload)}", highlight=False)
        return self.process.post(path, payload, token=token)

    def predict(self, text: str) -> dict[str, Any]:
        body = self.post("/predict", {"text": text})
        console.print(
            f"  -> {body['intent']} ({body['confidence']:.2f}) from model {body['version']}",
            highlight=False,
        )
        return body

    def stop(self) -> None:
        running = self.process.process
        pid = "" if running is None else f" {running.pid}"
        console.print(f"\n[bold cyan]$ kill -TERM{pid}[/] [dim](stops the server, like Ctrl-C)[/]")
        clean = self.process.stop()
        console.print(f"[dim]server stopped {'cleanly' if clean else 'uncleanly'}[/]")


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
        "The continual loop: new batches land in the inbox; two `lifelong update` cycles; "
        "what no one vouched for waits in `lifelong review`",
        "The server follows the champion by itself; history and lineage of every model",
    ]

    def step(number: int) -> None:
        console.print(f"\n[bold]{number}/{len(steps)}[/] {steps[number - 1]}")

    console.print("[bold]== lifelong quickstart ==[/]")
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
            "/feedback",
            {"text": text, "intent": truth, "prediction_id": answer["prediction_id"]},
            token=server.feedback_token,
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
        _lifelong("review", "list", cwd=demo)
        step(9)
        champion = _champion(demo)
        server.process.wait_for_version(champion)
        server.predict("can I buy a gift card")
    finally:
        server.stop()
    _lifelong("history", cwd=demo)
    _lifelong("lineage", cwd=demo)
    console.print("[bold]== done ==[/]")
    console.print(f"The demo project is in {demo}; cd there and try `lifelong --help`.")


def main() -> None:
    run(Path(sys.argv[1] if len(sys.argv) > 1 else ".quickstart").resolve())


if __name__ == "__main__":
    main()
