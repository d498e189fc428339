"""Running the ``lifelong`` command in-process on a small pipeline, for tests of the CLI.

The settings keep a training to seconds (a 16,384-row n-gram table, a 64-unit head); the output
comes back with its white space folded, because rich wraps at the terminal's width and a test
should read whole sentences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def small_settings(epochs: int = 6, **extra: str) -> list[str]:
    """``--set`` options of a small pipeline trained for ``epochs``, plus ``extra`` keys.

    >>> small_settings(2, **{"compress.latency_texts": "20"})[-2:]
    ['--set', 'compress.latency_texts=20']
    """
    values = {
        "pipeline.ngrams.buckets": "16384",
        "pipeline.ngrams.dim": "32",
        "pipeline.hidden": "64",
        "training.epochs": str(epochs),
        **extra,
    }
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]


def run_cli(
    project: Path, settings: list[str], *args: str, stdin: str | None = None
) -> tuple[int, str]:
    """Exit code and folded output of ``lifelong --project PROJECT SETTINGS ARGS``.

    An exception other than the command's own exit is a bug and is raised, traceback and all.
    """
    from typer.testing import CliRunner

    from lifelong.cli.main import app

    result = CliRunner().invoke(app, ["--project", str(project), *settings, *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(result.output.split())


def champion_project(root: Path, salt: str | None = None) -> tuple[Any, dict[str, Any]]:
    """A sample project at ``root`` with a tiny pipeline and a champion already trained.

    The intake screen, the accuracy floor and every trigger are off and no source is
    configured, so a test or bench adds the source it measures and a cycle only ingests.
    Returns the :class:`~lifelong.project.Project` and its config as a dict, to edit and write
    back to ``root / "config.yml"``.
    """
    import yaml
    from typer.testing import CliRunner

    from lifelong.cli.main import app
    from lifelong.pipelines.loop import run_cycle
    from lifelong.project import Project
    from lifelong.registry import open_registry

    result = CliRunner().invoke(app, ["init", str(root)])
    if result.exit_code != 0:
        raise RuntimeError(f"lifelong init {root} failed: {result.output}")
    path = root / "config.yml"
    config = yaml.safe_load(path.read_text())
    config["pipeline"]["ngrams"].update({"buckets": 4096, "dim": 16})
    config["pipeline"]["hidden"] = 16
    config["training"]["epochs"] = 2
    if salt is not None:
        config["splits"]["salt"] = salt
    config["policy"]["screen"] = None
    config["policy"]["gate"]["floor"] = 0.0  # a tiny model: any first one becomes champion
    config["policy"]["triggers"] = dict.fromkeys(("time", "volume", "performance", "drift"))
    config["sources"] = []
    path.write_text(yaml.safe_dump(config))
    project = Project.load(root)
    project.state_dir.mkdir(parents=True, exist_ok=True)
    with open_registry(project.store_url, project.artifacts_dir) as registry:
        cycle = run_cycle(project, registry)
    if cycle.outcome != "promoted":
        raise RuntimeError(f"the first cycle of {root} was {cycle.outcome}: {cycle.error}")
    return project, config
