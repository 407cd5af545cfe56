"""What releases' own pages say: which pages to read, and writing what was read (`release_texts`).

A release's page is (re)read when it was never read, when the last try failed (a 5xx, a
timeout: retried by the next run, never given up on silently), or when its listing card changed
since the page was read (`listing_hash` is the card's `content_hash` at that time). A page read
again that answers 304 changed nothing; one whose headline, body or dates changed keeps the old
text as a `release_text_versions` row; one that answers 404/410 marks the release `gone` with the
date (its row and its text stay); one that redirects records where it went (`moved_to`) and
the canonical URL the new page gives, on the same release: never a second release.

The cross-checks (listing vs page: date, title, summary; archiver.normalize.crosscheck) are
decided here, where both sides are at hand, so a crawl and `archiver reparse` decide them alike.
Functions write in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, and_, or_, select

from archiver.db.engine import dialect_insert
from archiver.db.tables import FACETS, RELEASES, TEXT_VERSIONS, TEXTS
from archiver.normalize.crosscheck import cross_check

#: Failed tries after which a page is no longer retried by every crawl (`archiver enrich` still
#: tries it): a page that failed this often is broken on the site, and the row says so.
MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Target:
    """A release whose page should be read, with what a conditional request needs."""

    release_id: int
    source: str
    url: str
    etag: str | None
    last_modified: str | None


def enrichment_targets(
    connection: Connection,
    *,
    source: str | None = None,
    run_id: int | None = None,
    facets: Sequence[str] | None = None,
    since: date | None = None,
    limit: int | None = None,
    refresh: bool = False,
) -> list[Target]:
    """Releases whose page is due to be read, newest first.

    With `run_id` (a crawl with `--details`): those the run saw on the listing, plus those whose
    last try failed (fewer than MAX_ATTEMPTS times) wherever they are listed. Without it
    (`archiver enrich`): every release due, filtered by `facets` (stored facet strings),
    published `since`, at most `limit`. `refresh` takes every selected release that is not
    gone, due or not (`archiver enrich --refresh`: pages edited on the site without any change
    to their listing card; those read before are asked for conditionally, so unchanged ones
    answer 304).
    """
    releases, texts = RELEASES.c, TEXTS.c
    due = or_(
        texts.release_id.is_(None),
        texts.status == "failed",
        and_(
            texts.status == "enriched", texts.listing_hash.is_distinct_from(releases.content_hash)
        ),
    )
    query = (
        select(releases.id, releases.source, releases.url, texts.etag, texts.last_modified)
        .select_from(RELEASES.outerjoin(TEXTS, texts.release_id == releases.id))
        .where(or_(texts.status.is_(None), texts.status != "gone") if refresh else due)
    )
    if source is not None:
        query = query.where(releases.source == source)
    if run_id is not None:
        retry = and_(texts.status == "failed", texts.attempts < MAX_ATTEMPTS)
        query = query.where(or_(releases.last_run_id == run_id, retry))
    if facets is not None:
        query = query.where(
            releases.id.in_(select(FACETS.c.release_id).where(FACETS.c.facet.in_(list(facets))))
        )
    if since is not None:
        query = query.where(releases.published_on >= since)
    query = query.order_by(releases.published_on.desc().nulls_last(), releases.id)
    if limit is not None:
        query = query.limit(limit)
    return [
        Target(row.id, row.source, row.url, row.etag, row.last_modified)
        for row in connection.execute(query)
    ]


class PageFields(Protocol):
    """What the store reads from an extracted page (archiver.extract.detail.DetailPage)."""

    headline: str | None
    body: str | None
    published_at: str | None
    modified_at: str | None
    author: str | None
    contact: str | None
    tags: tuple[str, ...]
    attachments: tuple[Any, ...]
    canonical_url: str | None
    language: str | None
    provenance: dict[str, str]


class DetailResult(Protocol):
    """What one try at a release's page gave (archiver.items.DetailItem)."""

    release_id: int
    http_status: int | None
    final_url: str | None
    redirected: bool
    fetched_at: datetime
    page: PageFields | None
    error: str | None
    etag: str | None
    last_modified: str | None
    warc_record: str | None


@dataclass(slots=True)
class DetailCounts:
    """What a batch (or a run) of release pages did to the archive."""

    enriched: int = 0  # read for the first time
    changed: int = 0  # read again, the text changed (a version was kept)
    unchanged: int = 0  # read again, same text
    not_modified: int = 0  # 304
    gone: int = 0  # 404 / 410
    moved: int = 0  # redirected to another URL
    failed: int = 0  # no usable answer: retried by the next run
    disagreements: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: DetailCounts) -> DetailCounts:
        return DetailCounts(
            *(getattr(self, name) + getattr(other, name) for name in _COUNTS),
            disagreements=self.disagreements + other.disagreements,
        )

    def as_dict(self) -> dict[str, int]:
        """Flat counts for `crawler.stats`: `disagreements/date` and so on."""
        counts = {name: getattr(self, name) for name in _COUNTS}
        counts.update({f"disagreements/{k}": v for k, v in sorted(self.disagreements.items())})
        return counts


_COUNTS = ("enriched", "changed", "unchanged", "not_modified", "gone", "moved", "failed")


