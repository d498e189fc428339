"""``lifelong compress VERSION --method METHOD``: a smaller model, registered and gated.

Thin: the recipe is :func:`lifelong.pipelines.compress.compress_version`, imported when the
command runs so the CLI starts without loading torch.
"""

from __future__ import annotations

from typing import Annotated

import typer

from lifelong.cli.common import console, load_project, open_project_registry, print_json


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def compress(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The version (or alias) to compress.")],
    method: Annotated[
        str,
        typer.Option(
            "--method",
            "-m",
            help="int8, int4, fp16, prune, prune-neurons or distill.",
            metavar="METHOD",
        ),
    ],
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="A method option over compress.<method>: -o keep=0.5"),
    ] = None,
    promote: Annotated[
        bool, typer.Option("--promote", help="Promote to champion on a promote verdict.")
    ] = False,
    notes: Annotated[str, typer.Option(help="Free text recorded on the version.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Compress a version into a new one (parent VERSION, edge compress; distill: a fast
    student of it, edge distill), then gate it."""
    from lifelong.cli.train import verdict_lines
    from lifelong.pipelines.compress import CompressOptions, compress_version
    from lifelong.pipelines.lock import cycle_lock

    project = load_project(ctx)
    options = CompressOptions(method, tuple(option or ()), promote, notes)
    with open_project_registry(project) as registry, cycle_lock(project, registry):
        result = compress_version(project, registry, version, options)
    if as_json:
        print_json(result.summary())
        return
    before, after = result.before, result.after
    console.print(
        f"[bold]registered {result.version.label}[/] ({method} of {result.version.parent}, "
        f"{after.weights_format})",
        highlight=False,
    )
    console.print(
        f"  size {_size(before.bytes)} -> {_size(after.bytes)} "
        f"({before.bytes / max(1, after.bytes):.1f}x smaller); accuracy {before.accuracy:.4f} -> "
        f"{after.accuracy:.4f}; single text p50 {before.latency_ms_p50:.2f} -> "
        f"{after.latency_ms_p50:.2f} ms, p99 {before.latency_ms_p99:.2f} -> "
        f"{after.latency_ms_p99:.2f} ms; batch {before.batch_ms_per_text:.3f} -> "
        f"{after.batch_ms_per_text:.3f} ms a text",
        highlight=False,
    )
    for line in verdict_lines(result.judgement):
        console.print(line)
