"""Snapshots, diffs and stable splits: the invariants the rest of lifelong relies on."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifelong.config import Splits
from lifelong.core import types
from lifelong.core.types import Example, content_hash, normalize_text
from lifelong.data import (
    Snapshot,
    apply_diff,
    diff,
    diff_from_labels,
    read_file,
    split_examples,
    split_of,
)

texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda t: normalize_text(t) != "")
labels = st.sampled_from(["greet", "goodbye", "refund", "order_status", "gift_card"])
examples = st.builds(Example.make, texts, labels)
example_lists = st.lists(examples, max_size=30)


@given(texts, labels)
def test_hash_is_stable_and_depends_only_on_normalized_content(text: str, label: str) -> None:
    example = Example.make(text, label, source="a.jsonl", line=3)
    again = Example.make(f"  {text.upper() if text.isascii() else text}\t", label)
    assert example.hash == content_hash(normalize_text(text), label)
    if text.isascii():
        assert again.hash == example.hash
    assert len(example.hash) == 64


def test_hash_is_a_known_value() -> None:
    # Pinned: changing normalization or hashing would silently re-identify every stored example.
    example = Example.make("Hello  World", "greet")
    assert example.text == "hello world"
    assert example.hash == "0503fcd1088500b7223e0770adbec8a34cc12e9413f1c5f355c2b14fd4394479"


def test_hash_is_computed_once_and_a_changed_copy_has_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def counted(text: str, label: str) -> str:
        calls.append(text)
        return content_hash(text, label)

    monkeypatch.setattr(types, "content_hash", counted)
    example = Example.make("Book a table", "restaurant")
    assert {example.hash, example.hash, example.hash} == {
        content_hash("book a table", "restaurant")
    }
    assert len(calls) == 1
    relabeled = dataclasses.replace(example, label="booking")
    assert relabeled.hash == content_hash("book a table", "booking") != example.hash
    assert relabeled != example
    assert example == Example.make("book a TABLE", "restaurant")


@given(example_lists, example_lists)
def test_applying_diff_a_b_to_a_gives_b(a: list[Example], b: list[Example]) -> None:
    old, new = Snapshot.of(a), Snapshot.of(b)
    assert apply_diff(old, diff(old, new)).id == new.id


@given(example_lists, example_lists)
def test_diff_from_labels_is_the_diff(a: list[Example], b: list[Example]) -> None:
    """An update's diff reads its parent's snapshot as hash -> label and only the examples
    the data lost whole: the same diff as from every example."""
    old, new = Snapshot.of(a), Snapshot.of(b)
    labels = {h: e.label for h, e in old.examples.items()}
    gone = [e for h, e in old.examples.items() if h not in new.examples]
    assert diff_from_labels(labels, gone, new) == diff(old, new)


@given(example_lists, st.permutations(list(range(30))))
def test_snapshot_id_ignores_order(items: list[Example], order: list[int]) -> None:
    shuffled = [items[i] for i in order if i < len(items)]
    assert Snapshot.of(items).id == Snapshot.of(shuffled).id


def test_diff_reports_relabels_and_labels() -> None:
    old = Snapshot.of([Example.make("refund me", "refund"), Example.make("hi", "greet")])
    new = Snapshot.of(
        [
            Example.make("refund me", "return_item"),
            Example.make("buy a gift card", "gift_card"),
        ]
    )
    change = diff(old, new)
    assert [(a.label, b.label) for a, b in change.relabeled] == [("refund", "return_item")]
    assert [e.text for e in change.added] == ["buy a gift card"]
    assert [e.text for e in change.removed] == ["hi"]
    assert change.new_labels == ("gift_card", "return_item")
    assert change.vanished_labels == ("greet", "refund")
    assert change.summary()["added_per_label"] == {"gift_card": 1}


splits_strategy = st.builds(
    Splits,
    valid=st.floats(0.0, 0.45),
    test=st.floats(0.0, 0.45),
    salt=st.text(max_size=8),
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(example_lists, example_lists, splits_strategy)
def test_split_is_stable_under_growth(
    base: list[Example], more: list[Example], splits: Splits
) -> None:
    before = split_examples(base, splits)
    after = split_examples(base + more, splits)
    for name in ("train", "valid", "test"):
        old = {e.hash for e in getattr(before, name)}
        new = {e.hash for e in getattr(after, name)}
        assert old <= new, f"an example left {name}"


def test_split_fractions_are_roughly_respected() -> None:
    splits = Splits(valid=0.1, test=0.2, salt="s")
    counts = {"train": 0, "valid": 0, "test": 0}
    for i in range(5000):
        counts[split_of(f"text number {i}", splits)] += 1
    assert 0.17 < counts["test"] / 5000 < 0.23
    assert 0.08 < counts["valid"] / 5000 < 0.12


def test_relabel_does_not_move_split_and_salt_matters() -> None:
    a, b = Splits(salt="one"), Splits(salt="two")
    names = [f"sentence {i}" for i in range(200)]
    assert [split_of(n, a) for n in names] != [split_of(n, b) for n in names]


def test_explicit_test_set_overrides_and_prevents_leakage() -> None:
    pool = [Example.make(f"text {i}", "a") for i in range(50)]
    test = [Example.make("text 3", "a"), Example.make("held out", "a")]
    parts = split_examples(pool, Splits(valid=0.1, test=0.3), test)
    assert [e.text for e in parts.test] == ["text 3", "held out"]
    assert all(e.text != "text 3" for e in parts.train + parts.valid)
    assert len(parts.train) + len(parts.valid) == 49


# Round trips: whatever a writer of each format produces, the reader gives back.
safe_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1,
    max_size=30,
).filter(lambda t: t.strip() != "" and t == t.strip())
records = st.lists(st.tuples(safe_texts, labels), min_size=1, max_size=15)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=records)
def test_round_trip_every_format(tmp_path: Path, rows: list[tuple[str, str]]) -> None:
    import csv

    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows))
    with (tmp_path / "d.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "intent"])
        writer.writerows(rows)
    pq.write_table(
        pa.table({"text": [t for t, _ in rows], "intent": [i for _, i in rows]}),
        tmp_path / "d.parquet",
    )
    expected = [(t, i) for t, i in rows]
    for name in ("d.jsonl", "d.csv", "d.parquet"):
        result = read_file(tmp_path / name)
        assert not result.errors, name
        assert [(e.original, e.label) for e in result.examples] == expected, name


rasa_texts = st.text(
    alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=" ,.?!'-"),
    min_size=1,
    max_size=30,
).filter(lambda t: t.strip() != "" and t == t.strip())


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(rasa_texts, labels), min_size=1, max_size=15))
def test_round_trip_rasa_yaml(tmp_path: Path, rows: list[tuple[str, str]]) -> None:
    by_label: dict[str, list[str]] = {}
    for text, label in rows:
        by_label.setdefault(label, []).append(text)
    lines = ['version: "3.1"', "nlu:"]
    for label, items in by_label.items():
        lines += [f"- intent: {label}", "  examples: |", *(f"    - {t}" for t in items)]
    path = tmp_path / "nlu.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_file(path)
    assert not result.errors
    expected = [(t, label) for label, items in by_label.items() for t in items]
    assert [(e.original, e.label) for e in result.examples] == expected
