"""``lifelong publish FILE``: a data file's examples become messages the configured source
reads back, on every transport; NATS keeps one copy of a file published twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lifelong.cli.main import app
from lifelong.testing.transports import Transport, fresh_source

pytestmark = pytest.mark.integration


def _project(root: Path, transport: Transport) -> Path:
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    config = yaml.safe_load((root / "config.yml").read_text())
    config["sources"] = [{"inbox": True}, transport.spec()]
    (root / "config.yml").write_text(yaml.safe_dump(config))
    return root


def test_a_file_is_published_and_read_back(transport: Transport, tmp_path: Path) -> None:
    root = _project(tmp_path / "demo", transport)
    rows = [{"text": f"Where is order {i}", "intent": "order_status"} for i in range(5)]
    data = tmp_path / "new.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))

    result = CliRunner().invoke(
        app, ["--project", str(root), "publish", str(data), "--source", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "published 5 message(s)" in result.output
    if transport.kind == "nats":  # Nats-Msg-Id = the example's hash: a retry adds nothing
        again = CliRunner().invoke(
            app, ["--project", str(root), "publish", str(data), "--to", "nats"]
        )
        assert again.exit_code == 0, again.output

    source = fresh_source(transport)
    batch = source.pending()
    source.close()
    # (Kafka: keyed by hash, spread over partitions; order is per partition)
    assert sorted(e.original for e in batch.examples) == sorted(r["text"] for r in rows)


def test_publish_refuses_a_file_with_errors_and_an_unknown_source(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "fine", "intent": "greet"}\n{"text": "no label"}\n')
    runner = CliRunner()
    missing = runner.invoke(app, ["--project", str(root), "publish", str(data), "--to", "kafka"])
    assert missing.exit_code == 1
    assert "config.yml has no kafka source in `sources`" in missing.output
    both = runner.invoke(app, ["--project", str(root), "publish", str(data)])
    assert both.exit_code == 1
    assert "exactly one of --source" in both.output
