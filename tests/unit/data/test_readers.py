"""Readers: every format, entity markup, line numbers in errors, folders."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifelong.config import Columns
from lifelong.core.errors import DataError, ValidationFailed
from lifelong.data import read_file, read_paths
from lifelong.data.rasa import strip_entities
from lifelong.data.validate import check

NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hey there
    - good morning

- intent: order_status
  examples: |
    - where is order [A1234](order_id)
    - has the [trail runner]{"entity": "product", "value": "trail_runner"} shipped
- synonym: trail_runner
  examples: |
    - trailrunner
- regex: order_id
  examples: |
    - [A-Z][0-9]{4}
"""


def test_rasa_reads_examples_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(NLU)
    result = read_file(path)
    assert not result.problems
    got = [(e.label, e.original, e.line) for e in result.examples]
    assert got == [
        ("greet", "hey there", 5),
        ("greet", "good morning", 6),
        ("order_status", "where is order A1234", 10),
        ("order_status", "has the trail runner shipped", 11),
    ]
    entity = result.examples[3].meta["entities"][0]
    assert entity == {"start": 8, "end": 20, "value": "trail_runner", "entity": "product"}
    assert any("synonym" in note for note in result.notes)
    assert any("regex" in note for note in result.notes)


def test_strip_entities_offsets_point_into_reduced_text() -> None:
    text, entities = strip_entities("send [2](count) [red](color:crimson) shirts")
    assert text == "send 2 red shirts"
    assert [text[e["start"] : e["end"]] for e in entities] == ["2", "red"]
    assert entities[1]["value"] == "crimson"


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("nlu:\n- intent: a\n  examples: |\n    - ok\n  - bad: [\n", 5, "malformed YAML"),
        ("stories: []\n", 1, "top-level 'nlu:'"),
        (
            "nlu:\n- intent: a\n  examples: |\n    - fine\n    no dash here\n",
            5,
            "starting with '- '",
        ),
        ("nlu:\n- intent: a\n  examples: |\n    - [x]{bad json}\n", 4, "needs"),
        ("nlu:\n- intent: a\n", 2, "has no 'examples'"),
    ],
)
def test_rasa_errors_name_the_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(content)
    errors = read_file(path).errors
    assert errors, "expected an error"
    assert errors[0].line == line
    assert message in errors[0].message


def test_jsonl_reads_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"text": "hi", "intent": "greet", "timestamp": "2026-01-01T00:00:00Z", "source": "x"}\n'
        "\n"
        '{"text": "oops", "intent": \n'
        '{"text": "   ", "intent": "greet"}\n'
        '{"text": "no label"}\n'
        "[1, 2]\n"
    )
    result = read_file(path)
    assert [e.original for e in result.examples] == ["hi"]
    assert result.examples[0].timestamp == "2026-01-01T00:00:00Z"
    assert result.examples[0].meta == {"origin": "x"}
    assert [(p.code, p.line) for p in result.errors] == [
        ("malformed-json", 3),
        ("empty-text", 4),
        ("missing-label", 5),
        ("malformed-json", 6),
    ]


def test_non_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"text": "ok", "intent": "a"}\n{"text": "caf\xe9", "intent": "a"}\n')
    errors = read_file(path).errors
    assert [(p.code, p.line) for p in errors] == [("not-utf8", 2)]
    assert "0xe9" in errors[0].message


