"""Listing pages as the archive knows them: the WARC index, validators, and the releases a
listing holds. Every function takes a Connection and leaves the transaction to the caller.

- `index_pages` / `archived_pages`: where each fetched listing page lies in the WARC files
  (`warc_pages`), written in batches by the crawl, read back by `archiver reparse`;
- `load_validators` / `save_validators`: each listing URL's ETag and Last-Modified, for
  conditional requests;
- `known_releases`: `url -> content_hash` of the releases stored under a facet, what an
  incremental crawl compares a page with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from archiver.db.models import WarcPage, utcnow
from archiver.db.tables import FACETS, RELEASES, VALIDATORS, WARC_PAGES

Validators = dict[str, tuple[str | None, str | None]]

# Keeps IN (...) lists well under every dialect's bound-parameter limit.
_IN_CHUNK = 500


def index_pages(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `warc_pages` rows (record id, run, source, facet, page, url, status, file, offset,
    length, payload digest, fetched_at)."""
    if rows:
        connection.execute(insert(WARC_PAGES), list(rows))


def archived_pages(
    connection: Connection, *, run_id: int | None = None, since: datetime | None = None
) -> list[WarcPage]:
    """The indexed pages of a run, or fetched since a time, in fetch order (detached rows)."""
    query = select(WarcPage).order_by(WarcPage.fetched_at, WarcPage.id)
    if run_id is not None:
        query = query.where(WarcPage.run_id == run_id)
    if since is not None:
        query = query.where(WarcPage.fetched_at >= since)
    with Session(connection, expire_on_commit=False) as session:
        pages = list(session.scalars(query))
        session.expunge_all()
    return pages


def load_validators(connection: Connection) -> Validators:
    """`url -> (etag, last_modified)` of every listing URL that answered with validators."""
    rows = connection.execute(
        select(VALIDATORS.c.url, VALIDATORS.c.etag, VALIDATORS.c.last_modified)
    )
    return {row.url: (row.etag, row.last_modified) for row in rows}


def save_validators(
    connection: Connection, validators: Validators, run_id: int | None, now: datetime | None = None
) -> int:
    """Replace the validators of these URLs; returns how many were saved."""
    now = now or utcnow()
    urls = list(validators)
    for start in range(0, len(urls), _IN_CHUNK):
        chunk = urls[start : start + _IN_CHUNK]
        connection.execute(delete(VALIDATORS).where(VALIDATORS.c.url.in_(chunk)))
    rows = [
        {"url": url, "etag": etag, "last_modified": modified, "run_id": run_id, "updated_at": now}
        for url, (etag, modified) in validators.items()
    ]
    if rows:
        connection.execute(insert(VALIDATORS), rows)
    return len(rows)


def known_releases(connection: Connection, source: str, facet: str | None) -> dict[str, str]:
    """`url -> content_hash` of the releases stored for `source` under `facet` (None: all)."""
    query = select(RELEASES.c.url, RELEASES.c.content_hash).where(RELEASES.c.source == source)
    if facet is not None:
        query = query.join(FACETS, FACETS.c.release_id == RELEASES.c.id).where(
            FACETS.c.facet == facet
        )
    return {row.url: row.content_hash for row in connection.execute(query)}
