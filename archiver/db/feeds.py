"""Releases for feeds and notifications: the newest first seen, with what a reader needs.

A feed shows what the archive learnt last, so its order is `first_seen_at` descending (not
`published_on`: a release published last year and found today is news to the reader). Releases
first seen at the same moment (one batch) follow the listing's own order as far as the archive
knows it: publication date descending, undated last, then URL bytes (`COLLATE "C"` on
PostgreSQL, as SQLite compares) and the row id, so both dialects give the same order.

Every function takes a Connection and leaves the transaction to the caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from archiver.db.tables import FACETS, RELEASES, TEXTS


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One release as a feed entry or a notification line shows it."""

    source: str
    url: str  # the canonical URL: the release's identity in the archive
    title: str
    summary: str | None
    type: str | None
    published_on: date | None
    first_seen_at: datetime
    #: When the listing's title/summary/type/date took their current values.
    content_since: datetime
    #: The release page's text (`archiver enrich`, `--details`), None when never read.
    body: str | None = None
    #: When that text was first read in its current version.
    text_since: datetime | None = None
    #: The stored facet strings it was seen under (`country=syria`), sorted.
    facets: tuple[str, ...] = ()

    @property
    def updated_at(self) -> datetime:
        """When what the entry shows last changed: the listing's values or the page's text."""
        if self.text_since is not None and self.text_since > self.content_since:
            return self.text_since
        return self.content_since


def feed_order(dialect: str) -> list[ColumnElement[Any]]:
    """ORDER BY of feeds: newest first seen first, then the listing's order (see above)."""
    releases = RELEASES.c
    url = releases.url.collate("C") if dialect == "postgresql" else releases.url
    return [
        releases.first_seen_at.desc(),
        releases.published_on.desc().nulls_last(),
        url,
        releases.id,
    ]


def feed_entries(
    connection: Connection, clauses: Sequence[ColumnElement[bool]], limit: int
) -> list[FeedEntry]:
    """The `limit` releases matching `clauses` (`archiver.db.releases.where_clauses`) that were
    first seen last, newest first, with their page text and facets."""
    releases, texts = RELEASES.c, TEXTS.c
    query = (
        select(
            releases.id,
            releases.source,
            releases.url,
            releases.title,
            releases.summary,
            releases.type,
            releases.published_on,
            releases.first_seen_at,
            releases.content_since,
            texts.body,
            texts.text_since,
        )
        .select_from(RELEASES.outerjoin(TEXTS, texts.release_id == releases.id))
        .where(*clauses)
        .order_by(*feed_order(connection.dialect.name))
        .limit(limit)
    )
    rows = connection.execute(query).all()
    facets = _facets_of(connection, [row.id for row in rows])
    return [
        FeedEntry(
            source=row.source,
            url=row.url,
            title=row.title,
            summary=row.summary,
            type=row.type,
            published_on=row.published_on,
            first_seen_at=row.first_seen_at,
            content_since=row.content_since,
            body=row.body,
            text_since=row.text_since,
            facets=facets.get(row.id, ()),
        )
        for row in rows
    ]


def new_in_run(connection: Connection, run_id: int, limit: int) -> tuple[list[FeedEntry], int]:
    """The releases crawl run `run_id` found first (at most `limit`, in feed order), and how
    many it found in all."""
    found = RELEASES.c.first_run_id == run_id
    total = connection.execute(select(func.count(RELEASES.c.id)).where(found)).scalar_one()
    return feed_entries(connection, [found], limit), int(total)


def _facets_of(connection: Connection, release_ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not release_ids:
        return {}
    found: dict[int, list[str]] = defaultdict(list)
    rows = connection.execute(
        select(FACETS.c.release_id, FACETS.c.facet).where(FACETS.c.release_id.in_(release_ids))
    )
    for release_id, facet in rows:
        found[release_id].append(facet)
    return {release_id: tuple(sorted(values)) for release_id, values in found.items()}
