"""Reading releases: filtered, in a stable order, streamed so memory stays flat (exports use it).

One row per release, facets aggregated per release by a correlated subquery (`group_concat` on
SQLite, `string_agg` on PostgreSQL, chosen by SQLAlchemy's `aggregate_strings`), so a million
releases never sit in memory together: the connection streams with `yield_per` (a server-side
cursor on PostgreSQL; SQLite steps its cursor lazily anyway).

The order is `published_on` descending with undated releases last, then `url` compared byte by
byte (`COLLATE "C"` on PostgreSQL, whose default collation would otherwise order differently
from SQLite), then the row id. The history query walks releases in exactly the same order, which
lets the JSON writers nest each release's versions by merging two streams instead of loading one.

Facet filters are decided in Python over the distinct facet strings (a few dozen): parsing
`country=a,b&issue=c` in SQL would need different string functions per dialect, and a `LIKE`
pattern could match across the `&` between two filters.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    String,
    false,
    func,
    or_,
    select,
    type_coerce,
)

from archiver.db.tables import FACETS, RELEASES, RUNS, TEXTS, VERSIONS
from archiver.sites import decode_facet


class ReleaseFilter(Protocol):
    """What selects releases (archiver.export.ExportFilters is one): values within one filter
    are ORed, filters are ANDed; facet filters by listing key (`country`, `issue`)."""

    sources: tuple[str, ...]
    types: tuple[str, ...]
    since: date | None
    until: date | None
    search: str | None
    seen_since: int | datetime | None

    def facet_values(self) -> dict[str, tuple[str, ...]]: ...


#: Rows fetched per round trip: large enough to amortise, small enough to keep memory flat.
YIELD_PER = 2_000


def matching_facets(stored: Iterable[str], key: str, wanted: Iterable[str]) -> list[str]:
    """The stored facet strings whose `key` filter names any of `wanted`.

    >>> matching_facets(["country=syria", "country=iraq,syria", "issue=syria"], "country",
    ...                 ["syria"])
    ['country=iraq,syria', 'country=syria']
    """
    wanted = set(wanted)
    return sorted(f for f in set(stored) if set(decode_facet(f).get(key, ())) & wanted)


def stored_facets(connection: Connection) -> list[str]:
    """Every distinct facet string in the archive (a few per crawled filter, never many)."""
    return list(connection.execute(select(FACETS.c.facet).distinct()).scalars())


def where_clauses(
    filters: ReleaseFilter, facets: Sequence[str] | None = None
) -> list[ColumnElement[bool]]:
    """WHERE conditions on `releases` for `filters`; `facets` is `stored_facets(...)`.

    Facet filters need the stored facet strings; without them (None) they are not applied.
    """
    releases = RELEASES.c
    clauses: list[ColumnElement[bool]] = []
    if filters.sources:
        clauses.append(releases.source.in_(filters.sources))
    if facets is not None:
        for key, values in filters.facet_values().items():
            matching = matching_facets(facets, key, values)
            if not matching:
                clauses.append(false())
                continue
            clauses.append(
                releases.id.in_(select(FACETS.c.release_id).where(FACETS.c.facet.in_(matching)))
            )
    if filters.types:
        clauses.append(releases.type.in_(filters.types))
    if filters.since:
        clauses.append(releases.published_on >= filters.since)
    if filters.until:
        clauses.append(releases.published_on <= filters.until)
    if filters.search:
        clauses.append(
            or_(
                releases.title.icontains(filters.search, autoescape=True),
                releases.summary.icontains(filters.search, autoescape=True),
            )
        )
    if isinstance(filters.seen_since, datetime):
        clauses.append(releases.first_seen_at >= filters.seen_since)
    elif filters.seen_since is not None:
        clauses.append(releases.first_run_id > filters.seen_since)
    return clauses


def release_order(dialect: str) -> list[ColumnElement[Any]]:
    """ORDER BY of every export: newest first, undated last, then URL bytes, then id."""
    releases = RELEASES.c
    url = releases.url.collate("C") if dialect == "postgresql" else releases.url
    return [releases.published_on.desc().nulls_last(), url, releases.id]


def iso_day(column: Any, dialect: str) -> ColumnElement[str]:
    """A date column as `YYYY-MM-DD` text, formatted by the database.

    SQLite stores exactly that text, so it is passed through untouched; turning it into a
    `date` and back in Python for every row would be most of an export's time.
    """
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return type_coerce(column, String)


def iso_moment(column: Any, dialect: str) -> ColumnElement[str]:
    """A UTC timestamp column as ISO 8601 text with `Z`, to the second, formatted by the database.

    SQLite keeps naive UTC text (see archiver.db.models.UTCDateTime); PostgreSQL keeps
    `timestamptz`, converted to UTC whatever the session's time zone.
    """
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return func.strftime("%Y-%m-%dT%H:%M:%SZ", type_coerce(column, String))


def releases_query(
    dialect: str, clauses: Sequence[ColumnElement[bool]], *, with_text: bool = False
) -> Select[Any]:
    """One row per release, export columns in order, then the row id (for nesting history).

    Dates and times arrive as text already in export format; `summary_truncated` as 0/1 or a
    bool; facets as one `;`-joined string in no particular order. `with_text` adds the
    columns of `text_columns` before the row id, from a LEFT OUTER JOIN on `release_texts`
    (NULLs for a release whose page was never tried); without it the query does not touch
    that table.
    """
    releases = RELEASES.c
    facets = (
        select(func.aggregate_strings(FACETS.c.facet, ";"))
        .where(FACETS.c.release_id == releases.id)
        .scalar_subquery()
    )
    columns: list[Any] = [
        releases.url,
        releases.title,
        iso_day(releases.published_on, dialect),
        releases.type,
        releases.type_raw,
        releases.summary,
        type_coerce(releases.summary_truncated, Integer),
        facets.label("facets"),
        iso_moment(releases.first_seen_at, dialect),
        iso_moment(releases.last_seen_at, dialect),
    ]
    if with_text:
        query = select(*columns, *text_columns(dialect), releases.id).select_from(
            RELEASES.outerjoin(TEXTS, TEXTS.c.release_id == releases.id)
        )
    else:
        query = select(*columns, releases.id)
    return query.where(*clauses).order_by(*release_order(dialect))


def text_columns(dialect: str) -> list[ColumnElement[Any]]:
    """What a release's own page says (`release_texts`), in `--with-text` export order.

    Headline, body, published and modified as the page states them, language, tags (a list),
    attachments (a list of {url, title}), canonical URL, moved-to URL, status, `gone_at` as
    export text, disagreements (a list) and provenance (an object): JSON columns arrive decoded.
    """
    texts = TEXTS.c
    return [
        texts.headline,
        texts.body,
        texts.published_raw,
        texts.modified_raw,
        texts.language,
        texts.tags,
        texts.attachments,
        texts.canonical_url,
        texts.moved_to,
        texts.status,
        iso_moment(texts.gone_at, dialect),
        texts.disagreements,
        texts.provenance,
    ]


def versions_query(dialect: str, clauses: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """Earlier values of the selected releases, in release order, then oldest first."""
    releases, versions = RELEASES.c, VERSIONS.c
    return (
        select(
            releases.url,
            versions.title,
            iso_day(versions.published_on, dialect),
            versions.type,
            versions.type_raw,
            versions.summary,
            type_coerce(versions.summary_truncated, Integer),
            iso_moment(versions.seen_from, dialect),
            iso_moment(versions.seen_until, dialect),
            iso_moment(versions.replaced_at, dialect),
            versions.release_id,
        )
        .join_from(VERSIONS, RELEASES, versions.release_id == releases.id)
        .where(*clauses)
        .order_by(*release_order(dialect), versions.seen_from, versions.id)
    )


def stream(
    connection: Connection, query: Select[Any], yield_per: int = YIELD_PER
) -> Iterator[Sequence[Any]]:
    """Rows of `query`, fetched `yield_per` at a time (flat memory on both dialects)."""
    result = connection.execution_options(yield_per=yield_per).execute(query)
    try:
        yield from result
    finally:
        result.close()


def snapshot_facts(
    connection: Connection, clauses: Sequence[ColumnElement[bool]]
) -> Mapping[str, Any]:
    """Counts the manifest and the progress bar need, read in the export's own transaction."""
    releases = RELEASES.c
    count, first, last = connection.execute(
        select(
            func.count(releases.id),
            func.min(releases.published_on),
            func.max(releases.published_on),
        ).where(*clauses)
    ).one()
    last_run = connection.execute(select(func.max(RUNS.c.id))).scalar()
    return {"rows": int(count), "first": first, "last": last, "last_run_id": last_run}


def run_exists(connection: Connection, run_id: int) -> bool:
    """Whether crawl run `run_id` is recorded (a typo'd `--seen-since` run id is an error)."""
    return connection.execute(select(RUNS.c.id).where(RUNS.c.id == run_id)).first() is not None


@contextlib.contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction: every query in it sees the same archive, even while crawls
    write (`REPEATABLE READ` on PostgreSQL, SQLite's WAL snapshot)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin():
            yield connection
