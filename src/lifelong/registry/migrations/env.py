"""Alembic environment of the registry schema.

:func:`lifelong.registry.migrate.upgrade` runs it with an open connection (in
``config.attributes["connection"]``). Developers creating a revision run
``alembic -c src/lifelong/registry/alembic.ini revision --autogenerate -m "..."`` with
``LIFELONG_STORE_URL`` pointing at a scratch database.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from lifelong.registry.dbmodels import Base


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=Base.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = os.environ.get("LIFELONG_STORE_URL", "sqlite:///.lifelong/registry.db")
    with create_engine(url).begin() as fresh:
        context.configure(connection=fresh, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


# Alembic executes this file; tools that merely import it (pytest --doctest-modules) must not
# run migrations, and alembic's context proxy exists only while alembic runs it.
if getattr(context, "_proxy", None) is not None:
    _run()
