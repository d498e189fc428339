"""Benchmark of trust: attacks against the data intake and the gate, and clean batches beside them.

Every scenario goes through the door a user's data takes: a batch file lands in the inbox and
one cycle of the continual loop (`lifelong update`: ingest, snapshot, fine-tune, gate, promote)
runs on it. A scenario starts from a copy of a project whose champion was trained cold, so
scenarios never see each other's data. Each project draws its own split salt (as `lifelong init`
does), so repeated runs (--salts) see different test sets: outcomes are counted over them.

Attacks, on the sample project of `lifelong init` (default pipeline):
- junk under one intent: 200 random-word texts (the sample's own vocabulary) labelled `greet`;
- paraphrases of A labelled B: 200 paraphrases of `refund_status` labelled `order_status`;
- 10% label flips: the day1 batch with a tenth of its labels moved to another intent.
- a flood of feedback: 1000 corrections that call refund questions `order_status`, sent to
  `POST /feedback` by one client with the feedback token for 30 s, then one cycle;
- an unknown intent: one feedback correction naming an intent the data does not have.
Target: rejected or quarantined (held in the review queue) every time.

Clean batches: the sample's day1, day2 (brings the new intent `gift_card`) and day3; CLINC150
and BANKING77 (../shared/datasets, read by path): 1.0 trained cold on half of the training set,
then --chunks chunks of a tenth each, every chunk one cycle on top of the last champion.
Target: promoted every time (or a stated, measured reason).

    .venv/bin/python bench/poison.py [--salts 3] [--stores sqlite,postgresql] [--chunks 3]
        [--only attacks|clean|sample|datasets] [--no-screen]

PostgreSQL: a fresh database per project on --pg-url (dropped afterwards).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lifelong.evaluation import Verdict
from lifelong.pipelines import review
from lifelong.pipelines.loop import CycleResult, run_cycle
from lifelong.project import STORE_URL_ENV, Project
from lifelong.registry import open_registry
from lifelong.scaffold import init_project
from lifelong.testing import flip_labels, junk, paraphrases_of_refunds

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
Rows = list[dict[str, str]]


@dataclass
class Outcome:
    """One scenario's result on one project."""

    outcome: str
    reason: str
    old_flips: str = ""
    seconds: float = 0.0
    held: int = 0


@dataclass
class Tally:
    """Outcomes of one scenario over its runs."""

    outcomes: list[Outcome] = field(default_factory=list)

    def summary(self) -> str:
        counts = Counter(o.outcome for o in self.outcomes)
        return ", ".join(f"{name} {n}/{len(self.outcomes)}" for name, n in sorted(counts.items()))


# -- stores -------------------------------------------------------------------------------


class Stores:
    """Where new projects keep their registry: SQLite inside the project folder (a copied
    project copies its store), or a fresh PostgreSQL database per project, cloned from the
    template project's database (``CREATE DATABASE ... TEMPLATE``) for a copied one."""

    def __init__(self, kind: str, pg_url: str) -> None:
        self.kind, self.pg_url = kind, pg_url
        self.created: list[str] = []
        self.admin = (
            None if kind == "sqlite" else create_engine(pg_url, isolation_level="AUTOCOMMIT")
        )

    def use(self, like: str | None = None) -> str | None:
        """Point ``LIFELONG_STORE_URL`` at a new database (a copy of ``like``); its name."""
        if self.admin is None:
            os.environ.pop(STORE_URL_ENV, None)
            return None
        name = f"lifelong_bench_{uuid.uuid4().hex[:12]}"
        template = f' TEMPLATE "{like}"' if like else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
        self.created.append(name)
        os.environ[STORE_URL_ENV] = (
            make_url(self.pg_url).set(database=name).render_as_string(hide_password=False)
        )
        return name

    def close(self) -> None:
        os.environ.pop(STORE_URL_ENV, None)
        if self.admin is None:
            return
        with self.admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


# -- projects -----------------------------------------------------------------------------


def read_rows(path: Path) -> Rows:
    with path.open(encoding="utf-8") as handle:
        if path.suffix == ".csv":
            return [{"text": r["text"], "intent": r["intent"]} for r in csv.DictReader(handle)]
        return [{"text": r["text"], "intent": r["intent"]} for r in map(json.loads, handle)]


def new_project(folder: Path, data: Rows | None, screen: bool) -> Project:
    """`lifelong init` (sample data unless ``data``); of the triggers only volume (new data);
    without ``screen`` the intake screen is off (the gate alone)."""
    init_project(folder, sample_data=data is None)
    if data is not None:
        write_rows(folder / "data" / "base.jsonl", data)
    path = folder / "config.yml"
    config = yaml.safe_load(path.read_text())
    config["policy"]["triggers"] = {"time": None, "performance": None, "drift": None}
    if not screen:
        config["policy"]["screen"] = None
    path.write_text(yaml.safe_dump(config))
    return Project.load(folder)


