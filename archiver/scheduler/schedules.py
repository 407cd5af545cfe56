"""Schedules: what to crawl and when, validated before they reach the `schedules` table.

A schedule is a name, a spider with its arguments and Scrapy settings, and either an interval
(`--every 6h`) or a crontab expression (`--cron "0 */6 * * *"`) in a time zone. Everything is
checked when the schedule is added, so the service never meets an expression it cannot run:
a typo must fail at the operator's prompt, not silently at 3 a.m.

Interval schedules are anchored at their creation time, not at the service's start: a service
restarted every few hours still fires a 6-hour schedule on the same grid instead of pushing the
next run back after every restart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, delete, func, insert, select, update

from archiver.db.engine import write_transaction
from archiver.db.models import CrawlRun, Schedule, utcnow
from archiver.scheduler.durations import format_duration, parse_duration
from archiver.scheduler.errors import ScheduleError

SCHEDULES = Schedule.__table__
RUNS = CrawlRun.__table__

#: Schedule names end up in job ids, log file names and `crawl_runs.trigger`.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: `crawl_runs.trigger` of runs nobody scheduled; not available as a schedule name.
MANUAL_TRIGGER = "manual"

# crontab numbers days of the week from Sunday = 0 (7 is Sunday too); APScheduler 3.x counts
# from Monday = 0, so numeric day-of-week fields are translated to names (see cron_trigger).
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def check_timezone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (`UTC`, `Europe/Berlin`), or a ScheduleError.

    >>> check_timezone("Europe/Berlin").key
    'Europe/Berlin'
    >>> check_timezone("Mars/Olympus")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    archiver.scheduler.errors.ScheduleError: unknown time zone 'Mars/Olympus' (use an IANA ...)
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name!r} (use an IANA name such as UTC or Europe/Berlin)"
        ) from None


def crontab_day_of_week(field: str) -> str:
    """A crontab day-of-week field (Sunday = 0 or 7) spelled with names, as APScheduler 3 needs.

    APScheduler 3.x reads `1` as Tuesday; a schedule written as `* * * * 1` must run on Monday.

    >>> crontab_day_of_week("1-5"), crontab_day_of_week("0"), crontab_day_of_week("7")
    ('mon,tue,wed,thu,fri', 'sun', 'sun')
    >>> crontab_day_of_week("*/2"), crontab_day_of_week("*"), crontab_day_of_week("sat,sun")
    ('sun,tue,thu,sat', '*', 'sun,sat')
    >>> crontab_day_of_week("fri-sun")
    'sun,fri,sat'
    """
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ScheduleError(f"invalid day of week {field!r}")
        if span == "*":
            first, last = 0, 6
        else:
            low, _, high = span.partition("-")
            first = _cron_day(low, field)
            last = _cron_day(high, field) if high else first
            if high and last == 0 and first > 0:
                last = 7  # "fri-sun": Sunday closes the range
            if not high and step:
                last = 6  # "1/2" = from Monday, every other day
        if last < first:
            raise ScheduleError(f"invalid day of week {field!r}")
        days.update(day % 7 for day in range(first, last + 1, step or 1))
    return ",".join(_CRON_DAYS[day] for day in sorted(days))


def _cron_day(token: str, field: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token[:3] in _CRON_DAYS and len(token) == 3:
        return _CRON_DAYS.index(token)
    raise ScheduleError(f"invalid day of week {token!r} (0-7 or sun-sat)")


def cron_trigger(expression: str, timezone: str = "UTC", jitter: int = 0) -> CronTrigger:
    """An APScheduler trigger for a standard 5-field crontab expression, or a ScheduleError.

    >>> cron_trigger("0 */6 * * *").fields[5]  # hour
    BaseField('hour', '*/6')
    >>> cron_trigger("30 6 * * 1", "Europe/Berlin").fields[4]  # crontab 1 = Monday
    DayOfWeekField('day_of_week', 'mon')
    >>> cron_trigger("61 * * * *")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    archiver.scheduler.errors.ScheduleError: invalid cron expression '61 * * * *': ... (59)
    """
    zone = check_timezone(timezone)
    values = expression.split()
    if len(values) != 5:
        raise ScheduleError(
            f"invalid cron expression {expression!r}: expected 5 fields"
            f" (minute hour day month weekday), got {len(values)}"
        )
    try:
        minute, hour, day, month, weekday = values
        translated = " ".join((minute, hour, day, month, crontab_day_of_week(weekday)))
        trigger = CronTrigger.from_crontab(translated, timezone=zone)
        trigger.jitter = jitter or None
        return trigger
    except (ValueError, TypeError) as error:
        raise ScheduleError(f"invalid cron expression {expression!r}: {error}") from None


def check_name(name: str) -> str:
    """A schedule name fit for job ids, log file names and `crawl_runs.trigger`.

    >>> check_name("syria-6h")
    'syria-6h'
    >>> check_name("my schedule")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    archiver.scheduler.errors.ScheduleError: invalid schedule name 'my schedule': use ...
    """
    if name == MANUAL_TRIGGER:
        raise ScheduleError(f"{MANUAL_TRIGGER!r} is reserved for runs started by hand")
    if not NAME_PATTERN.fullmatch(name):
        raise ScheduleError(
            f"invalid schedule name {name!r}: use letters, digits, '.', '_' and '-' (at most 100)"
        )
    return name


def check_spider(spider: str, arguments: Mapping[str, str]) -> None:
    """Refuse an unknown spider or arguments it would refuse, naming the known ones."""
    import os

    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    from archiver.listing import ArgumentError

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "archiver.settings")
    loader = SpiderLoader.from_settings(get_project_settings())
    try:
        spidercls = loader.load(spider)
    except KeyError:
        known = ", ".join(sorted(loader.list())) or "none"
        raise ScheduleError(f"unknown spider {spider!r} (known: {known})") from None
    check = getattr(spidercls, "check_arguments", None)
    if check is not None:
        try:
            check(**arguments)
        except ArgumentError as error:
            raise ScheduleError(f"spider {spider}: {error}") from None


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

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger; intervals count from `created_at` (see module docstring)."""
        if self.cron:
            return cron_trigger(self.cron, self.timezone, self.jitter_seconds)
        return IntervalTrigger(
            seconds=self.interval_seconds or 0,
            start_date=self.created_at or utcnow(),
            timezone=check_timezone(self.timezone),
            jitter=self.jitter_seconds or None,
        )

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


