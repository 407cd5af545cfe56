"""The `schedules` table: named recurring crawls, as `ScheduleSpec`s.

Every function takes a Connection and leaves the transaction to the caller. Checking a schedule
(cron expressions, time zones, spiders) happens before it gets here, in archiver.scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from archiver.db.models import utcnow
from archiver.db.tables import RUNS, SCHEDULES
from archiver.durations import format_duration
from archiver.errors import ScheduleError


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule as the service runs it (a row of `schedules` without the bookkeeping)."""

    name: str
    spider: str
    arguments: dict[str, Any] = field(default_factory=dict)
    cron: str | None = None
    interval_seconds: int | None = None
    timezone: str = "UTC"
    jitter_seconds: int = 0
    enabled: bool = True
    settings: dict[str, Any] = field(default_factory=dict)
    max_runtime_seconds: int | None = None
    created_at: datetime | None = None

    def describe(self) -> str:
        """`every 6h` or `cron 0 */6 * * * Europe/Berlin`, plus the jitter if any.

        >>> ScheduleSpec("a", "s", interval_seconds=21600, jitter_seconds=300).describe()
        'every 6h ±5m'
        >>> ScheduleSpec("a", "s", cron="0 */6 * * *").describe()
        'cron 0 */6 * * * UTC'
        """
        when = (
            f"cron {self.cron} {self.timezone}"
            if self.cron
            else f"every {format_duration(self.interval_seconds or 0)}"
        )
        return when + (f" ±{format_duration(self.jitter_seconds)}" if self.jitter_seconds else "")

    def fingerprint(self) -> tuple[Any, ...]:
        """What the service compares to notice a changed schedule (not the bookkeeping)."""
        return (
            self.spider,
            sorted(self.arguments.items()),
            self.cron,
            self.interval_seconds,
            self.timezone,
            self.jitter_seconds,
            self.enabled,
            sorted((key, str(value)) for key, value in self.settings.items()),
            self.max_runtime_seconds,
            self.created_at,
        )


def _spec(row: Any) -> ScheduleSpec:
    return ScheduleSpec(
        name=row.name,
        spider=row.spider,
        arguments=dict(row.arguments or {}),
        cron=row.cron,
        interval_seconds=row.interval_seconds,
        timezone=row.timezone,
        jitter_seconds=row.jitter_seconds,
        enabled=bool(row.enabled),
        settings=dict(row.settings or {}),
        max_runtime_seconds=row.max_runtime_seconds,
        created_at=row.created_at,
    )


def add_schedule(
    connection: Connection, spec: ScheduleSpec, *, replace_existing: bool = False
) -> bool:
    """Store `spec`; True when it replaced a schedule of that name (only with replace_existing).

    A replaced schedule keeps its creation time, so an interval schedule keeps its grid.
    """
    values = {
        "spider": spec.spider,
        "arguments": spec.arguments,
        "cron": spec.cron,
        "interval_seconds": spec.interval_seconds,
        "timezone": spec.timezone,
        "jitter_seconds": spec.jitter_seconds,
        "enabled": spec.enabled,
        "settings": spec.settings,
        "max_runtime_seconds": spec.max_runtime_seconds,
        "next_fire_at": None,
    }
    now = utcnow()
    exists = connection.execute(
        select(SCHEDULES.c.id).where(SCHEDULES.c.name == spec.name)
    ).scalar()
    if exists is not None and not replace_existing:
        raise ScheduleError(
            f"a schedule named {spec.name!r} exists already"
            " (remove it first, or add it again with --replace)"
        )
    if exists is not None:
        connection.execute(
            update(SCHEDULES).where(SCHEDULES.c.id == exists).values(updated_at=now, **values)
        )
        return True
    connection.execute(
        insert(SCHEDULES).values(
            name=spec.name, created_at=spec.created_at or now, updated_at=now, **values
        )
    )
    return False


def get_schedule(connection: Connection, name: str) -> ScheduleSpec:
    """The schedule called `name`, or a ScheduleError naming the ones there are."""
    row = connection.execute(select(SCHEDULES).where(SCHEDULES.c.name == name)).first()
    if row is None:
        names = connection.execute(select(SCHEDULES.c.name).order_by(SCHEDULES.c.name))
        known = ", ".join(names.scalars()) or "there are none yet"
        raise ScheduleError(f"no schedule named {name!r} (schedules: {known})")
    return _spec(row)


def list_schedules(connection: Connection) -> list[ScheduleSpec]:
    """Every schedule, by name."""
    rows = connection.execute(select(SCHEDULES).order_by(SCHEDULES.c.name)).all()
    return [_spec(row) for row in rows]


def remove_schedule(connection: Connection, name: str) -> None:
    """Delete the schedule `name` (its runs stay in `crawl_runs`)."""
    deleted = connection.execute(delete(SCHEDULES).where(SCHEDULES.c.name == name)).rowcount
    if not deleted:
        get_schedule(connection, name)  # raises the helpful "no schedule named" error


def set_enabled(connection: Connection, name: str, enabled: bool) -> bool:
    """Pause (False) or resume (True) a schedule; returns whether it was enabled before."""
    before = get_schedule(connection, name).enabled
    connection.execute(
        update(SCHEDULES)
        .where(SCHEDULES.c.name == name)
        .values(enabled=enabled, next_fire_at=None, updated_at=utcnow())
    )
    return before


def set_next_fire_times(connection: Connection, times: Mapping[str, datetime | None]) -> None:
    """Record when each schedule fires next (the service does this; `schedule list` reads it).

    `updated_at` is left alone: it says when the operator last changed the schedule.
    """
    for name, moment in times.items():
        connection.execute(
            update(SCHEDULES)
            .where(SCHEDULES.c.name == name)
            .values(next_fire_at=moment, updated_at=SCHEDULES.c.updated_at)
        )


@dataclass(frozen=True)
class ScheduleStatus:
    """A schedule with what `archiver schedule list` shows next to it."""

    spec: ScheduleSpec
    next_fire_at: datetime | None
    last_run_id: int | None = None
    last_run_started_at: datetime | None = None
    last_run_status: str | None = None
    last_run_reason: str | None = None


def schedule_overview(connection: Connection) -> list[ScheduleStatus]:
    """Every schedule with its next fire time and its latest run (any status, skipped too)."""
    latest = (
        select(RUNS.c.trigger, func.max(RUNS.c.id).label("run_id"))
        .group_by(RUNS.c.trigger)
        .subquery()
    )
    query = (
        select(
            SCHEDULES,
            RUNS.c.id.label("last_run_id"),
            RUNS.c.started_at.label("last_run_started_at"),
            RUNS.c.status.label("last_run_status"),
            RUNS.c.finish_reason.label("last_run_reason"),
        )
        .outerjoin(latest, latest.c.trigger == SCHEDULES.c.name)
        .outerjoin(RUNS, RUNS.c.id == latest.c.run_id)
        .order_by(SCHEDULES.c.name)
    )
    return [
        ScheduleStatus(
            spec=_spec(row),
            next_fire_at=row.next_fire_at,
            last_run_id=row.last_run_id,
            last_run_started_at=row.last_run_started_at,
            last_run_status=row.last_run_status,
            last_run_reason=row.last_run_reason,
        )
        for row in connection.execute(query).all()
    ]
