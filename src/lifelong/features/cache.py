"""An on-disk cache of text embeddings keyed by the sha256 of the text.

Embedding a text with MiniLM costs milliseconds on a CPU, and every version of a project sees
mostly the same texts, so each text is embedded once and read back afterwards. The cache is one
SQLite file per encoder (hash -> float32 blob): writes are transactions, so a crash never leaves
a half-written vector, and several processes can share it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

_BATCH = 500  # stays below SQLite's limit on bound parameters


class EmbeddingCache:
    """Vectors of one encoder, stored in ``path`` (an SQLite file, created on first use).

    Examples
    --------
    >>> import tempfile
    >>> cache = EmbeddingCache(Path(tempfile.mkdtemp()) / "demo.sqlite")
    >>> cache.put({"k": np.ones(3, dtype=np.float32)})
    >>> cache.get(["k", "missing"])["k"].tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=60)
        connection.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (hash TEXT PRIMARY KEY, vector BLOB NOT NULL)"
        )
        return connection

    def get(self, hashes: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        """The cached vectors among ``hashes`` (missing ones are simply absent)."""
        found: dict[str, NDArray[np.float32]] = {}
        with closing(self._connect()) as connection:
            for start in range(0, len(hashes), _BATCH):
                chunk = list(hashes[start : start + _BATCH])
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT hash, vector FROM embeddings WHERE hash IN ({marks})", chunk
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put(self, vectors: dict[str, NDArray[np.float32]]) -> None:
        """Store ``vectors`` in one transaction (all or nothing)."""
        rows = [(key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in vectors.items()]
        with closing(self._connect()) as connection, connection:
            connection.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?)", rows)
