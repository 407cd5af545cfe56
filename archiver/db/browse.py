"""What the web view reads (`archiver web`): pages of releases, counts beside them, one release
with everything known about it, runs, monthly coverage and archived pages.

Every function takes a Connection (the caller owns the transaction: the web view reads each
page in one `archiver.db.releases.read_snapshot`) and WHERE clauses on `releases` built by
`filter_clauses` (the export's `where_clauses`, plus the full-text index when words are given),
so a list, its counts, its coverage chart and its download select the same releases.

Lists are paged by key, never by OFFSET: a page ends with a `Cursor` (the sort value and the id
of its last row) and the next page starts strictly after it, so reading page 500 costs what
page 1 costs, and a release stored while someone reads never shifts a row onto two pages.
Values only ever reach SQL as bound parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Row,
    String,
    and_,
    distinct,
    exists,
    false,
    func,
    or_,
    select,
    text,
    type_coerce,
)

from archiver.db.releases import ReleaseFilter, matching_facets, where_clauses
from archiver.db.search import match_clause, search_releases
from archiver.db.tables import (
    FACETS,
    RELEASES,
    RUNS,
    TEXT_VERSIONS,
    TEXTS,
    VERSIONS,
    WARC_PAGES,
)
from archiver.sites import decode_facet

#: The orders a release list can have: newest publication first (undated last), or newest
#: first seen by a crawl first. Both end with the id (descending), which makes them total.
SORTS: tuple[str, ...] = ("published", "first_seen")
#: Largest page a caller may ask for.
MAX_PAGE = 500


# -- filters -------------------------------------------------------------------------------------


def filter_clauses(
    connection: Connection,
    filters: ReleaseFilter,
    words: str | None = None,
    *,
    facets: Sequence[str] | None = None,
    correlated: bool = False,
) -> list[ColumnElement[bool]]:
    """WHERE clauses on `releases` for `filters` (as an export applies them) and, when given,
    the full-text `words`.

    `facets`: the archive's facet strings (`facet_strings`) when the caller already has them.
    A facet filter is `id IN (the releases seen under it)` by default, which lets the database
    start from the facet (best when it selects few releases); `correlated=True` makes it
    `EXISTS (...)` for each release instead, which costs one index probe per release tested
    (best when walking an order's index row by row: `release_page(..., walk=True)`).
    """
    wanted = filters.facet_values()
    if wanted and facets is None:
        facets = facet_strings(connection)
    clauses = where_clauses(filters, None if correlated else facets)
    if correlated and wanted:
        for key, values in wanted.items():
            matching = matching_facets(facets or (), key, values)
            clauses.append(
                exists()
                .where(FACETS.c.release_id == RELEASES.c.id, FACETS.c.facet.in_(matching))
                .correlate(RELEASES)
                if matching
                else false()
            )
    if words and words.strip():
        clauses.append(match_clause(connection, words))
    return clauses


def snapshot_token(connection: Connection) -> str:
    """What identifies the data this read transaction sees; run it first in the transaction.

    PostgreSQL: the transaction's snapshot (`pg_current_snapshot()`: two equal snapshots see the
    same committed rows). SQLite: `PRAGMA data_version`, which starts the read transaction and
    differs from the value this same connection returned before exactly when another
    connection committed in between (only comparable per connection: see
    `archiver.web.context.WebContext.snapshot`).
    """
    if connection.dialect.name == "postgresql":
        return str(connection.execute(text("SELECT pg_current_snapshot()::text")).scalar_one())
    return str(connection.exec_driver_sql("PRAGMA data_version").scalar_one())


# -- the release list ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page of releases ended: the sort value of its last row, and that row's id.

    `value` is the publication date (None for an undated release) for the `published` order,
    the first-seen time for `first_seen`.

    >>> Cursor(date(2017, 6, 16), 42).encode()
    '2017-06-16~42'
    >>> Cursor.parse("2017-06-16~42", "published"), Cursor.parse("~7", "published")
    (Cursor(value=datetime.date(2017, 6, 16), release_id=42), Cursor(value=None, release_id=7))
    >>> Cursor.parse(Cursor(datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=UTC), 3).encode(),
    ...              "first_seen").value.microsecond
    5
    >>> Cursor.parse("yesterday~1", "published")
    Traceback (most recent call last):
    ...
    ValueError: not a page cursor: 'yesterday~1'
    """

    value: date | datetime | None
    release_id: int

    def encode(self) -> str:
        """`<date or ISO time>~<id>`: what the next-page link carries."""
        return f"{self.value.isoformat() if self.value is not None else ''}~{self.release_id}"

    @classmethod
    def parse(cls, text: str, sort: str) -> Cursor:
        """The cursor `encode` wrote, for the list order `sort`; ValueError otherwise."""
        value, _, number = text.rpartition("~")
        try:
            release_id = int(number)
            if sort == "first_seen":
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    raise ValueError
                return cls(moment.astimezone(UTC), release_id)
            return cls(date.fromisoformat(value) if value else None, release_id)
        except ValueError:
            raise ValueError(f"not a page cursor: {text!r}") from None


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    """One line of the release list."""

    id: int
    source: str
    url: str
    title: str
    summary: str | None
    summary_truncated: bool
    published_on: date | None
    type: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    versions: int  # earlier listing values kept (edits)
    text_status: str | None  # enriched, failed, gone; None: the page was never tried


