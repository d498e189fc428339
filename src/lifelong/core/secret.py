"""The project's secret key for the text hashes it logs (:class:`~.hashing.TextHasher`).

It lives in the state folder (``.lifelong/secret``, ``0600``), made on first use, and never
in ``config.yml``: config files are committed to git, and a key that is public keys nothing.
Several machines writing one shared registry (PostgreSQL) must hash alike, so the
``LIFELONG_HASH_SECRET`` environment variable, when set, replaces the file: give every
machine the same value (e.g. the content of one project's ``.lifelong/secret``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from lifelong.core.atomic import atomic_create_bytes
from lifelong.core.errors import ConfigError
from lifelong.core.private import make_private, private_dir

HASH_SECRET_ENV = "LIFELONG_HASH_SECRET"
SECRET_FILE = "secret"
MIN_SECRET_CHARS = 16
_MAKE_ONE = "python -c 'import secrets; print(secrets.token_hex(32))'"


def hash_secret(state_dir: Path, env: Mapping[str, str] | None = None) -> bytes:
    """The key: ``LIFELONG_HASH_SECRET`` if set, else ``state_dir/secret`` (created if missing).

    The key is the secret's text (surrounding whitespace stripped) as UTF-8, so the file's
    content copied into the variable gives the same hashes. Creating is atomic and never
    overwrites: of processes starting together, all end up with the first one's key.

    Raises
    ------
    ConfigError
        If the variable or the file holds fewer than 16 characters (a guessable key), or the
        file is not text.
    """
    env = os.environ if env is None else env
    given = env.get(HASH_SECRET_ENV)
    if given is not None:
        return _checked(given, f"environment variable {HASH_SECRET_ENV}")
    path = private_dir(state_dir) / SECRET_FILE
    if not path.is_file():  # (an existing one is only read: the folder may be read-only)
        atomic_create_bytes(path, (secrets.token_hex(32) + "\n").encode())
    make_private(path)  # a copied-in key may have come with a looser mode
    try:
        return _checked(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path}: the secret for text hashes is not UTF-8 text",
            hint=f"remove it (a new one is made; hashes logged so far stop matching) "
            f"or set {HASH_SECRET_ENV}",
        ) from None


def _checked(secret: str, where: str) -> bytes:
    value = secret.strip()
    if len(value) < MIN_SECRET_CHARS:
        raise ConfigError(
            f"{where}: the secret for text hashes has {len(value)} characters, "
            f"fewer than {MIN_SECRET_CHARS}",
            hint=f"put a long random value there, e.g. the output of {_MAKE_ONE}",
        )
    return value.encode("utf-8")
