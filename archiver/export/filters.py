"""What an export selects, parsed and checked before anything touches the database.

Every value a user types is checked here, so a typo becomes one clear line (`ExportError`) and
not an empty file that looks like "nothing matched". The same `ExportFilters` feeds the query,
the manifest (what the snapshot holds) and the default file name (what the file is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from archiver.durations import parse_moment
from archiver.errors import ArgumentError, ExportError
from archiver.sites import FILTER_KEYS, SOURCES, check_slug


def known_types() -> tuple[str, ...]:
    """Every value `--type` accepts: the controlled vocabulary the normaliser stores.

    Imported when needed: an export that does not filter by type never loads the normaliser.

    >>> known_types()[0], known_types()[-1]
    ('Press Release', 'Other')
    """
    from archiver.normalize.types import OTHER, VOCABULARY

    return (*VOCABULARY, OTHER)


def parse_type(value: str) -> str:
    """The vocabulary spelling of a release type, ignoring case, hyphens and spacing.

    >>> parse_type("press release"), parse_type("OP ED"), parse_type("other")
    ('Press Release', 'Op-Ed', 'Other')
    >>> parse_type("Interview")
    Traceback (most recent call last):
    ...
    archiver.errors.ExportError: unknown type 'Interview' (known: Press Release, Report, \
Update, Urgent Action, Statement, News, Blog, Story, Research, Op-Ed, Event, Video, Podcast, Other)
    """
    key = " ".join(value.lower().replace("-", " ").split())
    types = known_types()
    for name in types:
        if " ".join(name.lower().replace("-", " ").split()) == key:
            return name
    raise ExportError(f"unknown type {value!r} (known: {', '.join(types)})")


def parse_source(value: str) -> str:
    """A known source name.

    >>> parse_source("amnestyusa")
    'amnestyusa'
    >>> parse_source("bbc")
    Traceback (most recent call last):
    ...
    archiver.errors.ExportError: unknown source 'bbc' (known: amnestyusa)
    """
    if value not in SOURCES:
        raise ExportError(f"unknown source {value!r} (known: {', '.join(sorted(SOURCES))})")
    return value


def parse_facet_value(key: str, value: str) -> str:
    """A country or issue slug, by the one slug rule (`archiver.sites.check_slug`).

    >>> parse_facet_value("country", " Syria ")
    'syria'
    >>> parse_facet_value("country", "syria&x")
    Traceback (most recent call last):
    ...
    archiver.errors.ExportError: --country 'syria&x' is not a slug like 'syria' or \
