"""Rasa NLU YAML reader (``nlu:`` / ``- intent:`` / ``examples: |``).

Entity markup, ``[text](entity)`` or ``[text]{"entity": ..., "value": ...}``, is reduced to its
text; the entities are kept in ``Example.meta["entities"]`` with character offsets into the
reduced text. ``synonym``, ``regex`` and ``lookup`` blocks are read and reported in a note: the
intent classifiers here do not use them, but a project that also feeds Rasa keeps its file whole.

YAML is composed into nodes (not just loaded) so every example keeps its file line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from lifelong.data.result import ReadResult
from lifelong.data.text_io import read_data_text

_MARKUP = re.compile(r"\[(?P<text>[^\]\[]+)\](?:\((?P<short>[^)]+)\)|(?P<long>\{[^}]*\}))")
_RESOURCE_KINDS = ("synonym", "regex", "lookup")


def strip_entities(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Reduce Rasa entity markup to plain text; return the text and the entities.

    >>> strip_entities("ship to [Berlin](city) please")
    ('ship to Berlin please', [{'start': 8, 'end': 14, 'value': 'Berlin', 'entity': 'city'}])
    """
    entities: list[dict[str, Any]] = []
    out: list[str] = []
    last = 0
    length = 0
    for match in _MARKUP.finditer(text):
        before = text[last : match.start()]
        out.append(before)
        length += len(before)
        value = match.group("text")
        entity: dict[str, Any] = {"start": length, "end": length + len(value), "value": value}
        if match.group("short") is not None:
            name, _, synonym = match.group("short").partition(":")
            entity["entity"] = name.strip()
            if synonym:
                entity["value"] = synonym.strip()
        else:
            try:
                spec = json.loads(match.group("long"))
            except json.JSONDecodeError:
                spec = None
            if not isinstance(spec, dict) or "entity" not in spec:
                raise ValueError(f'entity annotation {match.group(0)!r} needs {{"entity": ...}}')
            entity.update({k: v for k, v in spec.items() if k != "start" and k != "end"})
        entities.append(entity)
        out.append(value)
        length += len(value)
        last = match.end()
    out.append(text[last:])
    return "".join(out), entities


def _mapping(node: yaml.Node) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _read_examples_block(node: yaml.Node, intent: str, source: str, result: ReadResult) -> None:
    if not isinstance(node, yaml.ScalarNode):
        result.error(
            "malformed-yaml",
            f"intent {intent!r}: 'examples' must be a block of '- ' lines (examples: |)",
            source,
            node.start_mark.line + 1,
        )
        return
    # A block scalar ("|") starts on the line after its indicator; a plain one on its own line.
    first_line = node.start_mark.line + (2 if node.style in ("|", ">") else 1)
    for offset, raw in enumerate(str(node.value).split("\n")):
        stripped = raw.strip()
        if not stripped:
            continue
        line = first_line + offset
        if not stripped.startswith("- "):
            result.error(
                "malformed-yaml",
                f"intent {intent!r}: expected an example line starting with '- ', got "
                f"{stripped[:40]!r}",
                source,
                line,
            )
            continue
        try:
            text, entities = strip_entities(stripped[2:].strip())
        except ValueError as error:
            result.error("malformed-entity", str(error), source, line)
            continue
        meta: dict[str, object] = {"entities": entities} if entities else {}
        result.add_example(text, intent, source, line, meta=meta)


def read_rasa_yaml(path: Path) -> ReadResult:
    """Read a Rasa NLU YAML file (the ``nlu:`` key; other top-level keys are noted)."""
    result = ReadResult(files=[str(path)])
    text = read_data_text(path, result)
    if text is None:
        return result
    source = str(path)
    try:
        root = yaml.compose(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        result.error(
            "malformed-yaml",
            f"malformed YAML: {error.problem}",
            source,
            mark.line + 1 if mark is not None else None,
        )
        return result
    top = _mapping(root) if root is not None else {}
    if "nlu" not in top:
        result.error(
            "not-nlu",
            "expected a Rasa NLU file with a top-level 'nlu:' list of '- intent:' blocks",
            source,
            1,
        )
        return result
    ignored = sorted(set(top) - {"nlu", "version"})
    if ignored:
        result.notes.append(
            f"{source}: top-level keys {', '.join(ignored)} are not NLU data; ignored"
        )
    blocks = top["nlu"]
    if not isinstance(blocks, yaml.SequenceNode):
        result.error(
            "malformed-yaml", "'nlu' must be a list of blocks", source, blocks.start_mark.line + 1
        )
        return result
    resources: dict[str, list[str]] = {}
    for block in blocks.value:
        fields = _mapping(block)
        line = block.start_mark.line + 1
        kind = next((k for k in ("intent", *_RESOURCE_KINDS) if k in fields), None)
        if kind is None:
            result.error(
                "malformed-yaml",
                "expected a block with 'intent:' (or synonym / regex / lookup)",
                source,
                line,
            )
            continue
        name = str(getattr(fields[kind], "value", "")).strip()
        if not name:
            result.error("missing-label", f"'{kind}:' has no name", source, line)
            continue
        if "examples" not in fields:
            result.error("malformed-yaml", f"{kind} {name!r} has no 'examples'", source, line)
            continue
        if kind == "intent":
            _read_examples_block(fields["examples"], name, source, result)
        else:
            resources.setdefault(kind, []).append(name)
    for kind, names in sorted(resources.items()):
        result.notes.append(
            f"{source}: {len(names)} {kind} block(s) read ({', '.join(names)}); kept in the file, "
            "not used by the intent classifiers"
        )
    return result
