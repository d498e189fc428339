"""Which strings the system can take in: one check for the server's requests and data files.

JSON (and YAML) can spell strings no UTF-8 encoder accepts: ``"\\ud800"`` parses to a lone
surrogate. Such a text breaks every step after parsing (the featurizer, the sha256 of its
normalized form, the JSON answer, the feedback log), and a NUL character, though valid
Unicode, is refused by PostgreSQL's ``text`` and ``jsonb`` columns (the prediction log, the
snapshots). Checking at each door, once, turns both into a message naming the character and
its position instead of a crash far from the cause.
"""

from __future__ import annotations

from collections.abc import Mapping

_NUL = "\x00"


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be featurized, hashed or stored, or ``None`` when it can.

    >>> text_problem("caf\\u00e9") is None
    True
    >>> text_problem("ok \\udfff")
    'invalid Unicode (lone surrogate U+DFFF at position 3)'
    >>> text_problem("a\\x00b")
    'contains a NUL character (U+0000 at position 1)'

    The server checks every text it gets, so the common case (ASCII, no NUL) returns after
    two scans in C; others pay an encoding.
    """
    if text.isascii() and _NUL not in text:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:  # the only code points UTF-8 refuses: surrogates
        code = ord(text[error.start])
        return f"invalid Unicode (lone surrogate U+{code:04X} at position {error.start})"
    position = text.find(_NUL)
    if position >= 0:
        return f"contains a NUL character (U+0000 at position {position})"
    return None


def value_problem(value: object, where: str) -> str | None:
    """The first :func:`text_problem` of any string inside ``value`` (a string, or mappings
    and lists of them, keys included), prefixed by its path from ``where``; else ``None``.

    For the free-form parts of a record (extra columns, ``meta``), which are stored with it.

    >>> value_problem({"lang": ["en", "x\\x00"]}, "meta")
    'meta.lang[1]: contains a NUL character (U+0000 at position 1)'
    """
    if isinstance(value, str):
        problem = text_problem(value)
        return None if problem is None else f"{where}: {problem}"
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            problem = text_problem(name)
            if problem is not None:
                return f"{where}: a key {problem}"
            found = value_problem(item, f"{where}.{name}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = value_problem(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None
