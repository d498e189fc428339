"""JSON round trips for the frozen result dataclasses, and the package's error.

Verdicts and reports are stored with a version in the registry and shown later by the CLI and
the server, so each must survive ``json.dumps`` -> ``json.loads`` -> ``from_dict`` unchanged.
One generic converter driven by the dataclasses' type hints keeps every result type from
growing its own hand-written (and drifting) ``from_dict``.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self, Union, get_args, get_origin, get_type_hints

from lifelong.core.errors import LifelongError


class EvaluationError(LifelongError):
    """Inputs to an evaluation or a gate decision are inconsistent (lengths, labels, shapes)."""


class Record:
    """Mixin giving a frozen dataclass ``to_dict`` / ``from_dict`` over JSON-safe values.

    Tuples become lists, nested dataclasses become dicts; ``from_dict`` reverses that using the
    field annotations, so ``from_dict(json.loads(json.dumps(r.to_dict()))) == r``.
    """

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """A dict of JSON-safe values (str, int, float, bool, None, list, dict)."""
        result = _to_jsonable(self)
        assert isinstance(result, dict)
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict` output (also after a JSON round trip)."""
        built: Self = _build(cls, data, cls.__name__)
        return built


def _to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_to_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _to_jsonable(item) for key, item in value.items()}
    return value


def _build(annotation: Any, value: Any, where: str) -> Any:
    """Convert a JSON value to ``annotation``; ``where`` names the field path in errors."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = get_args(annotation)
        if value is None and type(None) in options:
            return None
        concrete = [option for option in options if option is not type(None)]
        return _build(concrete[0], value, where) if len(concrete) == 1 else value
    if origin is tuple:
        items = get_args(annotation)
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(_build(items[0], item, f"{where}[]") for item in value)
        return tuple(_build(t, item, f"{where}[]") for t, item in zip(items, value, strict=True))
    if origin is Literal:
        if value not in get_args(annotation):
            raise EvaluationError(f"{where}: {value!r} is not one of {get_args(annotation)}")
        return value
    if origin is dict:
        return dict(value)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise EvaluationError(f"{where}: expected a mapping, got {type(value).__name__}")
        hints = get_type_hints(annotation)
        fields = dataclasses.fields(annotation)
        names = {f.name for f in fields}
        # A field added later with a default reads records stored before it existed.
        optional = {f.name for f in fields if f.default is not dataclasses.MISSING}
        unknown = sorted(set(value) - names)
        missing = sorted(names - set(value) - optional)
        if unknown or missing:
            raise EvaluationError(f"{where}: unknown keys {unknown}, missing keys {missing}")
        return annotation(
            **{n: _build(hints[n], value[n], f"{where}.{n}") for n in names if n in value}
        )
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
