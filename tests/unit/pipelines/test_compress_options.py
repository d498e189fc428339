"""``compress.<method>`` defaults from config.yml, ``-o KEY=VALUE`` over them, strict errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifelong.config import parse_config
from lifelong.core.errors import ConfigError
from lifelong.pipelines.compress import method_options
from lifelong.project import Project


def _project(tmp_path: Path, raw: dict[str, object]) -> Project:
    return Project(root=tmp_path, config=parse_config(raw))


def test_config_defaults_then_cli_options(tmp_path: Path) -> None:
    project = _project(tmp_path, {"compress": {"prune": {"keep": 0.8}}})
    method, options = method_options(project, "prune", [])
    assert method.name == "prune"
    assert options.model_dump()["keep"] == 0.8
    _, options = method_options(project, "prune", ["keep=0.25", "heads=0.5"])
    assert (options.model_dump()["keep"], options.model_dump()["heads"]) == (0.25, 0.5)


def test_unknown_keys_methods_and_options_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"compress\.prune\.kep: unknown key"):
        parse_config({"compress": {"prune": {"kep": 0.5}}})
    project = _project(tmp_path, {})
    with pytest.raises(ConfigError, match="unknown compression method 'int2'") as raised:
        method_options(project, "int2", [])
    assert "int8" in str(raised.value.hint)
    with pytest.raises(ConfigError, match="unknown option") as raised:
        method_options(project, "int8", ["keep=0.5"])
    assert "int8 takes no options" in str(raised.value.hint)
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        method_options(project, "prune", ["keep"])
    with pytest.raises(ConfigError, match="keep"):
        method_options(project, "prune", ["keep=0"])
    for bad in ("heads=1.0", "ffn=-0.1", "recovery=-1", "importance_texts=0", "heads=half"):
        with pytest.raises(ConfigError, match=bad.partition("=")[0]) as raised:
            method_options(project, "prune", [bad])
        assert "heads" in str(raised.value.hint)