def write_rows(path: Path, rows: Rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def cycle(project: Project, rows: Rows, name: str, flipped: set[str] | None = None) -> Outcome:
    """Drop ``rows`` in the inbox and run one cycle; with ``flipped`` (the texts whose labels
    were flipped) also say how many of those the screen held."""
    write_rows(project.inbox / f"{name}.jsonl", rows)
    outcome = loop_outcome(project)
    if flipped:
        with open_registry(project.store_url, project.artifacts_dir) as registry:
            held = {item.text for item in review.items(registry)}
        caught = len(held & flipped)
        outcome.reason = (
            f"{caught} of the {len(flipped)} flipped labels held, {len(held - flipped)} clean "
            f"examples held; {outcome.reason}"
        )
    return outcome


def feedback_cycle(project: Project, rows: Rows, seconds: float) -> Outcome:
    """Send ``rows`` to ``POST /feedback`` of an in-process server for at most ``seconds``
    (one client, the feedback token), then run one cycle."""
    from fastapi.testclient import TestClient

    from lifelong.serving import ServeSettings, create_app

    token = "bench-feedback-token"
    settings = ServeSettings.from_project(
        project, env={project.config.server.feedback_token_env: token}
    )
    codes: Counter[int] = Counter()
    deadline = time.monotonic() + seconds
    with TestClient(create_app(settings)) as client:
        for row in rows:
            if time.monotonic() > deadline:
                break
            answer = client.post(
                "/feedback", json=row, headers={"Authorization": f"Bearer {token}"}
            )
            codes[answer.status_code] += 1
    sent = ", ".join(f"{n} x {code}" for code, n in sorted(codes.items()))
    return loop_outcome(project, f"sent {sent}; ")


def loop_outcome(project: Project, prefix: str = "") -> Outcome:
    """Run one cycle (triggers as configured); what it held for review and what the gate said.

    A cycle that trained reports the gate's outcome; one that held examples and trained nothing
    is ``quarantined``."""
    started = time.perf_counter()
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        before = {item.id for item in review.items(registry)}
        result: CycleResult = run_cycle(project, registry)
        held = Counter(i.reason for i in review.items(registry) if i.id not in before)
    seconds = time.perf_counter() - started
    n_held = sum(held.values())
    kept = ", ".join(f"{n} {reason}" for reason, n in sorted(held.items())) or "none"
    if result.outcome == "error":
        return Outcome("error", (result.error.strip().splitlines() or ["?"])[-1], "", seconds)
    if not result.judgements:
        outcome = "quarantined" if n_held else result.outcome
        why = f"{prefix}held for review: {kept}; cycle: {result.outcome}"
        return Outcome(outcome, why, "", seconds, n_held)
    verdict: Verdict = result.judgements[0].verdict
    old = verdict.slice("old")
    flips = "" if old is None else f"{old.negative_flips}/{old.champion_correct}"
    why = f"{prefix}held for review: {kept}; {verdict.reasons[0]}"
    return Outcome(result.outcome, why, flips, seconds, n_held)


def train_first(project: Project, name: str) -> None:
    """The project's first cycle: its cold 1.0 must become champion, or the run is pointless."""
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        first = run_cycle(project, registry)
    if first.outcome != "promoted":
        raise SystemExit(f"{name}'s first model was not promoted: {first.error}")


def trained_copy(template: Path, target: Path) -> Project:
    shutil.copytree(template, target)
    return Project.load(target)


# -- scenarios ----------------------------------------------------------------------------


def sample_attacks(root: Path) -> dict[str, Rows]:
    batches = root / "batches"
    day1 = read_rows(batches / "day1.jsonl")
    vocabulary = re.findall(r"[a-z]+", " ".join(r["text"].lower() for r in day1))
    return {
        "junk under one intent (200 -> greet)": junk(200, label="greet", vocabulary=vocabulary),
        "paraphrases of A labelled B (200 refund -> order)": paraphrases_of_refunds(
            200, label="order_status"
        ),
        "10% label flips (day1)": flip_labels(day1, 0.1),
    }


def sample_clean(root: Path) -> dict[str, Rows]:
    batches = root / "batches"
    return {
        "sample day1": read_rows(batches / "day1.jsonl"),
        "sample day2 (new intent gift_card)": read_rows(batches / "day2.csv"),
        "sample day3": read_rows(batches / "day3.jsonl"),
    }


def run_sample(
    work: Path,
    salt_index: int,
    kinds: set[str],
    stores: Stores,
    tallies: dict[str, Tally],
    log: Callable[[str], None],
    screen: bool,
) -> None:
    """Train the sample's 1.0 once, then each scenario on a copy of it."""
    template = work / f"sample-{salt_index}"
    database = stores.use()
    project = new_project(template, None, screen)
    train_first(project, "the sample")
    scenarios: dict[str, Rows] = {}
    flipped: dict[str, set[str]] = {}
    if "attacks" in kinds:
        scenarios |= sample_attacks(template)
        day1 = read_rows(template / "batches" / "day1.jsonl")
        flipped = {
            name: {new["text"] for old, new in zip(day1, rows, strict=True) if old != new}
            for name, rows in scenarios.items()
            if name.startswith("10% label flips")
        }
    if "clean" in kinds:
        scenarios |= sample_clean(template)
    feedback: dict[str, Rows] = {}
    if "attacks" in kinds:
        feedback = {
            "a flood of feedback (1000 refund questions -> order_status, 30 s)": (
                paraphrases_of_refunds(480, label="order_status", seed=1) * 3
            )[:1000],
            "an unknown intent by feedback": [{"text": "hello", "intent": "no_such_intent"}],
        }
    for i, (name, rows) in enumerate([*scenarios.items(), *feedback.items()]):
        stores.use(like=database)
        copy = trained_copy(template, work / f"sample-{salt_index}-{i}")
        if name in feedback:
            outcome = feedback_cycle(copy, rows, seconds=30.0)
        else:
            outcome = cycle(copy, rows, f"s{i}", flipped.get(name))
        tallies.setdefault(name, Tally()).outcomes.append(outcome)
        log(f"  {name}: {outcome.outcome} ({outcome.old_flips} old broken) - {outcome.reason}")


def run_dataset(
    work: Path,
    dataset: str,
    chunks: int,
    stores: Stores,
    tallies: dict[str, Tally],
    log: Callable[[str], None],
    screen: bool,
) -> None:
    """Half the training set cold, then ``chunks`` tenths, each one cycle."""
    stores.use()
    seed = 0
    rows = read_rows(DATASETS / dataset / "train.jsonl")
    random.Random(seed).shuffle(rows)
    tenth = len(rows) // 10
    project = new_project(work / f"{dataset}-{seed}", rows[: 5 * tenth], screen)
    train_first(project, dataset)
    for k in range(chunks):
        chunk = rows[(5 + k) * tenth : (6 + k) * tenth]
        outcome = cycle(project, chunk, f"chunk{k}")
        tallies.setdefault(f"{dataset} chunk (10%)", Tally()).outcomes.append(outcome)
        log(
            f"  {dataset} chunk {k + 1}: {outcome.outcome} ({outcome.old_flips} old broken, "
            f"{outcome.seconds:.0f} s) - {outcome.reason}"
        )


# -- report -------------------------------------------------------------------------------


def table(title: str, tallies: dict[str, dict[str, Tally]], stores: list[str]) -> str:
    """Outcome counts per store, and medians over every run of examples held for review and of
    the champion's right answers on old test examples that the challenger broke."""
    lines = [
        f"### {title}",
        "",
        "| scenario | " + " | ".join(stores) + " | held for review | old answers broken |",
    ]
    lines.append("| --- |" + " --- |" * len(stores) + " ---: | ---: |")
    names = list(dict.fromkeys(name for per in tallies.values() for name in per))
    for name in names:
        cells = [tallies[s][name].summary() if name in tallies[s] else "-" for s in stores]
        flips = [
            int(o.old_flips.split("/")[0])
            for s in stores
            if name in tallies[s]
            for o in tallies[s][name].outcomes
            if o.old_flips
        ]
        median = f"{statistics.median(flips):g}" if flips else "-"
        held = [o.held for s in stores if name in tallies[s] for o in tallies[s][name].outcomes]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {statistics.median(held):g} | {median} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--salts", type=int, default=3, help="sample projects per store")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--chunks", type=int, default=3, help="10%% chunks per data set")
    parser.add_argument("--datasets", default="clinc150,banking77")
    parser.add_argument("--only", choices=["attacks", "clean", "sample", "datasets"])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--no-screen", action="store_true", help="turn the intake screen off: the gate alone"
    )
    args = parser.parse_args()
    stores = args.stores.split(",")
    kinds = {"attacks", "clean"} if args.only in (None, "sample") else {args.only}
    run_datasets = args.only in (None, "clean", "datasets")
    if args.only == "datasets":
        kinds = set()
    attacks: dict[str, dict[str, Tally]] = {s: {} for s in stores}
    clean: dict[str, dict[str, Tally]] = {s: {} for s in stores}
    with tempfile.TemporaryDirectory(prefix="lifelong-poison-") as tmp:
        for kind in stores:
            print(f"store: {kind}", flush=True)
            databases = Stores(kind, args.pg_url)
            try:
                for i in range(args.salts if kinds else 0):
                    sample: dict[str, Tally] = {}
                    run_sample(
                        Path(tmp) / kind, i, kinds, databases, sample, print, not args.no_screen
                    )
                    for name, tally in sample.items():
                        target = clean if name.startswith("sample") else attacks
                        target[kind].setdefault(name, Tally()).outcomes += tally.outcomes
                for dataset in args.datasets.split(",") if run_datasets else []:
                    run_dataset(
                        Path(tmp) / kind,
                        dataset,
                        args.chunks,
                        databases,
                        clean[kind],
                        print,
                        not args.no_screen,
                    )
            finally:
                databases.close()
    print()
    if any(attacks.values()):
        print(table("Attacks (target: rejected or quarantined)", attacks, stores))
        print()
    if any(clean.values()):
        print(table("Clean batches (target: promoted)", clean, stores))


if __name__ == "__main__":
    main()
