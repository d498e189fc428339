"""Shared foundations: the exception hierarchy, the ``Example`` type, hashing, atomic writes,
private file modes, the secret of the logged text hashes."""

from lifelong.core.atomic import (
    atomic_create_bytes,
    atomic_write_bytes,
    atomic_write_text,
    fsync_dir,
)
from lifelong.core.errors import (
    AlreadyExists,
    ArtifactCorrupt,
    ConfigError,
    DataError,
    IncompatibleModel,
    LifelongError,
    LockHeld,
    NotFound,
    Problem,
    RegistryError,
    SchemaMismatch,
    StorageError,
    ValidationFailed,
)
from lifelong.core.hashing import TextHasher, sha256_bytes, sha256_file, sha256_text
from lifelong.core.private import make_private, private_dir
from lifelong.core.secret import HASH_SECRET_ENV, hash_secret
from lifelong.core.types import Example, content_hash, normalize_text, snapshot_id

__all__ = [
    "HASH_SECRET_ENV",
    "AlreadyExists",
    "ArtifactCorrupt",
    "ConfigError",
    "DataError",
    "Example",
    "IncompatibleModel",
    "LifelongError",
    "LockHeld",
    "NotFound",
    "Problem",
    "RegistryError",
    "SchemaMismatch",
    "StorageError",
    "TextHasher",
    "ValidationFailed",
    "atomic_create_bytes",
    "atomic_write_bytes",
    "atomic_write_text",
    "content_hash",
    "fsync_dir",
    "hash_secret",
    "make_private",
    "normalize_text",
    "private_dir",
    "sha256_bytes",
    "sha256_file",
    "sha256_text",
    "snapshot_id",
]
