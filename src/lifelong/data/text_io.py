"""Reading a data file's bytes as UTF-8, locating bad bytes by line."""

from __future__ import annotations

from pathlib import Path

from lifelong.data.result import ReadResult


def read_utf8(path: Path, result: ReadResult) -> str | None:
    """The file's text, or ``None`` after recording where the first non-UTF-8 byte is.

    A UTF-8 byte-order mark is accepted and dropped (spreadsheet exports write one).
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        result.error(
            "not-utf8",
            f"byte 0x{data[error.start]:02x} at offset {error.start} is not valid UTF-8; "
            "save the file as UTF-8",
            str(path),
            line,
        )
        return None


def read_data_text(path: Path, result: ReadResult) -> str | None:
    """The file's text, or ``None`` when it is not UTF-8 (an error) or holds nothing but white
    space (a warning naming the file).

    An empty file is the same warning in every text format: it loses nothing and blocks
    nothing (a batch file created before anyone annotated it, a placeholder), but it is named so
    a file that should have held data does not pass unseen. Data that is empty as a whole is
    still refused, by the trainability check.
    """
    text = read_utf8(path, result)
    if text is not None and not text.strip():
        result.warning("empty-file", "empty file: no examples read from it", str(path), None)
        return None
    return text
