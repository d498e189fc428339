"""sha256 helpers: content hashes name examples, snapshots and artifacts; keyed text hashes.

Content hashes are plain sha256: they are identities (an example, a snapshot, an artifact),
compared across machines and versions, and the texts they name are stored beside them anyway.
Hashes of served texts that leave the process in logs are keyed (:class:`TextHasher`): a
plain hash of a short text is found by hashing a dictionary of likely texts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20
_BLOCK = 64  # sha256's block size in bytes (RFC 2104's B)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``.

    >>> sha256_bytes(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    """Hex sha256 of ``text`` encoded as UTF-8."""
    return sha256_bytes(text.encode("utf-8"))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks so large artifacts need no memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class TextHasher:
    """HMAC-SHA256 of texts under a secret key, as hex: ``hmac.new(key, text, sha256)``.

    Without the key, a logged hash cannot be checked against guessed texts; with it, equal
    texts still give equal hashes, so logs can be joined and counted by text.

    The inner and outer pad states (RFC 2104) are hashed once here and copied per text, which
    makes a hash cost about 1.5 times a plain sha256 instead of ``hmac.digest``'s 3 times: the
    server hashes every text it answers.

    >>> TextHasher(b"key")("hello") == TextHasher(b"other key")("hello")
    False
    """

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        block = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def __call__(self, text: str) -> str:
        inner = self._inner.copy()
        inner.update(text.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def __repr__(self) -> str:
        return "TextHasher(<secret key>)"