@dataclass(frozen=True, slots=True)
class ReleasePage:
    """One page of releases and where the next one starts (None: this was the last)."""

    rows: list[ReleaseRow]
    next_cursor: Cursor | None


def _after(column: Any, cursor: Cursor) -> ColumnElement[bool]:
    """Rows strictly after `cursor` in the descending order of (`column`, id).

    Written as a range on `column` plus a test, not as `column < v OR (column = v AND id < x)`:
    an OR is no range, and SQLite then reads the order's index from its start to the cursor
    on every page, so page 500 would cost 500 times page 1.
    """
    return and_(
        column <= cursor.value, or_(column < cursor.value, RELEASES.c.id < cursor.release_id)
    )


def _at_or_after(keys: list[Any], last: tuple[Any, ...]) -> ColumnElement[bool]:
    """Rows up to and including `last` in the descending order of `keys` ((column, id), or
    (id,)): a range on the first key, as `_after` writes its cursor."""
    if len(keys) == 1:
        return keys[0] >= last[0]
    column, release_id = keys
    return and_(column >= last[0], or_(column > last[0], release_id >= last[1]))


def walks_order(selected: int, archive: int, limit: int) -> bool:
    """Whether a page of `limit` among `selected` releases (of `archive` in all) is found
    faster by walking the order's index and testing each release on the way (about
    limit x archive / selected of them) than by collecting the selected releases and sorting
    them (all `selected` of them).

    >>> walks_order(33_000, 1_000_000, 50), walks_order(400, 1_000_000, 50)
    (True, False)
    """
    return selected > 0 and selected * selected >= limit * archive


def walk_budget(archive: int, limit: int) -> int:
    """How many releases a walk may test before it gives up (`release_page(budget=...)`), when
    nobody knows how many the clauses select: sqrt(limit x archive), where `walks_order` turns.

    A walk that fills its page within them found a selection large enough for walking to be
    the better way; one that does not was over a selection small enough for collecting it to be
    cheap. Either way the page costs at most about twice what the better way costs.

    >>> walk_budget(1_000_000, 50), walk_budget(10, 50)
    (7071, 51)
    """
    return max(limit + 1, math.isqrt(limit * archive))


