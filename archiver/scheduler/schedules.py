"""Schedules: what to crawl and when, checked before they reach the `schedules` table.

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
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from archiver.db.models import utcnow
from archiver.db.schedules import ScheduleSpec
from archiver.durations import parse_duration
from archiver.errors import ScheduleError
from archiver.process.spiders import check_spider

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
    archiver.errors.ScheduleError: unknown time zone 'Mars/Olympus' (use an IANA ...)
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
    archiver.errors.ScheduleError: invalid cron expression '61 * * * *': ... (59)
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
    except (ValueError, TypeError) as error:
        raise ScheduleError(f"invalid cron expression {expression!r}: {error}") from None
    if trigger.get_next_fire_time(None, datetime.now(zone)) is None:
        raise ScheduleError(f"cron expression {expression!r} never fires (no such date)")
    return trigger


def check_name(name: str) -> str:
    """A schedule name fit for job ids, log file names and `crawl_runs.trigger`.

    >>> check_name("syria-6h")
    'syria-6h'
    >>> check_name("my schedule")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    archiver.errors.ScheduleError: invalid schedule name 'my schedule': use ...
    """
    if name == MANUAL_TRIGGER:
        raise ScheduleError(f"{MANUAL_TRIGGER!r} is reserved for runs started by hand")
    if not NAME_PATTERN.fullmatch(name):
        raise ScheduleError(
            f"invalid schedule name {name!r}: use letters, digits, '.', '_' and '-' (at most 100)"
        )
    return name


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
    archiver.errors.ScheduleError: give either --every or --cron, not both
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


def trigger_for(spec: ScheduleSpec) -> BaseTrigger:
    """The APScheduler trigger of a schedule; intervals count from `created_at` (see module)."""
    if spec.cron:
        return cron_trigger(spec.cron, spec.timezone, spec.jitter_seconds)
    return IntervalTrigger(
        seconds=spec.interval_seconds or 0,
        start_date=spec.created_at or utcnow(),
        timezone=check_timezone(spec.timezone),
        jitter=spec.jitter_seconds or None,
    )


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
    fire = trigger_for(spec).get_next_fire_time(None, now - grace)
    if fire is None or fire > now:
        return None
    if spec.created_at is not None and fire <= spec.created_at:
        return None  # the interval's anchor itself is not a fire
    if last_started is not None and last_started >= fire:
        return None
    return fire
