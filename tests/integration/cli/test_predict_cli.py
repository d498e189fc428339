"""``predict``, ``shell``, ``evaluate --file``, ``models export`` and ``lifelong.load`` on a real
project: one small model trained once for the module, every command run in-process."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lifelong
from lifelong.cli.main import app
from lifelong.core.errors import ArtifactCorrupt
from lifelong.testing.cli import run_cli, small_settings

pytestmark = pytest.mark.integration

SMALL = small_settings(6)
README = Path(__file__).resolve().parents[3] / "README.md"


def run(project: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    return run_cli(project, SMALL, *args, stdin=stdin)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project with 1.0 trained (the champion)."""
    root = tmp_path_factory.mktemp("predict") / "demo"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    code, out = run(root, "train")
    assert code == 0, out
    return root


@pytest.fixture
def empty_project(tmp_path: Path) -> Path:
    assert CliRunner().invoke(app, ["init", str(tmp_path / "demo")]).exit_code == 0
    return tmp_path / "demo"


def test_every_command_says_train_first_without_a_model(empty_project: Path) -> None:
    for args in (["evaluate"], ["predict", "hello"], ["shell"], ["models", "export", "champion",
                 str(empty_project / "out")]):  # fmt: skip
        code, out = run(empty_project, *args, stdin="")
        assert code == 1, (args, out)
        assert "no model yet: run `lifelong train` first" in out, (args, out)
        assert "neither a version nor an alias" not in out


def test_predict_texts_as_a_table_and_as_json(trained: Path) -> None:
    code, out = run(trained, "predict", "where is my order", "I want my money back")
    assert code == 0, out
    assert "model 1.0" in out
    assert "order_status" in out
    code, out = run(trained, "predict", "--json", "--top-k", "2", "--model", "1.0", "hi there")
    assert code == 0, out
    answer = json.loads(out)
    assert answer["version"] == "1.0"
    assert answer["text"] == "hi there"
    assert answer["ranking"][0]["intent"] == answer["intent"]
    assert len(answer["ranking"]) == 2
    assert answer["ranking"][0]["confidence"] >= answer["ranking"][1]["confidence"]


def test_predict_a_file_and_stdin(trained: Path, tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("where is my order\n\ncancel my order please\n")
    code, out = run(trained, "predict", "--file", str(texts), "--json")
    assert code == 0, out
    lines = [json.loads(line) for line in out.replace("} {", "}\n{").splitlines()]
    assert [line["text"] for line in lines] == ["where is my order", "cancel my order please"]
    code, out = run(trained, "predict", "--file", "-", "--json", stdin="cancel my order\n")
    assert code == 0, out
    assert json.loads(out)["text"] == "cancel my order"
    code, out = run(trained, "predict", "--file", str(tmp_path / "missing.txt"))
    assert code == 1
    assert "missing.txt: no such file" in out
    code, out = run(trained, "predict")
    assert code == 1
    assert "nothing to predict" in out


def test_shell_answers_each_line_until_stop_or_eof(trained: Path) -> None:
    code, out = run(trained, "shell", "--top-k", "2", stdin="where is my order\n\n/stop\nhi\n")
    assert code == 0, out
    assert "model 1.0" in out
    assert out.count("order_status") >= 1
    # three prompts (a message, a blank line, /stop): "hi" after /stop is never read
    assert out.split().count(">") == 3
    code, out = run(trained, "shell", "--json", stdin="where is my order\n")  # ends on EOF
    assert code == 0, out
    answer = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert answer["version"] == "1.0"
    assert len(answer["ranking"]) == 5


def test_evaluate_on_a_labeled_file_with_a_report(trained: Path, tmp_path: Path) -> None:
    labeled = tmp_path / "holdout.csv"
    with labeled.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "intent"])
        writer.writerows(
            [
                ["where is my order", "order_status"],
                ["has my parcel shipped yet", "order_status"],
                ["cancel my order please", "cancel_order"],
                ["i'd like to cancel what i bought", "cancel_order"],
                ["how many loyalty points do i have", "loyalty"],  # an intent 1.0 never saw
            ]
        )
    report_dir = tmp_path / "report"
    code, out = run(trained, "evaluate", "--file", str(labeled), "--report", str(report_dir))
    assert code == 0, out
    assert "1.0 on" in out
    assert re.search(r"macro avg [│ ]+[0-9.]+ [│ ]+5 ", out), out
    assert re.search(r"accuracy [0-9.]+ on 5 examples; \d+ intent\(s\) without examples", out)
    assert "store_hours" not in out  # an intent with no example in the file
    assert (report_dir / "report.md").is_file()
    assert (report_dir / "confusion.png").is_file()
    code, out = run(trained, "evaluate", "--file", str(labeled), "--json")
    report = json.loads(out[out.index("{") :])
    assert report["n_examples"] == 5
    assert "loyalty" in report["labels"]
    loyalty = next(row for row in report["per_intent"] if row["label"] == "loyalty")
    assert loyalty["recall"] == 0.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hello"}\n')
    code, out = run(trained, "evaluate", "--file", str(bad))
    assert code == 1
    assert "bad.jsonl:1" in out


def test_evaluate_table_keeps_accuracy_out_of_the_recall_column(trained: Path) -> None:
    result = CliRunner().invoke(app, ["--project", str(trained), *SMALL, "evaluate"])
    assert result.exit_code == 0, result.output
    summary = next(line for line in result.output.splitlines() if "macro avg" in line)
    cells = [cell.strip() for cell in summary.strip("│ ").split("│")]
    assert cells[1] == cells[2] == ""  # no figure under precision or recall
    assert "accuracy" in result.output.split("macro avg")[1]  # the caption


def test_export_then_load_and_predict_from_the_folder(trained: Path, tmp_path: Path) -> None:
    dest = tmp_path / "export"
    code, out = run(trained, "models", "export", "champion", str(dest))
    assert code == 0, out
    assert "exported 1.0" in out
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["version"] == "1.0"
    assert set(manifest["files"]) >= {"bundle.json", "weights.safetensors"}
    assert "lifelong.load(" in (dest / "README.md").read_text()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    from_folder = lifelong.load(str(dest))
    from_registry = lifelong.load("champion", project=trained)
    texts = ["where is my order", "thanks a lot", "my gift card does not work"]
    assert from_folder.version == from_registry.version == "1.0"
    assert from_folder.labels == from_registry.labels
    assert from_folder.predict(texts) == from_registry.predict(texts)
    code, out = run(trained, "predict", "--model", str(dest), "--json", "thanks a lot")
    assert code == 0, out
    assert json.loads(out)["version"] == "1.0"
    # a non-empty folder is refused, and nothing in it is touched
    code, out = run(trained, "models", "export", "1.0", str(dest))
    assert code == 1
    assert "not an empty folder" in out
    weights = dest / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"oops")
    with pytest.raises(ArtifactCorrupt, match="sha256"):
        lifelong.load(str(dest))


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- api-example -->", 1)[1]
    return block.split("```python", 1)[1].split("```", 1)[0]


@pytest.fixture
def in_parent_of(trained: Path) -> Iterator[Path]:
    before = Path.cwd()
    os.chdir(trained.parent)
    try:
        yield trained.parent
    finally:
        os.chdir(before)


def test_the_readme_python_example_runs(in_parent_of: Path) -> None:
    namespace: dict[str, object] = {}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)
    assert namespace["intents"] == namespace["model"].labels  # type: ignore[attr-defined]
    assert namespace["best"] in namespace["intents"]  # type: ignore[operator]
