"""PostgreSQL session advisory locks: who holds one, taking and giving one up.

Used by the scheduler's one-service-per-database lock. Each function takes the Connection the
lock lives on (an autocommit connection held for the holder's life).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def try_advisory_lock(connection: Connection, key: int) -> bool:
    """Take the session advisory lock `key` if it is free; whether it was taken."""
    return bool(
        connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
    )


def advisory_unlock(connection: Connection, key: int) -> None:
    """Give the session advisory lock `key` up."""
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


def advisory_lock_holder(connection: Connection, key: int) -> str | None:
    """The holder of lock `key` (application name, client, since when), or None when free."""
    row: Any = connection.execute(
        text(
            "SELECT a.pid, a.application_name, a.client_addr, a.backend_start"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.classid = :high AND l.objid = :low AND l.objsubid = 1"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"high": key >> 32, "low": key & 0xFFFFFFFF},
    ).first()
    if row is None:
        return None
    name = row.application_name or "unnamed client"
    where = f" from {row.client_addr}" if row.client_addr else ""
    since = f" since {row.backend_start:%Y-%m-%d %H:%M}" if row.backend_start else ""
    return f"{name}{where}, server pid {row.pid}{since}"


def still_connected(connection: Connection) -> None:
    """Raise if the lock's connection is gone (and with it, the lock)."""
    connection.execute(text("SELECT 1"))