'russian-federation' (letters a-z, digits, '-')
    """
    try:
        return check_slug(f"--{key}", value)
    except ArgumentError as error:
        raise ExportError(str(error)) from None


def parse_day(value: str, *, end: bool = False) -> date:
    """A publication date bound: `YYYY-MM-DD`, or `YYYY-MM` / `YYYY` meaning the whole period.

    `end` picks the last day of a month or year (for `--until 2016`).

    >>> parse_day("2016-03-09"), parse_day("2016"), parse_day("2016-02", end=True)
    (datetime.date(2016, 3, 9), datetime.date(2016, 1, 1), datetime.date(2016, 2, 29))
    >>> parse_day("9/3/2016")
    Traceback (most recent call last):
    ...
    archiver.errors.ExportError: '9/3/2016' is not a date: use YYYY-MM-DD, YYYY-MM or YYYY
    """
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            return date(int(text), 12, 31) if end else date(int(text), 1, 1)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = int(text[:4]), int(text[5:])
            first = date(year, month, 1)
            if not end:
                return first
            following = date(year + month // 12, month % 12 + 1, 1)
            return date.fromordinal(following.toordinal() - 1)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ExportError(f"{value!r} is not a date: use YYYY-MM-DD, YYYY-MM or YYYY")


def parse_seen_since(value: str) -> int | datetime:
    """`--seen-since`: a crawl run id (digits) or a UTC date/time (ISO 8601).

    A run id means "first seen by a later run"; a date or time means "first seen at or after
    that moment" (a date is its midnight UTC; a time without an offset is UTC).

    >>> parse_seen_since("42")
    42
    >>> parse_seen_since("2024-05-01")
    datetime.datetime(2024, 5, 1, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_seen_since("2024-05-01T14:00:00+02:00")
    datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    >>> parse_seen_since("yesterday")
    Traceback (most recent call last):
    ...
    archiver.errors.ExportError: --seen-since 'yesterday' is neither a run id (e.g. 42) \
nor a date (e.g. 2024-05-01 or 2024-05-01T12:00:00Z)
    """
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        return parse_moment(text)
    except ArgumentError:
        raise ExportError(
            f"--seen-since {value!r} is neither a run id (e.g. 42) nor a date"
            " (e.g. 2024-05-01 or 2024-05-01T12:00:00Z)"
        ) from None


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, to the second: the one time format of every export.

    >>> from datetime import timedelta, timezone
    >>> iso_utc(datetime(2024, 5, 1, 14, 0, 7, 999, tzinfo=timezone(timedelta(hours=2))))
    '2024-05-01T12:00:07Z'
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """Which releases an export holds. Values within one filter are ORed, filters are ANDed.

    `countries`/`issues` match a release seen under a listing filtered on that value, alone or
    with others (`country=russian-federation,ukraine` counts for both countries).
    """

    sources: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    search: str | None = None
    seen_since: int | datetime | None = None

    @classmethod
    def parse(
        cls,
        *,
        sources: Iterable[str] = (),
        countries: Iterable[str] = (),
        issues: Iterable[str] = (),
        types: Iterable[str] = (),
        since: str | None = None,
        until: str | None = None,
        search: str | None = None,
        seen_since: str | None = None,
    ) -> ExportFilters:
        """Filters from the strings a user typed; raises `ExportError` on the first bad one.

        >>> ExportFilters.parse(countries=["Syria"], types=["report"], since="2016").as_dict()
        {'country': ['syria'], 'type': ['Report'], 'since': '2016-01-01'}
        """
        filters = cls(
            sources=_unique(parse_source(value) for value in sources),
            countries=_unique(parse_facet_value("country", value) for value in countries),
            issues=_unique(parse_facet_value("issue", value) for value in issues),
            types=_unique(parse_type(value) for value in types),
            since=parse_day(since) if since else None,
            until=parse_day(until, end=True) if until else None,
            search=search.strip() if search and search.strip() else None,
            seen_since=parse_seen_since(seen_since) if seen_since else None,
        )
        if filters.since and filters.until and filters.since > filters.until:
            raise ExportError(f"--since {filters.since} is after --until {filters.until}")
        return filters

    def facet_values(self) -> dict[str, tuple[str, ...]]:
        """Facet filters by listing key (`country`, `issue`), only those given."""
        given = {"country": self.countries, "issue": self.issues}
        return {key: given[key] for key in FILTER_KEYS if given.get(key)}

    def as_dict(self) -> dict[str, Any]:
        """The filters given, JSON-ready, for the manifest (nothing given: `{}`)."""
        values: dict[str, Any] = {
            "source": list(self.sources),
            "country": list(self.countries),
            "issue": list(self.issues),
            "type": list(self.types),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "search": self.search,
            "seen_since": (
                iso_utc(self.seen_since)
                if isinstance(self.seen_since, datetime)
                else None
                if self.seen_since is None
                else {"after_run": self.seen_since}
            ),
        }
        return {key: value for key, value in values.items() if value}

    def slug(self) -> str:
        """The filters as a file-name fragment (ASCII, no spaces); empty when none.

        >>> ExportFilters.parse(countries=["syria"], types=["Press Release"], until="2020",
        ...                     search="Aleppo siege", seen_since="12").slug()
        'country-syria_type-press-release_until-2020-12-31_search-aleppo-siege_new-after-run-12'
        """
        parts = [f"country-{'+'.join(self.countries)}"] if self.countries else []
        if self.issues:
            parts.append(f"issue-{'+'.join(self.issues)}")
        if self.types:
            parts.append("type-" + "+".join(_slugify(name) for name in self.types))
        if self.since:
            parts.append(f"since-{self.since.isoformat()}")
        if self.until:
            parts.append(f"until-{self.until.isoformat()}")
        if self.search:
            parts.append(f"search-{_slugify(self.search)[:40].strip('-')}")
        if isinstance(self.seen_since, datetime):
            parts.append(f"new-since-{self.seen_since.strftime('%Y%m%dT%H%M%SZ')}")
        elif self.seen_since is not None:
            parts.append(f"new-after-run-{self.seen_since}")
        return "_".join(parts)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"
