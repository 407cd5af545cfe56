"""Bring a database to the current schema with Alembic, safely from several processes at once.

`open_archive` calls `ensure_schema` before anything touches the archive, so a fresh checkout (or
a fresh PostgreSQL database) just works and an old archive is upgraded on first use. Checking
costs one query (`alembic_version` against `HEAD_REVISION`); Alembic itself, a quarter of a second
of imports, is loaded only when there is something to upgrade. A database that holds none of the
archive's tables gets the head schema from the models, stamped, without Alembic (what the
migrations build, checked by a test). Migrations run
inside one serialised write transaction (`archiver.db.engine.write_transaction`): when two crawls
start on a fresh database together, the second waits, then finds the schema current and does
nothing. On SQLite, foreign keys are switched off while migrating, because batch mode recreates
tables and SQLite's implicit `DELETE` on `DROP TABLE` would otherwise cascade (deleting every
version row when `releases` is rebuilt); `PRAGMA foreign_key_check` runs before the commit.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)

from archiver.config import mask_url
from archiver.db.engine import make_engine, write_transaction
from archiver.errors import SchemaError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: The newest migration (tests/test_db_migrations.py checks it is Alembic's head).
HEAD_REVISION = "0008_browse_indexes"

#: Alembic's own bookkeeping table, as `alembic upgrade` creates it.
VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)

_ensured: set[str] = set()
_ensured_lock = threading.Lock()
_unpacked: Path | None = None  # migrations copied out of a zipped package (migrations_dir)
_unpack_lock = threading.Lock()  # not _ensured_lock: ensure_schema holds that one while upgrading


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code (no alembic.ini needed at run time).

    With `connection`, Alembic runs on it (see migrations/env.py); without, on
    `archiver.config.database_url()`.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrations_dir() -> Path:
    """The migrations folder on disk. Alembic reads its scripts from files; a package run from a
    zipped egg (a Scrapyd node runs the deployed egg so) has none, so its migrations are copied
    out once per process into a temporary folder, removed at exit."""
    global _unpacked
    if MIGRATIONS_DIR.is_dir():
        return MIGRATIONS_DIR
    with _unpack_lock:
        if _unpacked is None:
            import atexit
            import importlib.resources
            import shutil
            import tempfile

            folder = Path(tempfile.mkdtemp(prefix="archiver-migrations-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _copy_tree(importlib.resources.files("archiver.db") / "migrations", folder)
            _unpacked = folder
        return _unpacked


def _copy_tree(source: Traversable, target: Path) -> None:
    target.mkdir(exist_ok=True)
    for entry in source.iterdir():
        if entry.is_dir():
            if entry.name != "__pycache__":
                _copy_tree(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())


def head_revision() -> str:
    """The revision this version of the archiver expects."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise SchemaError("no migrations found in the archiver package")
    return head


def known_revision(revision: str) -> bool:
    """Whether `revision` is one of this archiver's migrations."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return revision in {rev.revision for rev in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it has never been migrated)."""
    with engine.connect() as connection:
        return stored_revision(connection)


def stored_revision(connection: Connection) -> str | None:
    """`alembic_version.version_num`, without loading Alembic (None: never migrated)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(url: str, revision: str = "head") -> str | None:
    """Upgrade the database at `url` to `revision`; returns the revision it was at before."""
    engine = make_engine(url)
    try:
        return _upgrade(engine, revision)
    finally:
        engine.dispose()


def _upgrade(engine: Engine, revision: str) -> str | None:
    if revision == "head":
        with write_transaction(engine) as connection:
            if _create_head_schema(connection):
                return None
    from alembic import command

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as probe:
        if sqlite:
            # Must happen outside a transaction; the pooled connection is thrown away below.
            probe.exec_driver_sql("PRAGMA foreign_keys = OFF")
            probe.commit()
    with write_transaction(engine) as connection:
        before = stored_revision(connection)
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


def _create_head_schema(connection: Connection) -> bool:
    """On a database that holds none of the archive's tables, create the head schema from the
    models and stamp it, as the migrations would have left it (tests/test_db_migrations.py
    compares the two on both dialects): a new archive in a few milliseconds without loading
    Alembic, instead of a third of a second of imports and five migrations in a crawl's start-up.
    Returns False, touching nothing, when any of the tables exists (a real upgrade's job)."""
    from archiver.db.models import Base
    from archiver.db.search import install_search

    existing = set(inspect(connection).get_table_names())
    if existing & ({*Base.metadata.tables, VERSION_TABLE.name}):
        return False
    Base.metadata.create_all(connection)
    install_search(connection)
    VERSION_TABLE.create(connection)
    connection.execute(VERSION_TABLE.insert().values(version_num=HEAD_REVISION))
    return True


def ensure_schema(engine: Engine) -> None:
    """Make sure the database is at the head revision, upgrading it if needed.

    Cheap after the first call in a process (remembered per URL); the first call reads the
    current revision and only takes the write lock when an upgrade is really needed.
    """
    key = engine.url.render_as_string(hide_password=False)
    with _ensured_lock:
        if key in _ensured:
            return
        if current_revision(engine) != HEAD_REVISION:
            _upgrade(engine, "head")
        _ensured.add(key)
