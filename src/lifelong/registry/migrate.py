"""Bring a registry database to the schema this code knows, or refuse a newer one.

Migrations run programmatically on open (no ``alembic.ini`` on the user's side). The check and
the upgrade happen in one write transaction, under a lock (``BEGIN IMMEDIATE`` on SQLite, an
advisory lock on PostgreSQL), so two processes opening a fresh store at once do not both try to
create the tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from lifelong.core.errors import RegistryError, SchemaMismatch
from lifelong.registry.engine import WRITE_OPTION
from lifelong.registry.schema import HEAD_REVISION, VERSION_TABLE

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x11FE1096  # any constant; names the "registry schema" advisory lock

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations; ``env.py`` uses ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    return HEAD_REVISION


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, ``None`` for an empty database."""
    with engine.connect() as connection:
        return _revision(connection)


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    return None if found is None else str(found)


def upgrade(engine: Engine) -> None:
    """Upgrade the database to :func:`head_revision`; refuse a schema newer than the code.

    Raises
    ------
    SchemaMismatch
        The database was written by a newer lifelong whose migrations this code lacks.
    RegistryError
        The database holds tables but no schema version: it is not a lifelong registry.
    """
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        current = _revision(connection)
        if current == HEAD_REVISION:
            return  # the usual case, answered without importing Alembic
        from alembic import command
        from alembic.script import ScriptDirectory

        config = alembic_config(connection)
        script = ScriptDirectory.from_config(config)
        head = script.get_current_head()
        if current is None:
            _refuse_foreign_tables(connection)
        known = {revision.revision for revision in script.walk_revisions()}
        if current is not None and current not in known:
            raise SchemaMismatch(
                f"registry schema {current} is newer than this lifelong (knows up to {head}): "
                "upgrade lifelong",
                hint="pip install -U lifelong, on every machine sharing this store",
            )
        command.upgrade(config, "head")


def _refuse_foreign_tables(connection: Connection) -> None:
    """Refuse to create the registry's tables among another application's (or a registry's
    whose version table was lost): the upgrade would fail half-way or mix the two."""
    tables = sorted(inspect(connection).get_table_names())
    if tables:
        shown = connection.engine.url.render_as_string(hide_password=True)
        raise RegistryError(
            f"the database {shown} holds tables ({', '.join(tables[:5])}"
            f"{', ...' if len(tables) > 5 else ''}) but no lifelong schema version: it is not "
            "a lifelong registry, or its version table was lost",
            hint="check store.url in config.yml (or LIFELONG_STORE_URL); restore the registry "
            "from a backup, or point store.url at an empty database",
        )
