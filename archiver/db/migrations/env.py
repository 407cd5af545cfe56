"""Alembic environment for the archive: runs on the connection `archiver.db.migrate` hands over.

`archiver.db.migrate` opens the connection itself (write lock taken, SQLite foreign keys off) and
passes it in `config.attributes["connection"]`; developers running the `alembic` command get an
engine on `archiver.config.database_url()` instead. `render_as_batch` lets the same migration
alter tables on SQLite, which cannot ALTER most things in place.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from archiver.config import database_url
from archiver.db.engine import make_engine
from archiver.db.models import Base, UTCDateTime
from archiver.db.search import SEARCH_OBJECTS

try:
    config = context.config
except AttributeError:  # imported outside Alembic (pytest --doctest-modules): nothing to run
    config = None


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not import application types: spell UTCDateTime as what it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    # The search index is dialect-specific DDL (archiver.db.search), not a model.
    return not (type_ == "table" and name in SEARCH_OBJECTS)


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=Base.metadata,
        include_name=_include_name,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        **kwargs,
    )


def _run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    _configure(url=database_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    assert config is not None
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(database_url())
    try:
        with engine.begin() as own_connection:
            _run_on(own_connection)
    finally:
        engine.dispose()


if config is None:
    pass
elif context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
