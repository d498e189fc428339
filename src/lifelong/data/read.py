"""Reading files and folders of training data, any mix of formats."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lifelong.config import Columns
from lifelong.core.errors import DataError
from lifelong.data.jsonl import read_jsonl
from lifelong.data.rasa import read_rasa_yaml
from lifelong.data.result import ReadResult
from lifelong.data.table_read import TABLE_SUFFIXES, check_tables, read_table
from lifelong.data.tabular import read_csv, read_parquet

SUPPORTED = (".yml", ".yaml", ".jsonl", ".csv", ".parquet")


def read_file(path: Path, columns: Columns | None = None) -> ReadResult:
    """Read one data file, choosing the reader by its extension."""
    columns = columns or Columns()
    suffix = path.suffix.lower()
    if columns.target is not None:
        return read_table(path, columns)
    if suffix in (".yml", ".yaml"):
        return read_rasa_yaml(path)
    if suffix == ".jsonl":
        return read_jsonl(path)
    if suffix == ".csv":
        return read_csv(path, columns)
    if suffix == ".parquet":
        return read_parquet(path, columns)
    raise DataError(
        f"{path}: unknown data file type {suffix or '(none)'!r}",
        hint=f"lifelong reads {', '.join(SUPPORTED)}",
    )


def data_files(paths: Iterable[Path], suffixes: tuple[str, ...], result: ReadResult) -> list[Path]:
    """The data files of ``paths``: files as named, folders walked recursively in sorted order.

    Inside a folder, files of a type not in ``suffixes`` are warnings in ``result``, never
    silently skipped; hidden files (``.gitkeep``) and folders are passed over. A path that does
    not exist is a :class:`DataError`.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if any(part.startswith(".") for part in relative.parts) or not child.is_file():
                    continue
                if child.suffix.lower() in suffixes:
                    files.append(child)
                else:
                    result.warning(
                        "unknown-type",
                        f"not read: unknown file type (lifelong reads {', '.join(suffixes)})",
                        str(child),
                    )
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(
                f"{path}: no such file or folder",
                hint="check `data:` and `test:` in config.yml",
            )
    return files


def read_paths(paths: Iterable[Path], columns: Columns | None = None) -> ReadResult:
    """Read files and folders (see :func:`data_files`); a file named explicitly with an
    unknown type is a :class:`DataError`."""
    result = ReadResult()
    columns = columns or Columns()
    suffixes = TABLE_SUFFIXES if columns.target is not None else SUPPORTED
    for path in data_files(paths, suffixes, result):
        result.extend(read_file(path, columns))
    check_tables(result)
    return result
