"""One scheduler service per database: a second `archiver scheduler` refuses to start.

Two services on one database would fire every schedule twice, and `max_instances=1` only holds
inside one process. The lock is the database's own where it can be:

- PostgreSQL: a session-level advisory lock, on a dedicated autocommit connection held for the
  service's life (autocommit, so the connection never sits "idle in transaction" for months).
  The server drops it when the connection dies, so a killed service never leaves it behind.
  The connection's `application_name` names the holder, which the refusal message quotes.
- SQLite: `flock` on `<database file>.scheduler.lock`, holding the holder's pid and host. The
  kernel releases it when the process dies, so a stale file never blocks a restart.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from sqlalchemy import Connection, Engine

from archiver.config import mask_url
from archiver.db.engine import engine_url, make_engine
from archiver.db.locks import (
    advisory_lock_holder,
    advisory_unlock,
    still_connected,
    try_advisory_lock,
)
from archiver.errors import ArchiverError

#: Advisory lock key of the scheduler service ("archsch"); distinct from the write lock's key.
PG_SCHEDULER_LOCK_KEY = 0x61726368736368


class LockHeldError(ArchiverError):
    """Another scheduler service holds the lock; the message says who."""


def holder_description() -> str:
    """Who we are, as other processes will read it: `archiver-scheduler pid 123 on host`."""
    return f"archiver-scheduler pid {os.getpid()} on {socket.gethostname()}"


def lock_file_path(url: str) -> Path:
    """`<database file>.scheduler.lock` for a SQLite URL (ValueError for in-memory databases).

    >>> lock_file_path("sqlite:////srv/archive/archive.db")
    PosixPath('/srv/archive/archive.db.scheduler.lock')
    """
    database = engine_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError("the scheduler needs a database file or server, not an in-memory database")
    # The real path: the same file reached through a symlink or another spelling is one lock.
    path = Path(database).expanduser().resolve()
    return path.with_name(path.name + ".scheduler.lock")


class ServiceLock:
    """The scheduler's lock on one database; `acquire()` or use as a context manager."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._file: IO[str] | None = None

    @property
    def is_postgresql(self) -> bool:
        return engine_url(self.url).get_backend_name() == "postgresql"

    def acquire(self, wait: float = 1.0) -> ServiceLock:
        """Take the lock or raise LockHeldError naming the holder.

        Retries for `wait` seconds: `lock_holder` (used by `schedule list`) takes the lock
        file's shared lock for an instant, which must not make a starting service give up.
        """
        deadline = time.monotonic() + wait
        while True:
            try:
                if self.is_postgresql:
                    self._acquire_pg()
                else:
                    self._acquire_file()
                return self
            except LockHeldError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def _acquire_pg(self) -> None:
        engine = make_engine(
            self.url,
            connect_args={"application_name": holder_description()[:63]},
        )
        try:
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = try_advisory_lock(connection, PG_SCHEDULER_LOCK_KEY)
        except Exception:
            engine.dispose()
            raise
        if not got:
            holder = advisory_lock_holder(connection, PG_SCHEDULER_LOCK_KEY) or _UNKNOWN
            connection.close()
            engine.dispose()
            raise LockHeldError(
                f"another scheduler is already running on {mask_url(self.url)}"
                f" ({holder}); stop it first"
            )
        self._engine, self._connection = engine, connection

    def _acquire_file(self) -> None:
        path = lock_file_path(self.url)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or _UNKNOWN
            handle.close()
            raise LockHeldError(
                f"another scheduler is already running on {mask_url(self.url)}"
                f" ({holder}; lock file {path}); stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        handle.write(f"{holder_description()} since {started}\n")
        handle.flush()
        self._file = handle

    def check(self) -> None:
        """Raise if the lock was lost (PostgreSQL: the lock's connection is gone)."""
        if self._connection is not None:
            still_connected(self._connection)

    def release(self) -> None:
        """Give the lock up (also done by the OS / server when the process dies)."""
        if self._connection is not None:
            try:
                advisory_unlock(self._connection, PG_SCHEDULER_LOCK_KEY)
            except Exception:  # the connection is gone: so is the lock
                pass
            finally:
                self._connection.close()
                self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._file is not None:
            # Unlock before closing; the file stays (deleting it could race a starting service).
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> ServiceLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def lock_holder(url: str) -> str | None:
    """Who holds the scheduler lock on `url` (None when no service runs), without taking it."""
    if engine_url(url).get_backend_name() == "postgresql":
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                return advisory_lock_holder(connection, PG_SCHEDULER_LOCK_KEY)
        finally:
            engine.dispose()
    path = lock_file_path(url)
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or _UNKNOWN
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


_UNKNOWN = "holder unknown"
