"""``lifelong review list | accept | reject`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.config import CONFIG_FILE
from lifelong.core.types import Example
from lifelong.project import Project
from lifelong.registry import ReviewSpec, open_registry

runner = CliRunner()


def _project_with_held_items(root: Path) -> Project:
    (root / "data").mkdir(parents=True)
    (root / CONFIG_FILE).write_text("splits: {valid: 0.0, test: 0.0}\n")
    rows = [{"text": f"hello {i}", "intent": "greet"} for i in range(4)]
    rows += [{"text": f"bye {i}", "intent": "bye"} for i in range(4)]
    (root / "data" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    project = Project.load(root)
    project.state_dir.mkdir()
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        for text, intent, reason, current in [
            ("hello 0", "bye", "relabel", "greet"),
            ("gibberish", "no_such_intent", "unknown-intent", None),
        ]:
            spec = ReviewSpec(
                text=text,
                intent=intent,
                example_hash=Example.make(text, intent).hash,
                reason=reason,
                source="feedback:/srv/feedback.jsonl",
                current=current,
                detail={"message": "held by the test"},
            )
            registry.store.hold_for_review([spec])
    return project


def _run(project: Project, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--project", str(project.root), "review", *args])
    return result.exit_code, result.output


def test_list_accept_reject(tmp_path: Path) -> None:
    project = _project_with_held_items(tmp_path)
    code, out = _run(project, "list", "--json")
    assert code == 0, out
    listed = json.loads(out)
    assert [(i["id"], i["reason"], i["intent"], i["current"]) for i in listed] == [
        (1, "relabel", "bye", "greet"),
        (2, "unknown-intent", "no_such_intent", None),
    ]
    code, out = _run(project, "list")
    assert code == 0
    assert "2 pending review item(s)" in out
    assert "relabel:" in out  # why held (the table wraps the rest at 80 columns)
    code, out = _run(project, "accept")
    assert code == 1
    assert "give item ids or --all" in out
    code, out = _run(project, "accept", "1", "--json")
    assert code == 0, out
    assert json.loads(out)["decided"] == [1]
    code, out = _run(project, "reject", "--all", "--note", "spam")
    assert code == 0, out
    assert "rejected: 2" in out
    code, out = _run(project, "list", "--status", "all", "--json")
    assert [(i["status"], i["note"]) for i in json.loads(out)][1] == ("rejected", "spam")
    code, out = _run(project, "list", "--status", "maybe")
    assert code == 1
    assert "unknown status 'maybe'" in out
