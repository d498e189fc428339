"""The schema revision this code knows, for readers that check it without Alembic or SQLAlchemy.

A read-only open compares the database's revision with :data:`HEAD_REVISION`: importing
Alembic (and scanning its scripts) to learn the head would double the time of a read command.
"""

from __future__ import annotations

VERSION_TABLE = "alembic_version"
# The newest revision in migrations/versions (a test checks it against Alembic's view).
HEAD_REVISION = "0007"
