"""Shared foundations: the exception hierarchy, the ``Example`` type, hashing, atomic writes."""

from lifelong.core.atomic import atomic_write_bytes, atomic_write_text, fsync_dir
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
from lifelong.core.hashing import sha256_bytes, sha256_file, sha256_text
from lifelong.core.types import Example, content_hash, normalize_text, snapshot_id

__all__ = [
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
    "ValidationFailed",
    "atomic_write_bytes",
    "atomic_write_text",
    "content_hash",
    "fsync_dir",
    "normalize_text",
    "sha256_bytes",
    "sha256_file",
    "sha256_text",
    "snapshot_id",
]
