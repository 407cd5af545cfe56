"""Bring a database to the current schema with Alembic, safely from several processes at once.

Every command calls `ensure_schema(url)` before touching the archive, so a fresh checkout (or a
fresh PostgreSQL database) just works and an old archive is upgraded on first use. Migrations run
inside one serialised write transaction (`archiver.db.engine.write_transaction`): when two crawls
start on a fresh database together, the second waits, then finds the schema current and does
nothing. On SQLite, foreign keys are switched off while migrating, because batch mode recreates
tables and SQLite's implicit `DELETE` on `DROP TABLE` would otherwise cascade (deleting every
version row when `releases` is rebuilt); `PRAGMA foreign_key_check` runs before the commit.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from archiver.config import mask_url
from archiver.db.engine import make_engine, write_transaction
from archiver.errors import SchemaError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

_ensured: set[str] = set()
_ensured_lock = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code (no alembic.ini needed at run time).

    With `connection`, Alembic runs on it (see migrations/env.py); without, on
    `archiver.config.database_url()`.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision this version of the archiver expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise SchemaError("no migrations found in the archiver package")
    return head


def known_revision(revision: str) -> bool:
    """Whether `revision` is one of this archiver's migrations."""
    script = ScriptDirectory.from_config(alembic_config())
    return revision in {rev.revision for rev in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it has never been migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> str | None:
    """Upgrade the database at `url` to `revision`; returns the revision it was at before."""
    engine = make_engine(url)
    try:
        return _upgrade(engine, revision)
    finally:
        engine.dispose()


def _upgrade(engine: Engine, revision: str) -> str | None:
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as probe:
        if sqlite:
            # Must happen outside a transaction; the pooled connection is thrown away below.
            probe.exec_driver_sql("PRAGMA foreign_keys = OFF")
            probe.commit()
    with write_transaction(engine) as connection:
        before = MigrationContext.configure(connection).get_current_revision()
        if before is not None and not known_revision(before):
            raise SchemaError(
                f"database {mask_url(engine.url.render_as_string(hide_password=False))} is at"
                f" schema revision {before}, which this archiver version does not know"
                " (was it upgraded by a newer version?)"
            )
        command.upgrade(alembic_config(connection), revision)
        if sqlite:
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise SchemaError(f"migration left broken foreign keys: {problems[:5]}")
    if sqlite:
        # Drop connections that had foreign keys switched off; new ones get the normal pragmas.
        engine.dispose()
    return before


def ensure_schema(engine: Engine) -> None:
    """Make sure the database is at the head revision, upgrading it if needed.

    Cheap after the first call in a process (remembered per URL); the first call reads the
    current revision and only takes the write lock when an upgrade is really needed.
    """
    key = engine.url.render_as_string(hide_password=False)
    with _ensured_lock:
        if key in _ensured:
            return
        if current_revision(engine) != head_revision():
            _upgrade(engine, "head")
        _ensured.add(key)