def text_hash(page: PageFields) -> str:
    """SHA-256 of what makes a new version of a page: headline, body and its dates."""
    payload = json.dumps(
        [page.headline, page.body, page.published_at, page.modified_at], ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def page_day(moment: str | None) -> date | None:
    """The day an ISO 8601 date or datetime falls on, as the page wrote it (its own offset).

    >>> page_day("2024-05-01T23:30:00-04:00"), page_day("2019-12-31"), page_day("May 1")
    (datetime.date(2024, 5, 1), datetime.date(2019, 12, 31), None)
    """
    if not moment:
        return None
    try:
        return date.fromisoformat(moment[:10])
    except ValueError:
        return None


def write_details(
    connection: Connection, results: Sequence[DetailResult], run_id: int | None
) -> DetailCounts:
    """Record what each try at a release's page gave (see the module docstring)."""
    counts = DetailCounts()
    for result in results:
        release = connection.execute(
            select(RELEASES).where(RELEASES.c.id == result.release_id)
        ).one_or_none()
        if release is None:  # deleted from the archive since the page was asked for
            continue
        stored = connection.execute(
            select(TEXTS).where(TEXTS.c.release_id == result.release_id)
        ).one_or_none()
        values = _values(result, release, stored, run_id, counts)
        _upsert(connection, values)
    return counts


def _values(
    result: DetailResult, release: Any, stored: Any, run_id: int | None, counts: DetailCounts
) -> dict[str, Any]:
    at = result.fetched_at
    base: dict[str, Any] = {
        "release_id": result.release_id,
        "checked_at": at,
        "run_id": run_id,
        "http_status": result.http_status,
    }
    if result.http_status in (404, 410):
        counts.gone += 1
        gone_at = stored.gone_at if stored is not None and stored.gone_at else at
        return base | {"status": "gone", "gone_at": gone_at, "attempts": 0, "last_error": None}
    if result.http_status == 304 and stored is not None and stored.status == "enriched":
        counts.not_modified += 1
        return base | {
            "status": "enriched",
            "listing_hash": release.content_hash,
            "attempts": 0,
            "last_error": None,
        }
    page = result.page
    if (
        stored is not None
        and stored.text_hash is not None
        and result.fetched_at < stored.checked_at
    ):
        # An older observation (`archiver reparse` of an earlier run) never replaces newer text.
        counts.unchanged += 1
        return {"release_id": result.release_id}
    if page is None or result.http_status != 200:
        counts.failed += 1
        attempts = (stored.attempts if stored is not None else 0) + 1
        error = result.error or f"HTTP {result.http_status}"
        status = stored.status if stored is not None and stored.status == "enriched" else "failed"
        return base | {"status": status, "attempts": attempts, "last_error": error[:500]}
    return base | _read_page(result, page, release, stored, counts)


def _read_page(
    result: DetailResult, page: PageFields, release: Any, stored: Any, counts: DetailCounts
) -> dict[str, Any]:
    at = result.fetched_at
    digest = text_hash(page)
    first_read = stored is None or stored.text_hash is None
    if first_read:
        counts.enriched += 1
    elif stored.text_hash == digest:
        counts.unchanged += 1
    else:
        counts.changed += 1
    if result.redirected:
        counts.moved += 1
    paragraphs = (page.body or "").split("\n\n")[:2]
    disagreements = cross_check(
        listing_title=release.title,
        listing_summary=release.summary,
        listing_truncated=bool(release.summary_truncated),
        listing_date=release.published_on,
        headline=page.headline,
        first_paragraphs=[p for p in paragraphs if p],
        page_date=page_day(page.published_at),
    )
    counts.disagreements.update(disagreements)
    since = at if first_read or stored.text_hash != digest else stored.text_since
    return {
        "status": "enriched",
        "headline": page.headline,
        "body": page.body,
        "published_raw": page.published_at,
        "page_published_on": page_day(page.published_at),
        "modified_raw": page.modified_at,
        "author": page.author,
        "contact": page.contact,
        "tags": list(page.tags),
        "attachments": [_attachment(a) for a in page.attachments],
        "canonical_url": page.canonical_url,
        "moved_to": (page.canonical_url or result.final_url) if result.redirected else None,
        "language": page.language,
        "provenance": dict(page.provenance),
        "disagreements": list(disagreements),
        "text_hash": digest,
        "listing_hash": release.content_hash,
        "first_enriched_at": at if first_read else stored.first_enriched_at,
        "text_since": since,
        "warc_record": result.warc_record,
        "etag": result.etag,
        "last_modified": result.last_modified,
        "gone_at": None,
        "attempts": 0,
        "last_error": None,
        "_previous": None if first_read or stored.text_hash == digest else stored,
    }


def _attachment(attachment: Any) -> dict[str, Any]:
    if isinstance(attachment, str):
        return {"url": attachment, "title": None}
    return {"url": attachment.url, "title": getattr(attachment, "title", None)}


def _upsert(connection: Connection, values: dict[str, Any]) -> None:
    if len(values) == 1:  # nothing to write
        return
    previous = values.pop("_previous", None)
    if previous is not None:
        connection.execute(
            TEXT_VERSIONS.insert().values(
                release_id=previous.release_id,
                headline=previous.headline,
                body=previous.body,
                published_raw=previous.published_raw,
                modified_raw=previous.modified_raw,
                text_hash=previous.text_hash,
                seen_from=previous.text_since,
                seen_until=values["checked_at"],
                replaced_run_id=values["run_id"],
            )
        )
    insert = dialect_insert(connection)(TEXTS).values(**values)
    updates = {name: insert.excluded[name] for name in values if name != "release_id"}
    connection.execute(insert.on_conflict_do_update(index_elements=["release_id"], set_=updates))


def text_of(connection: Connection, release_id: int) -> Any | None:
    """The `release_texts` row of a release (None: its page was never tried)."""
    return connection.execute(select(TEXTS).where(TEXTS.c.release_id == release_id)).one_or_none()


def text_versions(connection: Connection, release_id: int) -> list[Any]:
    """Earlier texts of a release's page, oldest first."""
    return list(
        connection.execute(
            select(TEXT_VERSIONS)
            .where(TEXT_VERSIONS.c.release_id == release_id)
            .order_by(TEXT_VERSIONS.c.id)
        )
    )