def release_page(
    connection: Connection,
    clauses: Sequence[ColumnElement[bool]] = (),
    *,
    sort: str = "published",
    after: Cursor | None = None,
    limit: int = 50,
    walk: bool = False,
    budget: int | None = None,
    collect: Sequence[ColumnElement[bool]] | None = None,
) -> ReleasePage:
    """Up to `limit` releases in the order `sort`, starting after `after` (None: the first page).

    Walking `next_cursor` until it is None gives every selected release exactly once, in order.
    `walk=True` says the clauses select many releases (`walks_order`), so walking the order's
    index and testing each release is cheapest; facet filters should then be `correlated`.
    SQLite, which keeps no statistics, takes an equality on an indexed column for a rare value
    and would collect every selected release to sort them; each clause is wrapped in its
    `likely()` (a no-op that tells the planner the condition holds for most rows) instead.
    PostgreSQL's planner has statistics and needs no hint.

    `budget` (with `walk`, when nothing says how many releases the clauses select): the walk
    tests at most `budget` releases of the order's index (`walk_budget`), bounded by the key of
    the last of them, found first by an OFFSET over the index alone; when those did not fill the
    page, the selection is small and the page is read again by collecting and sorting it, with
    `collect` (the same selection as plain clauses: facets as `IN`; default `clauses`).

    Dated releases come first (newest first), then the undated ones (newest id first), each
    read by its own query, so both use the index on `published_on` on either database.
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r} (known: {', '.join(SORTS)})")
    limit = max(1, min(limit, MAX_PAGE))
    releases = RELEASES.c
    collecting = list(clauses if collect is None else collect)
    if not walk or not clauses:
        budget = None
    if walk and connection.dialect.name == "sqlite":
        clauses = [func.likely(clause, type_=Boolean) for clause in clauses]
    versions = (
        select(func.count(VERSIONS.c.id))
        .where(VERSIONS.c.release_id == releases.id)
        .scalar_subquery()
    )
    query = select(
        releases.id,
        releases.source,
        releases.url,
        releases.title,
        releases.summary,
        releases.summary_truncated,
        releases.published_on,
        releases.type,
        releases.first_seen_at,
        releases.last_seen_at,
        versions.label("versions"),
        TEXTS.c.status.label("text_status"),
    ).select_from(RELEASES.outerjoin(TEXTS, TEXTS.c.release_id == releases.id))

    def read(keys: list[Any], conditions: list[Any], count: int) -> list[Any]:
        """`count` selected releases of one part of the order (`keys`, descending, on the
        releases that meet `conditions`)."""
        order = [key.desc() for key in keys]

        def fetch(selecting: Sequence[Any], *bound: Any) -> list[Any]:
            part = query.where(*conditions, *bound, *selecting).order_by(*order).limit(count)
            return list(connection.execute(part))

        if budget is None:
            return fetch(clauses)
        edge = connection.execute(
            select(*keys).where(*conditions).order_by(*order).offset(budget - 1).limit(1)
        ).first()
        if edge is None:  # the part ends within the budget: walk all of it
            return fetch(clauses)
        found = fetch(clauses, _at_or_after(keys, tuple(edge)))
        return found if len(found) == count else fetch(collecting)

    found: list[Any] = []
    if sort == "first_seen":
        conditions = [] if after is None else [_after(releases.first_seen_at, after)]
        # one more says whether there is a next page
        found = read([releases.first_seen_at, releases.id], conditions, limit + 1)
    else:
        if after is None or after.value is not None:
            conditions = [releases.published_on.is_not(None)]
            if after is not None:
                conditions.append(_after(releases.published_on, after))
            found = read([releases.published_on, releases.id], conditions, limit + 1)
        if len(found) <= limit:  # the undated ones come last
            conditions = [releases.published_on.is_(None)]
            if after is not None and after.value is None:
                conditions.append(releases.id < after.release_id)
            found += read([releases.id], conditions, limit + 1 - len(found))
    rows = [
        ReleaseRow(
            id=row.id,
            source=row.source,
            url=row.url,
            title=row.title,
            summary=row.summary,
            summary_truncated=bool(row.summary_truncated),
            published_on=row.published_on,
            type=row.type,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            versions=int(row.versions or 0),
            text_status=row.text_status,
        )
        for row in found
    ]
    if len(rows) <= limit:
        return ReleasePage(rows, None)
    rows = rows[:limit]
    last = rows[-1]
    value = last.first_seen_at if sort == "first_seen" else last.published_on
    return ReleasePage(rows, Cursor(value, last.id))


def count_releases(connection: Connection, clauses: Sequence[ColumnElement[bool]] = ()) -> int:
    """How many releases `clauses` select."""
    # count(*), not count(id): without a WHERE, SQLite then counts a b-tree's cells (3 ms for
    # 1,000,000 releases instead of 40).
    query = select(func.count()).select_from(RELEASES).where(*clauses)
    return int(connection.execute(query).scalar_one() or 0)


def type_counts(
    connection: Connection, clauses: Sequence[ColumnElement[bool]] = ()
) -> list[tuple[str | None, int]]:
    """`(type, releases)` among the selected releases, most first (None: no type)."""
    releases = RELEASES.c
    if not clauses:  # the whole archive: a range count per type in its index
        found = [
            (kind, _count(connection, RELEASES, releases.type == kind))
            for kind in distinct_values(connection, releases.type)
        ]
        found.append((None, _count(connection, RELEASES, releases.type.is_(None))))
        found = [(kind, count) for kind, count in found if count]
        return sorted(found, key=lambda item: (-item[1], item[0] is None, item[0] or ""))
    count = func.count()
    rows = connection.execute(
        select(releases.type, count)
        .select_from(RELEASES)
        .where(*clauses)
        .group_by(releases.type)
        .order_by(count.desc(), releases.type)
    )
    return [(row[0], int(row[1])) for row in rows]


def distinct_values(connection: Connection, column: Any) -> list[Any]:
    """The distinct values (NULL aside) of an indexed `column`, in order, found by seeking
    from each to the next in its index: a probe per value instead of reading every row
    (`SELECT DISTINCT` reads them all: 30 ms for 444,000 facet rows)."""
    found: list[Any] = []
    value = connection.execute(select(func.min(column))).scalar()
    while value is not None:
        found.append(value)
        value = connection.execute(select(func.min(column)).where(column > value)).scalar()
    return found


def facet_strings(connection: Connection) -> list[str]:
    """Every facet string stored (`archiver.db.releases.stored_facets`, by index probes)."""
    return distinct_values(connection, FACETS.c.facet)


def _count(connection: Connection, table: Any, where: ColumnElement[bool]) -> int:
    return int(
        connection.execute(select(func.count()).select_from(table).where(where)).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class FacetCount:
    """A listing filter value (`country` `syria`) and how many selected releases were seen
    under it (alone or with other values: `country=iraq,syria` counts for both)."""

    key: str
    value: str
    releases: int


def facet_counts(
    connection: Connection, clauses: Sequence[ColumnElement[bool]] = ()
) -> list[FacetCount]:
    """Every filter value the selected releases were seen under, by key, then most first.

    Counted per facet string in SQL; a value named by several strings (`country=syria` and
    `country=iraq,syria`) is counted again with DISTINCT, so a release counts once per value.
    """
    facets = FACETS.c
    selected = select(RELEASES.c.id).where(*clauses) if clauses else None
    if selected is None:  # the whole archive: a range count per facet string in its index
        per_string = {
            facet: _count(connection, FACETS, facets.facet == facet)
            for facet in distinct_values(connection, facets.facet)
        }
    else:
        query = (
            select(facets.facet, func.count())
            .where(facets.release_id.in_(selected))
            .group_by(facets.facet)
        )
        per_string = {facet: int(count) for facet, count in connection.execute(query)}
    strings: dict[tuple[str, str], list[str]] = {}
    for facet in per_string:
        for key, values in decode_facet(facet).items():
            for value in values:
                strings.setdefault((key, value), []).append(facet)
    found = []
    for (key, value), named_by in strings.items():
        if len(named_by) == 1:
            count = per_string[named_by[0]]
        else:
            query = select(func.count(distinct(facets.release_id))).where(
                facets.facet.in_(named_by)
            )
            if selected is not None:
                query = query.where(facets.release_id.in_(selected))
            count = int(connection.execute(query).scalar_one())
        found.append(FacetCount(key, value, count))
    return sorted(found, key=lambda item: (item.key, -item.releases, item.value))


def snippets(
    connection: Connection,
    words: str,
    release_ids: Sequence[int],
    marks: tuple[str, str] = ("[", "]"),
) -> dict[int, str]:
    """`release id -> snippet` of where `words` matched, for the releases of one page
    (`archiver.db.search.search_releases`, restricted to those ids)."""
    if not release_ids or not words.strip():
        return {}
    hits = search_releases(
        connection,
        words,
        [RELEASES.c.id.in_(list(release_ids))],
        limit=len(release_ids),
        marks=marks,
    )
    return {hit.release_id: hit.snippet for hit in hits}


# -- coverage ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthCount:
    """Releases published in one month (`YYYY-MM`; None: undated) with one type."""

    month: str | None
    type: str | None
    releases: int


def monthly_counts(
    connection: Connection, clauses: Sequence[ColumnElement[bool]] = ()
) -> list[MonthCount]:
    """Selected releases per publication month and type, oldest month first (undated last).

    Only months that have releases come back; the caller fills the months in between.
    """
    releases = RELEASES.c
    # First per type and day, in the order of the index on (type, published_on), so the
    # database counts while it walks the index (no sort of every release), then per month.
    days = (
        select(
            releases.type.label("type"),
            releases.published_on.label("day"),
            func.count().label("releases"),
        )
        .select_from(RELEASES)
        .where(*clauses)
        .group_by(releases.type, releases.published_on)
        .subquery()
    )
    if connection.dialect.name == "postgresql":
        month = func.to_char(days.c.day, "YYYY-MM")
    else:  # SQLite keeps the date as YYYY-MM-DD text
        month = func.substr(type_coerce(days.c.day, String), 1, 7)
    month = month.label("month")
    rows = connection.execute(
        select(month, days.c.type, func.sum(days.c.releases))
        .group_by(month, days.c.type)
        .order_by(month.asc().nulls_last(), days.c.type)
    )
    return [MonthCount(row[0], row[1], int(row[2])) for row in rows]


# -- one release ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ReleaseDetail:
    """Everything the archive knows about one release.

    `release`: its `releases` row; `facets`: its `release_facets` rows (facet, first_seen_at,
    first_run_id) by facet; `versions`: earlier listing values, oldest first; `text`: its
    `release_texts` row (None: its page was never tried) and `text_versions` the page's earlier
    texts, oldest first; `listing_pages`: the `warc_pages` rows of the listing pages it was
    first and last seen on; `detail_pages`: every archived fetch of its own page, oldest first.
    """

    release: Row[Any]
    facets: list[Row[Any]] = field(default_factory=list)
    versions: list[Row[Any]] = field(default_factory=list)
    text: Row[Any] | None = None
    text_versions: list[Row[Any]] = field(default_factory=list)
    listing_pages: list[Row[Any]] = field(default_factory=list)
    detail_pages: list[Row[Any]] = field(default_factory=list)


def release_detail(connection: Connection, release_id: int) -> ReleaseDetail | None:
    """The release with id `release_id` and all that hangs off it, or None."""
    release = connection.execute(select(RELEASES).where(RELEASES.c.id == release_id)).first()
    if release is None:
        return None
    detail = ReleaseDetail(release)
    detail.facets = list(
        connection.execute(
            select(FACETS.c.facet, FACETS.c.first_seen_at, FACETS.c.first_run_id)
            .where(FACETS.c.release_id == release_id)
            .order_by(FACETS.c.facet)
        )
    )
    detail.versions = list(
        connection.execute(
            select(VERSIONS)
            .where(VERSIONS.c.release_id == release_id)
            .order_by(VERSIONS.c.seen_from, VERSIONS.c.id)
        )
    )
    detail.text = connection.execute(select(TEXTS).where(TEXTS.c.release_id == release_id)).first()
    detail.text_versions = list(
        connection.execute(
            select(TEXT_VERSIONS)
            .where(TEXT_VERSIONS.c.release_id == release_id)
            .order_by(TEXT_VERSIONS.c.id)
        )
    )
    records = [r for r in (release.first_warc_record, release.last_warc_record) if r]
    if records:
        detail.listing_pages = list(
            connection.execute(
                select(WARC_PAGES)
                .where(WARC_PAGES.c.record_id.in_(records))
                .order_by(WARC_PAGES.c.fetched_at, WARC_PAGES.c.id)
            )
        )
    detail.detail_pages = list(
        connection.execute(
            select(WARC_PAGES)
            .where(WARC_PAGES.c.kind == "detail", WARC_PAGES.c.release_id == release_id)
            .order_by(WARC_PAGES.c.fetched_at, WARC_PAGES.c.id)
        )
    )
    return detail


def archived_page(connection: Connection, record_id: str) -> Row[Any] | None:
    """The `warc_pages` row of the WARC response record `record_id` (`<urn:uuid:...>`)."""
    return connection.execute(select(WARC_PAGES).where(WARC_PAGES.c.record_id == record_id)).first()


def run_archived_pages(connection: Connection, run_id: int) -> list[Row[Any]]:
    """The listing pages a run archived, in page order (release pages are not listed)."""
    return list(
        connection.execute(
            select(WARC_PAGES)
            .where(WARC_PAGES.c.run_id == run_id, WARC_PAGES.c.kind == "listing")
            .order_by(WARC_PAGES.c.facet, WARC_PAGES.c.page, WARC_PAGES.c.fetched_at)
        )
    )


# -- runs ----------------------------------------------------------------------------------------

_RUN_COLUMNS = (
    RUNS.c.id,
    RUNS.c.spider,
    RUNS.c.arguments,
    RUNS.c.trigger,
    RUNS.c.status,
    RUNS.c.started_at,
    RUNS.c.finished_at,
    RUNS.c.pages,
    RUNS.c.pages_without_cards,
    RUNS.c.cards,
    RUNS.c.items_seen,
    RUNS.c.items_new,
    RUNS.c.items_updated,
    RUNS.c.items_unchanged,
    RUNS.c.items_invalid,
    RUNS.c.errors,
    RUNS.c.finish_reason,
    RUNS.c.missed_pages,
    RUNS.c.cards_per_page,
    RUNS.c.structure_share,
    RUNS.c.health,
    RUNS.c.node,  # the Scrapyd node a dispatcher sent the run to (docs/scale-out.md)
)


def run_page(
    connection: Connection, *, before: int | None = None, limit: int = 50
) -> tuple[list[Row[Any]], int | None]:
    """Up to `limit` runs, newest first, with ids below `before` (None: the newest), and the
    `before` of the next page (None: this was the last). Rows have the `crawl_runs` columns
    but `stats`, `pid`, `hostname` and `updated_at`."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(*_RUN_COLUMNS).order_by(RUNS.c.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(RUNS.c.id < before)
    rows = list(connection.execute(query))
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], rows[limit - 1].id


@dataclass(frozen=True, slots=True)
class RunPoint:
    """One run on the charts of the runs page."""

    id: int
    started_at: datetime
    status: str
    trigger: str
    cards_per_page: float | None
    items_new: int
    pages: int


def run_series(connection: Connection, *, limit: int = 200) -> list[RunPoint]:
    """The latest `limit` runs, oldest first, with what the charts plot."""
    runs = RUNS.c
    rows = connection.execute(
        select(
            runs.id,
            runs.started_at,
            runs.status,
            runs.trigger,
            runs.cards_per_page,
            runs.items_new,
            runs.pages,
        )
        .order_by(runs.id.desc())
        .limit(max(1, limit))
    )
    points = [
        RunPoint(
            row.id,
            row.started_at,
            row.status,
            row.trigger,
            None if row.cards_per_page is None else float(row.cards_per_page),
            int(row.items_new or 0),
            int(row.pages or 0),
        )
        for row in rows
    ]
    return points[::-1]
