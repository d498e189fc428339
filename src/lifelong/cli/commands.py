"""Every ``lifelong`` command in one table: name, where its function lives, its one-line help.

The command line reads this table and imports a command's module only when that command
runs, so ``lifelong --help`` and the read commands start at once (see
:mod:`lifelong.cli.lazy`). Adding a command is one line here: ``"name": Command("module:function",
"One-line help.")``; a two-word name (``"models export"``) puts it in a group, and a new group
also needs its line in :data:`GROUPS`. The one-line help must be the first paragraph of the
function's docstring (a test checks it), because ``--help`` shows it without importing.

This module imports nothing but the standard library: keep it that way.
"""

from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    """Where a command's function lives (``module:function``) and its one-line help."""

    target: str
    summary: str


GROUPS: dict[str, str] = {
    "data": "Validate data and see what changed.",
    "models": "List, inspect, promote, roll back and remove model versions.",
    "review": "Examples held for review (relabels, unknown or too-small intents): list, accept, "
    "reject.",
}

_CLI = "lifelong.cli"

COMMANDS: dict[str, Command] = {
    "init": Command(
        f"{_CLI}.init:init", "Create a project: config.yml, data/, models/, inbox/ and sample data."
    ),
    "data validate": Command(
        f"{_CLI}.data:validate", "Read and check every data file; print a report."
    ),
    "data diff": Command(
        f"{_CLI}.data:diff_command",
        "Show what changed since the last snapshot, or what --add FILE would add.",
    ),
    "data snapshot": Command(
        f"{_CLI}.data:snapshot",
        "Record the current data as a snapshot (training does this by itself).",
    ),
    "models list": Command(
        f"{_CLI}.models:list_",
        "Every version with its parent, status, aliases and headline metric.",
    ),
    "models show": Command(f"{_CLI}.models:show", "Everything recorded about one version."),
    "models promote": Command(
        f"{_CLI}.models:promote",
        "Point an alias (champion by default) at a version after checking its artifact.",
    ),
    "models rollback": Command(
        f"{_CLI}.models:rollback",
        "Move an alias back to the version it held before its latest promotion.",
    ),
    "models history": Command(
        f"{_CLI}.models:alias_history", "Every recorded alias move, oldest first."
    ),
    "models export": Command(
        f"{_CLI}.models:export",
        "Copy a version's model into DIR, sha256-checked, with a manifest and a README.",
    ),
    "models rm": Command(
        f"{_CLI}.models:remove",
        "Remove a version's artifact; its record stays as a tombstone for lineage.",
    ),
    "models gc": Command(
        f"{_CLI}.models:gc",
        "Drop artifacts of old unaliased leaves; rows and lineage stay (marked pruned).",
    ),
    "review list": Command(
        f"{_CLI}.review:list_command",
        "Show held items: source, text, proposed and current label, why held.",
    ),
    "review accept": Command(
        f"{_CLI}.review:accept",
        "Add items to the data (once); an accepted relabel replaces the old label.",
    ),
    "review reject": Command(
        f"{_CLI}.review:reject",
        "Keep items out of training for good (kept, marked rejected, for the audit).",
    ),
    "lineage": Command(
        f"{_CLI}.models:lineage", "The version tree: each cold major and the updates grown from it."
    ),
    "serve": Command(
        f"{_CLI}.serve:serve",
        "Serve the champion over HTTP: predict, Rasa-style parse, feedback, hot swap, metrics.",
    ),
    "shadow-report": Command(
        f"{_CLI}.serve:shadow_report_cmd",
        "Agreement between the champion and the shadow model, and who was right per feedback.",
    ),
    "train": Command(
        f"{_CLI}.train:train", "Train a model from scratch, or fine-tune one, and register it."
    ),
    "evaluate": Command(
        f"{_CLI}.train:evaluate",
        "Evaluate a version on the test split or a labeled file (--file); or test-then-train "
        "online over a table (--prequential).",
    ),
    "predict": Command(
        f"{_CLI}.predict:predict",
        "Classify texts with a model (default: the champion), without starting a server.",
    ),
    "shell": Command(
        f"{_CLI}.predict:shell",
        "Type messages, see their intent, confidence and ranking; /stop or Ctrl-D ends.",
    ),
    "challenge": Command(
        f"{_CLI}.train:challenge",
        "Run the gate for challengers against the champion; promote at most one.",
    ),
    "compress": Command(
        f"{_CLI}.compress:compress",
        "Compress a version into a new one (parent VERSION, edge compress; distill: a fast "
        "student of it, edge distill), then gate it.",
    ),
    "update": Command(
        f"{_CLI}.loop:update",
        "Run one cycle: ingest, check triggers, update, gate, promote; then exit.",
    ),
    "watch": Command(
        f"{_CLI}.loop:watch_command", "Run cycles every INTERVAL seconds until stopped."
    ),
    "history": Command(
        f"{_CLI}.history:history",
        "One row per cycle (the newest N, oldest first): trigger, data added, plan, outcome.",
    ),
    "publish": Command(
        f"{_CLI}.publish:publish",
        "Publish each example of FILE as one message (for tests and demos of the loop).",
    ),
    "ui": Command(
        f"{_CLI}.ui:ui",
        "Serve the dashboard: lineage, versions and verdicts, metrics, cycles, monitoring.",
    ),
    "freshness": Command(
        f"{_CLI}.loop:freshness",
        "The data-freshness experiment: train on windows of different ages, test on the newest "
        "slice.",
    ),
}

# Options that may be written without their value (Click has none): ``--finetune`` alone means
# ``--finetune latest``. The entry point fills the value in before parsing.
OPTIONAL_VALUES: dict[str, str] = {"--finetune": "latest"}
