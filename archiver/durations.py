"""Durations (`90s`, `15m`, `6h`, `1d`, `1h30m`) and moments (`2026-11-29`) as operators type them.

Pure and light on imports: the command line parses `--every`, `--jitter`, `--since` with it
before anything loads SQLAlchemy or APScheduler.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from archiver.errors import ArgumentError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(text: str) -> int:
    """Seconds in a duration such as `90s`, `15m`, `6h`, `1d`, `1h30m` (a bare number = seconds).

    >>> parse_duration("6h"), parse_duration("15m"), parse_duration("1h30m"), parse_duration("90")
    (21600, 900, 5400, 90)
    >>> parse_duration("1d"), parse_duration("2w"), parse_duration(" 45 s ")
    (86400, 1209600, 45)
    >>> parse_duration("6 hours")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    archiver.errors.ArgumentError: invalid duration '6 hours' (use e.g. 90s, ...)
    """
    cleaned = text.strip().lower()
    if cleaned.isdigit():
        return int(cleaned)
    compact = cleaned.replace(" ", "")
    parts = _DURATION.findall(compact)
    if not parts or "".join(f"{number}{unit}" for number, unit in parts) != compact:
        raise ArgumentError(f"invalid duration {text!r} (use e.g. 90s, 15m, 6h, 1d)")
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


def format_duration(seconds: int) -> str:
    """The shortest spelling `parse_duration` reads back.

    >>> format_duration(21600), format_duration(5400), format_duration(90), format_duration(0)
    ('6h', '1h30m', '1m30s', '0s')
    """
    if seconds <= 0:
        return "0s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out += f"{count}{unit}"
    return out


def parse_moment(value: str) -> datetime:
    """A moment in UTC: a date (`2026-11-29`, its midnight) or an ISO time (UTC when naive).

    >>> parse_moment("2026-11-29")
    datetime.datetime(2026, 11, 29, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_moment("2024-05-01T14:00:00+02:00")
    datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    >>> parse_moment("yesterday")
    Traceback (most recent call last):
    ...
    archiver.errors.ArgumentError: 'yesterday' is not a date (2026-11-29) or ISO time \
(2026-11-29T12:00:00Z)
    """
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise ArgumentError(
                f"{value!r} is not a date (2026-11-29) or ISO time (2026-11-29T12:00:00Z)"
            ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
