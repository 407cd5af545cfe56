"""What the archive holds, in totals a researcher asks for first: by type, by year, by facet.

Plain aggregate queries on the indexed columns, the same on SQLite and PostgreSQL; used by
`archiver stats` and tested without the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, Engine, distinct, extract, func, select

from archiver.db.models import CrawlRun, InvalidItem, Release, ReleaseFacet, ReleaseVersion
from archiver.sites import decode_facet


@dataclass(slots=True)
class ArchiveStats:
    """Totals of the archive (optionally of one source)."""

    releases: int = 0
    versions: int = 0  # earlier values kept for edited releases
    edited_releases: int = 0
    invalid_items: int = 0
    runs: int = 0
    first_published: date | None = None
    last_published: date | None = None
    by_source: list[tuple[str, int]] = field(default_factory=list)
    by_type: list[tuple[str | None, int]] = field(default_factory=list)
    by_year: list[tuple[int | None, int]] = field(default_factory=list)
    by_facet: list[tuple[str, int]] = field(default_factory=list)


def archive_stats(engine: Engine, *, source: str | None = None) -> ArchiveStats:
    """Count releases by source, type, publication year and facet (facets: most used first)."""
    only = [Release.source == source] if source else []
    year = extract("year", Release.published_on)
    with engine.connect() as connection:

        def scalar(query: object) -> int:
            return int(connection.execute(query).scalar_one() or 0)  # type: ignore[call-overload]

        stats = ArchiveStats()
        stats.releases = scalar(select(func.count(Release.id)).where(*only))
        stats.versions = scalar(select(func.count(ReleaseVersion.id)).join(Release).where(*only))
        stats.edited_releases = scalar(
            select(func.count(distinct(ReleaseVersion.release_id))).join(Release).where(*only)
        )
        invalid = select(func.count(InvalidItem.id))
        if source:
            invalid = invalid.where(InvalidItem.source == source)
        stats.invalid_items = scalar(invalid)
        stats.runs = scalar(select(func.count(CrawlRun.id)))
        first, last = connection.execute(
            select(func.min(Release.published_on), func.max(Release.published_on)).where(*only)
        ).one()
        stats.first_published, stats.last_published = first, last
        stats.by_source = [
            (row[0], row[1])
            for row in connection.execute(
                select(Release.source, func.count())
                .where(*only)
                .group_by(Release.source)
                .order_by(Release.source)
            )
        ]
        stats.by_type = [
            (row[0], row[1])
            for row in connection.execute(
                select(Release.type, func.count())
                .where(*only)
                .group_by(Release.type)
                .order_by(func.count().desc(), Release.type)
            )
        ]
        stats.by_year = [
            (None if row[0] is None else int(row[0]), row[1])
            for row in connection.execute(
                select(year, func.count()).where(*only).group_by(year).order_by(year.desc())
            )
        ]
        stats.by_facet = [
            (row[0], row[1])
            for row in connection.execute(
                select(ReleaseFacet.facet, func.count())
                .join(Release, Release.id == ReleaseFacet.release_id)
                .where(*only)
                .group_by(ReleaseFacet.facet)
                .order_by(func.count().desc(), ReleaseFacet.facet)
            )
        ]
    return stats


@dataclass(frozen=True, slots=True)
class FilterValue:
    """One value of a listing filter the archive has seen, and how many releases it holds."""

    key: str  # country, issue
    value: str  # syria
    releases: int


def filter_values(connection: Connection, *, source: str | None = None) -> list[FilterValue]:
    """Every filter value of the stored facets with its distinct releases, by key then count.

    A release seen under `country=russian-federation,ukraine` counts for both countries, once
    each, however many of its facets name them.
    """
    query = select(ReleaseFacet.release_id, ReleaseFacet.facet)
    if source:
        query = query.join(Release, Release.id == ReleaseFacet.release_id).where(
            Release.source == source
        )
    releases: dict[tuple[str, str], set[int]] = {}
    for release_id, facet in connection.execute(query):
        for key, values in decode_facet(facet).items():
            for value in values:
                releases.setdefault((key, value), set()).add(release_id)
    found = [FilterValue(key, value, len(ids)) for (key, value), ids in releases.items()]
    return sorted(found, key=lambda item: (item.key, -item.releases, item.value))
