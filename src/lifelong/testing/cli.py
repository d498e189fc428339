"""Running the ``lifelong`` command in-process on a small pipeline, for tests of the CLI.

The settings keep a training to seconds (a 16,384-row n-gram table, a 64-unit head); the output
comes back with its white space folded, because rich wraps at the terminal's width and a test
should read whole sentences.
"""

from __future__ import annotations

from pathlib import Path


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