def new_schedule(
    name: str,
    spider: str,
    arguments: Mapping[str, str] | None = None,
    *,
    every: str | None = None,
    cron: str | None = None,
    timezone: str = "UTC",
    jitter: str | None = None,
    settings: Mapping[str, Any] | None = None,
    max_runtime: str | None = None,
    enabled: bool = True,
    verify_spider: bool = True,
) -> ScheduleSpec:
    """A validated schedule: exactly one of `every` and `cron`, known spider, sane durations.

    >>> new_schedule("syria", "amnestyusa", every="6h", verify_spider=False).interval_seconds
    21600
    >>> new_schedule("syria", "amnestyusa", every="6h", cron="0 * * * *", verify_spider=False)
    Traceback (most recent call last):
    ...
    archiver.scheduler.errors.ScheduleError: give either --every or --cron, not both
    """
    check_name(name)
    if (every is None) == (cron is None):
        raise ScheduleError(
            "give either --every or --cron, not both" if every else "give --every or --cron"
        )
    check_timezone(timezone)
    jitter_seconds = parse_duration(jitter) if jitter else 0
    interval_seconds = None
    if every is not None:
        interval_seconds = parse_duration(every)
        if interval_seconds < 1:
            raise ScheduleError("the interval must be at least 1s")
        if jitter_seconds >= interval_seconds:
            raise ScheduleError("the jitter must be shorter than the interval")
    else:
        assert cron is not None
        cron = " ".join(cron.split())
        cron_trigger(cron, timezone, jitter_seconds)
    runtime = parse_duration(max_runtime) if max_runtime else None
    if runtime is not None and runtime < 1:
        raise ScheduleError("the maximum run time must be at least 1s")
    arguments = dict(arguments or {})
    if verify_spider:
        check_spider(spider, arguments)
    return ScheduleSpec(
        name=name,
        spider=spider,
        arguments=arguments,
        cron=cron,
        interval_seconds=interval_seconds,
        timezone=timezone,
        jitter_seconds=jitter_seconds,
        enabled=enabled,
        settings=dict(settings or {}),
        max_runtime_seconds=runtime,
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


def add_schedule(engine: Engine, spec: ScheduleSpec, *, replace_existing: bool = False) -> bool:
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
    with write_transaction(engine) as connection:
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


def get_schedule(engine: Engine, name: str) -> ScheduleSpec:
    """The schedule called `name`, or a ScheduleError naming the ones there are."""
    with engine.connect() as connection:
        row = connection.execute(select(SCHEDULES).where(SCHEDULES.c.name == name)).first()
        if row is None:
            names = connection.execute(select(SCHEDULES.c.name).order_by(SCHEDULES.c.name))
            known = ", ".join(names.scalars()) or "there are none yet"
    if row is None:
        raise ScheduleError(f"no schedule named {name!r} (schedules: {known})")
    return _spec(row)


def list_schedules(engine: Engine) -> list[ScheduleSpec]:
    """Every schedule, by name."""
    with engine.connect() as connection:
        rows = connection.execute(select(SCHEDULES).order_by(SCHEDULES.c.name)).all()
    return [_spec(row) for row in rows]


def remove_schedule(engine: Engine, name: str) -> None:
    """Delete the schedule `name` (its runs stay in `crawl_runs`)."""
    with write_transaction(engine) as connection:
        deleted = connection.execute(delete(SCHEDULES).where(SCHEDULES.c.name == name)).rowcount
    if not deleted:
        get_schedule(engine, name)  # raises the helpful "no schedule named" error


def set_enabled(engine: Engine, name: str, enabled: bool) -> bool:
    """Pause (False) or resume (True) a schedule; returns whether it was enabled before."""
    before = get_schedule(engine, name).enabled
    with write_transaction(engine) as connection:
        connection.execute(
            update(SCHEDULES)
            .where(SCHEDULES.c.name == name)
            .values(enabled=enabled, next_fire_at=None, updated_at=utcnow())
        )
    return before


def set_next_fire_times(engine: Engine, times: Mapping[str, datetime | None]) -> None:
    """Record when each schedule fires next (the service does this; `schedule list` reads it).

    `updated_at` is left alone: it says when the operator last changed the schedule.
    """
    if not times:
        return
    with write_transaction(engine) as connection:
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


def schedule_overview(engine: Engine) -> list[ScheduleStatus]:
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
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        ScheduleStatus(
            spec=_spec(row),
            next_fire_at=row.next_fire_at,
            last_run_id=row.last_run_id,
            last_run_started_at=row.last_run_started_at,
            last_run_status=row.last_run_status,
            last_run_reason=row.last_run_reason,
        )
        for row in rows
    ]


def missed_fire(
    spec: ScheduleSpec, last_started: datetime | None, now: datetime, grace: timedelta
) -> datetime | None:
    """The fire time a stopped service missed within `grace` before `now`, if it never ran.

    APScheduler's in-memory job store forgets fires that fell while the service was down; this
    lets the service run such a schedule at once after a restart, as a misfire would be.

    >>> from datetime import UTC
    >>> made = datetime(2026, 1, 1, tzinfo=UTC)
    >>> spec = ScheduleSpec("a", "s", interval_seconds=3600, created_at=made)
    >>> now = made + timedelta(hours=5, minutes=2)
    >>> missed_fire(spec, made + timedelta(hours=4), now, timedelta(minutes=5))
    datetime.datetime(2026, 1, 1, 5, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
    >>> missed_fire(spec, made + timedelta(hours=5), now, timedelta(minutes=5)) is None
    True
    """
    if not spec.enabled:
        return None
    fire = spec.trigger().get_next_fire_time(None, now - grace)
    if fire is None or fire > now:
        return None
    if spec.created_at is not None and fire <= spec.created_at:
        return None  # the interval's anchor itself is not a fire
    if last_started is not None and last_started >= fire:
        return None
    return fire