def test_csv_configurable_columns_and_multiline_fields(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('utterance,label,when\n"two\nlines",greet,2026-01-01\nbye,goodbye,\n')
    result = read_file(path, Columns(text="utterance", intent="label", timestamp="when"))
    assert not result.problems
    assert [(e.text, e.label, e.line, e.timestamp) for e in result.examples] == [
        ("two lines", "greet", 2, "2026-01-01"),
        ("bye", "goodbye", 4, None),
    ]


def test_csv_errors(tmp_path: Path) -> None:
    missing = tmp_path / "m.csv"
    missing.write_text("sentence,intent\nhi,greet\n")
    errors = read_file(missing).errors
    assert errors[0].code == "missing-column"
    assert "'text'" in errors[0].message
    assert "'sentence'" in errors[0].message
    ragged = tmp_path / "r.csv"
    ragged.write_text("text,intent\nhi,greet\nextra,field,here\n,greet\n")
    assert [(p.code, p.line) for p in read_file(ragged).errors] == [
        ("malformed-csv", 3),
        ("empty-text", 4),
    ]


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    table = pa.table({"text": ["hi", None], "intent": ["greet", "greet"], "lang": ["en", "de"]})
    pq.write_table(table, path)
    result = read_file(path)
    assert [(e.text, e.line, e.meta) for e in result.examples] == [("hi", 1, {"lang": "en"})]
    assert [(p.code, p.line) for p in result.errors] == [("missing-text", 2)]
    broken = tmp_path / "b.parquet"
    broken.write_bytes(b"PAR1 not really")
    assert read_file(broken).errors[0].code == "malformed-parquet"


def test_folder_is_read_recursively_and_unknown_types_listed(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.jsonl").write_text(json.dumps({"text": "hi", "intent": "greet"}) + "\n")
    (tmp_path / "sub" / "b.csv").write_text("text,intent\nbye,goodbye\n")
    (tmp_path / "notes.txt").write_text("not data")
    (tmp_path / ".gitkeep").write_text("")
    result = read_paths([tmp_path])
    assert sorted(e.text for e in result.examples) == ["bye", "hi"]
    assert [(p.code, Path(p.source or "").name) for p in result.warnings] == [
        ("unknown-type", "notes.txt")
    ]


def test_missing_path_and_unknown_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file or folder"):
        read_paths([tmp_path / "nope"])
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match=r"unknown data file type '\.txt'"):
        read_paths([tmp_path / "x.txt"])


def test_invalid_unicode_is_a_located_problem_and_the_good_lines_are_kept(tmp_path: Path) -> None:
    """A JSON or YAML escape can spell a lone surrogate, any format a NUL: each such record is
    an error at its file:line (not a crash in hashing later), and the rest is read."""
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text(
        '{"text": "hi", "intent": "greet"}\n'
        '{"text": "\\ud800", "intent": "greet"}\n'
        '{"text": "bye", "intent": "go\\u0000odbye"}\n'
        '{"text": "ok", "intent": "greet", "lang": ["en", "\\udfff"]}\n'
        '{"text": "hello", "intent": "greet"}\n'
    )
    yml = tmp_path / "nlu.yml"
    yml.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hey\n'
        '- intent: "bad\\ud800"\n  examples: |\n    - hello\n'
    )
    csv_file = tmp_path / "d.csv"
    csv_file.write_bytes(b'text,intent\nhi,greet\n"a\x00b",greet\n')
    parquet = tmp_path / "d.parquet"
    text = pa.array([b"ok", b"\xed\xa0\x80", b"x\x00y"], type=pa.binary()).view(pa.string())
    pq.write_table(pa.table({"text": text, "intent": ["a", "a", "a"]}), parquet)

    result = read_paths([tmp_path])

    assert sorted(e.original for e in result.examples) == ["hello", "hey", "hi", "hi", "ok"]
    assert [(p.location, p.code, p.message) for p in result.errors] == [
        (
            f"{csv_file}:3",
            "invalid-text",
            "row text: contains a NUL character (U+0000 at position 1)",
        ),
        (
            f"{jsonl}:2",
            "invalid-text",
            "example text: invalid Unicode (lone surrogate U+D800 at position 0)",
        ),
        (
            f"{jsonl}:3",
            "invalid-text",
            "example intent: contains a NUL character (U+0000 at position 2)",
        ),
        (
            f"{jsonl}:4",
            "invalid-text",
            "example meta.lang[1]: invalid Unicode (lone surrogate U+DFFF at position 0)",
        ),
        (
            f"{parquet}:2",
            "not-utf8",
            "row holds a string that is not valid UTF-8 (invalid continuation byte); write the "
            "file from valid text",
        ),
        (
            f"{parquet}:3",
            "invalid-text",
            "row text: contains a NUL character (U+0000 at position 1)",
        ),
        (
            f"{yml}:8",
            "invalid-text",
            "example intent: invalid Unicode (lone surrogate U+D800 at position 3)",
        ),
    ]
    with pytest.raises(ValidationFailed, match=r"d\.jsonl:2: error: example text: invalid Unicode"):
        check(result)  # validation lists them instead of crashing on an example's hash


@pytest.mark.parametrize("name", ["a.jsonl", "a.csv", "a.yml", "a.yaml"])
@pytest.mark.parametrize("content", ["", "\n", "  \n\n"])
def test_an_empty_file_is_the_same_warning_in_every_text_format(
    tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = read_file(path)
    assert result.examples == []
    assert [p.severity for p in result.problems] == ["warning"]
    assert result.problems[0].code == "empty-file"
    assert result.problems[0].source == str(path)
    assert str(path) in str(result.problems[0])
