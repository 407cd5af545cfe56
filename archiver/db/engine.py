"""Engines and write transactions that behave the same on SQLite and PostgreSQL.

SQLite is the default database and is shared by concurrent crawls, so its connections are set
up for that: WAL (readers never block the writer), a busy timeout (a writer waits for the lock
instead of failing), foreign keys on (SQLite leaves them off by default). SQLAlchemy takes over
BEGIN from the sqlite3 module so that write transactions can start with `BEGIN IMMEDIATE`: a
deferred transaction that reads and then writes cannot wait for the lock and fails at once with
"database is locked" when another process wrote in between, whatever the busy timeout.

On PostgreSQL, writers serialise on one transaction-level advisory lock, which gives the store's
"read what is there, then decide new / updated / unchanged" step the same guarantee SQLite's
single writer gives, without table locks that would block readers (exports, `archiver stats`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.sql.dml import Insert

#: How long a SQLite writer waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 60_000
#: Key of the PostgreSQL advisory lock every archive writer takes (any fixed 64-bit number).
PG_WRITE_LOCK_KEY = 0x61726368697665  # "archive"

_WRITE_OPTION = "archiver_write_transaction"


def engine_url(url: str | URL) -> URL:
    """The SQLAlchemy URL to connect with: `postgresql://` means psycopg 3, not psycopg2.

    >>> engine_url("postgresql://u:pw@localhost/news").drivername
    'postgresql+psycopg'
    >>> engine_url("postgres://localhost/news").drivername
    'postgresql+psycopg'
    >>> engine_url("sqlite:///data/archive.db").drivername
    'sqlite'
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for `url` with the archive's connection setup (see the module docstring).

    For a SQLite file, the parent folder is created so that a fresh checkout can run
    `archiver demo` with the default `sqlite:///data/archive.db`. The caller disposes the engine.
    """
    parsed = engine_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            path.expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        _setup_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)  # the scheduler keeps engines for months
    return create_engine(parsed, **kwargs)


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the sqlite3 module, decides when a transaction begins (see `_on_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock another process may hold.
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            _switch_to_wal(cursor)
            # In WAL mode NORMAL never corrupts and keeps every commit across a killed process;
            # only a power cut may lose the last transactions.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def _switch_to_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode = WAL`, waiting like the busy timeout would.

    SQLite answers "database is locked" at once, without calling the busy handler, when two
    processes open a new database file at the same moment and both switch it to WAL (two crawls
    started together on a fresh archive); the second one only has to wait for the first.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One serialised write transaction: committed on exit, rolled back on error.

    Only one such transaction runs at a time per database, across processes (SQLite: the write
    lock taken by `BEGIN IMMEDIATE`; PostgreSQL: the advisory lock). Keep them short.
    """
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE_OPTION: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITE_LOCK_KEY}
                )
            yield connection


def dialect_insert(connection: Connection) -> Callable[[Table], Insert]:
    """The dialect's INSERT, which has ON CONFLICT (upserts); SQLite and PostgreSQL only."""
    name = connection.dialect.name
    if name == "sqlite":
        return sqlite.insert  # type: ignore[return-value]
    if name == "postgresql":
        return postgresql.insert  # type: ignore[return-value]
    raise NotImplementedError(f"the archive supports SQLite and PostgreSQL, not {name}")
