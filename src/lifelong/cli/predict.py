"""``lifelong predict TEXT... | --file F`` and ``lifelong shell``: predictions without a server.

Nothing heavy is imported at module level (torch, the model code): a command's body imports
what it needs, so ``lifelong --help`` does not wait for them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lifelong.cli.common import console, load_project
from lifelong.core.errors import DataError, LifelongError

if TYPE_CHECKING:
    from lifelong.api import Model, Ranked

STOP = "/stop"

ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Version, alias, or a folder from `lifelong models export`.",
        metavar="VERSION|ALIAS|DIR",
    ),
]
TopK = Annotated[int, typer.Option("--top-k", "-k", help="Ranked intents shown.", min=1)]


def load_model(ctx: typer.Context, ref: str) -> Model:
    """The model ``ref`` names: an exported folder, else a version or alias of the project."""
    from lifelong.api import load_folder, load_version

    path = Path(ref).expanduser()
    if path.is_dir():
        return load_folder(path)
    return load_version(load_project(ctx), ref)


def read_texts(path: Path) -> list[str]:
    """The non-blank lines of ``path`` (``-``: standard input), one text per line."""
    if str(path) == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            hint = "pass a text file, one text per line"
            raise DataError(f"{path}: no such file", hint=hint) from None
        except (OSError, UnicodeDecodeError) as error:
            raise DataError(f"{path}: cannot read it ({error})") from None
    return [line.strip() for line in lines if line.strip()]


def _read_inputs(model: Model, path: Path) -> list[str | dict[str, object]]:
    """What ``--file`` holds: lines of text, or for a tabular model the file's rows."""
    from lifelong.data.table_read import TABLE_SUFFIXES, read_records

    if model.tabular and path.suffix.lower() in TABLE_SUFFIXES:
        return list(read_records(path))
    return list(read_texts(path))


def _print_values(model: Model, rows: list[str | dict[str, object]], as_json: bool) -> None:
    """A regression model's predictions, one per row."""
    from rich.table import Table

    values = model.predict_values(rows)
    shown = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    if as_json:
        for row, value in zip(shown, values, strict=True):
            typer.echo(json.dumps({"row": row, "value": value, "version": model.version}))
        return
    table = Table(title=f"model {model.version or model.source}")
    table.add_column("row", overflow="fold")
    table.add_column("value", justify="right")
    for row, value in zip(shown, values, strict=True):
        table.add_row(row, f"{value:.6g}")
    console.print(table)


def _ranking(ranked: Ranked) -> str:
    return ", ".join(f"{intent} {confidence:.3f}" for intent, confidence in ranked.ranking)


def predict(
    ctx: typer.Context,
    texts: Annotated[
        list[str] | None, typer.Argument(help="Texts to classify (rows as JSON objects).")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Classify each line of this file (-: stdin); a tabular model reads the rows "
            "of a CSV, JSONL or Parquet file.",
        ),
    ] = None,
    model: ModelOption = "champion",
    top_k: TopK = 3,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per text.")] = False,
) -> None:
    """Classify texts with a model (default: the champion), without starting a server."""
    from rich.table import Table

    if not texts and file is None:
        raise LifelongError(
            "nothing to predict: give texts or --file",
            hint='`lifelong predict "where is my order"` or `lifelong predict --file texts.txt`',
        )
    loaded = load_model(ctx, model)
    given = [*(texts or []), *([] if file is None else _read_inputs(loaded, file))]
    if loaded.regression:
        _print_values(loaded, given, as_json)
        return
    results = loaded.rank(given, top_k)
    if as_json:
        for ranked in results:
            typer.echo(json.dumps({**ranked.to_dict(), "version": loaded.version}))
        return
    table = Table(title=f"model {loaded.version or loaded.source}")
    for column in ("text", "intent", "confidence", f"top {top_k}"):
        table.add_column(
            column, justify="right" if column == "confidence" else "left", overflow="fold"
        )
    for ranked in results:
        table.add_row(ranked.text, ranked.intent, f"{ranked.confidence:.3f}", _ranking(ranked))
    console.print(table)


def shell(
    ctx: typer.Context,
    model: ModelOption = "champion",
    top_k: TopK = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Answer each message as JSON.")] = False,
) -> None:
    """Type messages, see their intent, confidence and ranking; /stop or Ctrl-D ends.

    Like `rasa shell nlu`: one model is loaded once, every line is classified.
    """
    loaded = load_model(ctx, model)
    console.print(
        f"model {loaded.version or loaded.source}, {len(loaded.labels)} intents. "
        f"Type a message; {STOP} or Ctrl-D ends.",
        highlight=False,
    )
    while True:
        try:
            text = console.input("[bold]> [/]").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        if text == STOP:
            break
        if not text:
            continue
        (ranked,) = loaded.rank([text], top_k)
        if as_json:
            typer.echo(json.dumps({**ranked.to_dict(), "version": loaded.version}))
            continue
        console.print(
            f"[bold]{ranked.intent}[/] ({ranked.confidence:.3f})  [dim]{_ranking(ranked)}[/]",
            highlight=False,
        )
