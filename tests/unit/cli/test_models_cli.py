"""``lifelong models ...`` and ``lifelong lineage`` against a project on disk."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lifelong.cli.common import console
from lifelong.cli.main import app, main
from lifelong.core.types import Example
from lifelong.project import Project
from lifelong.registry import open_registry

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("LIFELONG_STORE_URL", raising=False)
    monkeypatch.setattr(console, "width", 160)  # tables would wrap at the default 80
    root = tmp_path / "proj"
    root.mkdir()
    (root / "config.yml").write_text("{}\n")
    return root


@pytest.fixture
def populated(project: Path, make_bundle: Callable[..., Path]) -> Path:
    """1.0 ── 1.1 ── 1.2 (champion), 1.0 ── 1.3 (distill), 2.0; champion moved twice."""
    loaded = Project.load(project)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        snap = registry.put_snapshot([Example.make("hi", "greet")]).id
        for seed, (parent, edge) in enumerate(
            [
                (None, None),
                ("1.0", "finetune"),
                ("1.1", "finetune"),
                ("1.0", "distill"),
                (None, None),
            ]
        ):
            registry.register(
                make_bundle(seed),
                snapshot_id=snap,
                config={"seed": seed},
                parent=parent,
                edge=edge,  # type: ignore[arg-type]
                metrics={"accuracy": 0.5 + seed / 10},
                notes=f"note {seed}",
            )
        registry.set_alias("champion", "1.1", reason="first", command="test")
        registry.set_alias("champion", "1.2", reason="better", command="test")
    return project


def run(project: Path, *args: str) -> Result:
    return runner.invoke(app, ["--project", str(project), *args])


def test_list_on_an_empty_store_says_so(project: Path) -> None:
    result = run(project, "models", "list")
    assert result.exit_code == 0, result.output
    assert "no models registered yet" in result.output
    assert (project / ".lifelong" / "registry.db").is_file()


def test_list_shows_versions_and_aliases(populated: Path) -> None:
    result = run(populated, "models", "list")
    assert result.exit_code == 0, result.output
    for expected in ("1.0", "1.3", "2.0", "champion", "1.0 distill", "accuracy 0.7000"):
        assert expected in result.output


def test_show_json_is_the_whole_record(populated: Path) -> None:
    result = run(populated, "models", "show", "champion", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert (record["version"], record["parent"], record["aliases"]) == ("1.2", "1.1", ["champion"])
    assert record["config"] == {"seed": 2}
    assert {"metrics", "timings", "training", "verdict", "artifact_files", "snapshot_id"} <= set(
        record
    )


def test_show_text(populated: Path) -> None:
    result = run(populated, "models", "show", "1.3")
    assert result.exit_code == 0, result.output
    assert "distill" in result.output
    assert "note 3" in result.output


def test_promote_needs_a_promote_verdict_or_force(populated: Path) -> None:
    refused = run(populated, "models", "promote", "2.0", "--reason", "fresh start")
    assert refused.exit_code == 1
    assert "has no gate verdict" in refused.output
    loaded = Project.load(populated)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        registry.set_verdict("2.0", {"decision": "reject", "reasons": ["intent 'x' fell"]})
    refused = run(populated, "models", "promote", "2.0", "--reason", "fresh start")
    assert "the gate rejected version 2.0: intent 'x' fell" in refused.output
    result = run(populated, "models", "promote", "2.0", "--reason", "trust me", "--force")
    assert result.exit_code == 0, result.output
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        last = registry.store.alias_history("champion")[-1]
    assert (last.kind, last.reason) == ("forced", "trust me")
    assert last.command.endswith("--force")
    assert "forced over: the gate rejected version 2.0" in result.output
    shown = run(populated, "models", "history", "--alias", "champion")
    assert shown.exit_code == 0, shown.output
    assert "forced" in shown.output
    assert "trust me" in shown.output


def test_promote_refuses_a_flipped_byte_before_the_alias_moves(populated: Path) -> None:
    loaded = Project.load(populated)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        registry.set_verdict("2.0", {"decision": "promote", "champion_version": "1.2"})
        weights = registry.artifacts.path(registry.resolve("2.0").artifact_id) / (
            "weights.safetensors"
        )
        data = bytearray(weights.read_bytes())
        data[0] ^= 0x01
        weights.write_bytes(bytes(data))
    refused = run(populated, "models", "promote", "2.0", "--reason", "better", "--force")
    assert refused.exit_code == 1
    assert "artifact of version 2.0 is corrupt" in refused.output
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        assert registry.store.aliases()["champion"] == "1.2"


def test_promoting_the_champion_records_nothing_so_rollback_still_works(populated: Path) -> None:
    loaded = Project.load(populated)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        registry.set_verdict("1.2", {"decision": "promote", "champion_version": "1.1"})
        before = len(registry.store.alias_history())
    result = run(populated, "models", "promote", "1.2", "--reason", "again")
    assert result.exit_code == 0, result.output
    assert "1.2 is already champion; nothing recorded" in result.output
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        assert len(registry.store.alias_history()) == before
    result = run(populated, "models", "rollback")
    assert "champion: 1.2 -> 1.1 (rolled back)" in result.output


def test_promote_and_rollback(populated: Path) -> None:
    result = run(populated, "models", "promote", "2.0", "--reason", "fresh start", "--force")
    assert result.exit_code == 0, result.output
    assert "champion: 1.2 -> 2.0" in result.output
    assert "1.2 -> 1.1" not in run(populated, "models", "rollback").output
    result = run(populated, "models", "rollback", "--reason", "again")
    assert "champion: 1.2 -> 1.1 (rolled back)" in result.output
    loaded = Project.load(populated)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        last = registry.store.alias_history("champion")[-1]
    assert (last.reason, last.command) == ("again", "lifelong models rollback --alias champion")


def test_rollback_with_nothing_to_go_back_to(project: Path) -> None:
    result = run(project, "models", "rollback")
    assert result.exit_code != 0
    assert result.exit_code == 1
    assert "nothing to roll back to" in result.output


def test_rm_refuses_then_forces(populated: Path) -> None:
    refused = run(populated, "models", "rm", "1.2")
    assert refused.exit_code == 1
    assert "aliases champion" in refused.output
    forced = run(populated, "models", "rm", "1.2", "--force")
    assert forced.exit_code == 0, forced.output
    assert "1.2" not in run(populated, "models", "list").output
    assert "deleted" in run(populated, "models", "list", "--all").output


def test_gc_prunes(populated: Path) -> None:
    result = run(populated, "models", "gc", "--keep", "1")
    assert result.exit_code == 0, result.output
    assert "pruned 1: 1.3" in result.output
    assert "nothing to prune" in run(populated, "models", "gc", "--keep", "1").output


def test_lineage_tree(populated: Path) -> None:
    result = run(populated, "lineage")
    assert result.exit_code == 0, result.output
    assert "1.0" in result.output
    assert "1.1 ── 1.2 (champion)" in result.output
    assert "distill:1.3" in result.output
    assert result.output.index("1.3") < result.output.index("2.0")
    only = run(populated, "lineage", "2.0").output
    assert "2.0" in only
    assert "1.0" not in only


def test_errors_print_without_traceback(
    populated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        sys, "argv", ["lifelong", "--project", str(populated), "models", "show", "9.9"]
    )
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "error: version 9.9 does not exist" in err
    assert "Traceback" not in err


def test_a_version_the_gate_rejected_shows_as_rejected(populated: Path) -> None:
    loaded = Project.load(populated)
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        registry.set_verdict("1.3", {"decision": "reject", "reasons": ["accuracy fell"]})
    listed = run(populated, "models", "list")
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[1]: line for line in listed.output.splitlines() if "│ 1." in line}
    assert "rejected" in rows["1.3"]
    assert "candidate" in rows["1.1"]
    assert "rejected" not in rows["1.1"]
    tree = run(populated, "lineage")
    assert "1.3 [rejected]" in tree.output
    assert "1.1 [rejected]" not in tree.output


def test_show_text_names_the_calibration(project: Path, make_bundle: Callable[..., Path]) -> None:
    loaded = Project.load(project)
    calibration = {"temperature": 0.6213, "valid_ece_before": 0.1512, "valid_ece_after": 0.0208}
    with open_registry(loaded.store_url, loaded.artifacts_dir) as registry:
        snap = registry.put_snapshot([Example.make("hi", "greet")]).id
        registry.register(
            make_bundle(0), snapshot_id=snap, config={}, training={"calibration": calibration}
        )
        registry.register(make_bundle(1), snapshot_id=snap, config={}, training={})
    shown = run(project, "models", "show", "1.0")
    assert shown.exit_code == 0, shown.output
    assert "temperature 0.621 (valid ECE 0.151 -> 0.021)" in shown.output
    older = run(project, "models", "show", "2.0")  # recorded before calibration existed
    assert older.exit_code == 0, older.output
    assert "temperature" not in older.output
