"""The archive's tables as typed SQLAlchemy 2.x mappings (Alembic migrations own the real schema).

One row per press release (`releases`), its earlier values (`release_versions`), the listing
filters it was seen under (`release_facets`), a record of every crawl (`crawl_runs`), what
validation refused (`invalid_items`), what each release's own page says (`release_texts`, with
its earlier texts in `release_text_versions`) and the scheduler's recurring jobs (`schedules`).

Every timestamp is a timezone-aware UTC `datetime`: SQLite has no time zone type, so `UTCDateTime`
stores naive UTC there and hands back aware values, which keeps comparisons and exports identical
on both dialects. `tests/test_db_migrations.py` runs `alembic check`, so a change here without a
migration fails the suite.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from archiver.outcome import RUN_STATUSES

#: Deterministic constraint names, so migrations can drop or alter them on every dialect
#: (SQLite batch mode needs names to recreate tables).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of datetime the archive stores)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime that is always timezone-aware UTC in Python, whatever the database keeps.

    Naive datetimes are refused rather than guessed: a local time silently stored as UTC would
    shift every `first_seen_at` by hours and nobody would notice.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the archive stores aware UTC datetimes")
        value = value.astimezone(UTC)
        # SQLite keeps text; storing naive UTC keeps the text sortable and comparable.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Any:
        # A batch of items carries few distinct timestamps (one per page, one per batch), and
        # converting each occurrence was a large share of the store's time on SQLite.
        convert = super().bind_processor(dialect)
        if convert is None:
            return None
        return functools.lru_cache(maxsize=4096)(convert)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base holding the one `MetaData` (with its naming convention)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class CrawlRun(Base):
    """One crawl: opened when the spider opens, closed with its counts when it closes.

    `pid`, `hostname` and the `updated_at` heartbeat let the next command tell a run that is still
    going from one whose process was killed (see `archiver.db.runs.mark_interrupted`).
    """

    __tablename__ = "crawl_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in RUN_STATUSES) + ")",
            name="status",
        ),
        Index(None, "status"),
        Index(None, "started_at"),
        Index(None, "job_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spider: Mapped[str] = mapped_column(String(100))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Schedule name, or "manual" for runs started by hand.
    trigger: Mapped[str] = mapped_column(String(100), default="manual", server_default="manual")
    status: Mapped[str] = mapped_column(String(20), default="running", server_default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Heartbeat: touched at every batch flush, so a stale running row is a dead run.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    pid: Mapped[int | None]
    hostname: Mapped[str | None] = mapped_column(String(255))
    pages: Mapped[int] = mapped_column(default=0, server_default="0")
    pages_without_cards: Mapped[int] = mapped_column(default=0, server_default="0")
    cards: Mapped[int] = mapped_column(default=0, server_default="0")
    items_seen: Mapped[int] = mapped_column(default=0, server_default="0")
    items_new: Mapped[int] = mapped_column(default=0, server_default="0")
    items_updated: Mapped[int] = mapped_column(default=0, server_default="0")
    items_unchanged: Mapped[int] = mapped_column(default=0, server_default="0")
    items_invalid: Mapped[int] = mapped_column(default=0, server_default="0")
    errors: Mapped[int] = mapped_column(default=0, server_default="0")
    # The outcome's message (archiver.outcome): "ok", "partial: ...", "no items parsed: ...".
    finish_reason: Mapped[str | None] = mapped_column(Text)
    # Listing pages the run was due to read and could not: [{"page", "url", "cause"}, ...].
    missed_pages: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON())
    # The crawler's final stats, JSON-safe, for post-mortems.
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    # Selector health (archiver.health): cards per 200 page, and comma-separated flags such as
    # "pages_without_cards,cards_drop" when the site's markup may have changed (NULL = healthy).
    cards_per_page: Mapped[float | None] = mapped_column(Float())
    # Fields found by structure / all fields found (archiver.extract); None before 0005.
    structure_share: Mapped[float | None] = mapped_column(Float())
    health: Mapped[str | None] = mapped_column(String(200))
    # Scale-out (docs/scale-out.md): the Scrapyd node (its URL, no credentials) and job a
    # dispatcher sent the run to; NULL for runs started on this machine.
    node: Mapped[str | None] = mapped_column(String(255))
    job_id: Mapped[str | None] = mapped_column(String(150))


class Release(Base):
    """One press release, identified by (`source`, canonical `url`), with its current values."""

    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("source", "url"),
        Index(None, "published_on"),
        Index(None, "type"),
        Index(None, "last_run_id"),
        # Browsing (archiver.db.browse, migration 0008): counts per type and day read from
        # the index alone, a type's releases newest first, the list sorted by first seen.
        Index("ix_releases_type_published_on", "type", "published_on"),
        Index(None, "first_seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    summary_truncated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    published_on: Mapped[date | None] = mapped_column(Date)
    date_raw: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(64))
    type_raw: Mapped[str | None] = mapped_column(Text)
    type_source: Mapped[str | None] = mapped_column(String(16))
    # SHA-256 of title/summary/type/date (from the normalise pipeline): "did it change?" in O(1).
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # When the current title/summary/type/date were first seen (= first_seen_at until an edit).
    content_since: Mapped[datetime]
    first_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )
    last_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )
    first_page_url: Mapped[str | None] = mapped_column(Text)
    last_page_url: Mapped[str | None] = mapped_column(Text)
    # WARC-Record-IDs of the archived listing pages (`warc_pages.record_id`) it was first and
    # last seen on: every value can be traced to the exact bytes it was read from.
    first_warc_record: Mapped[str | None] = mapped_column(String(100))
    last_warc_record: Mapped[str | None] = mapped_column(String(100))


class ReleaseVersion(Base):
    """Values a release had before an edit: written when title, summary, type or date change."""

    __tablename__ = "release_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    summary_truncated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    published_on: Mapped[date | None] = mapped_column(Date)
    date_raw: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(64))
    type_raw: Mapped[str | None] = mapped_column(Text)
    type_source: Mapped[str | None] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    # The span these values were observed in, and the run that saw them replaced.
    seen_from: Mapped[datetime]
    seen_until: Mapped[datetime]
    replaced_at: Mapped[datetime]
    replaced_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )


class ReleaseFacet(Base):
    """A listing filter (`country=syria`) a release was seen under; one row per pair."""

    __tablename__ = "release_facets"
    # (facet, release_id): the releases seen under a facet, from the index alone (0008).
    __table_args__ = (Index("ix_release_facets_facet_release_id", "facet", "release_id"),)

    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    facet: Mapped[str] = mapped_column(String(200), primary_key=True)
    first_seen_at: Mapped[datetime]
    first_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )


class InvalidItem(Base):
    """A card validation refused, once however often it is seen, with its reasons and raw values
    so nothing is lost (the quarantine: `archiver quarantine`)."""

    __tablename__ = "invalid_items"
    __table_args__ = (UniqueConstraint("identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # SHA-256 of what makes a refused card the same card (archiver.items.QuarantinedItem).
    identity: Mapped[str] = mapped_column(String(64))
    # The first run that refused it, and the latest.
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL"), index=True
    )
    last_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)  # the raw URL as on the card, if any
    reasons: Mapped[list[str]]
    raw: Mapped[dict[str, Any]]
    page_url: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    times_seen: Mapped[int] = mapped_column(default=1, server_default="1")


class WarcPage(Base):
    """One page fetched and kept in a WARC file (a listing page, or a release's own page with
    `--details`): where its bytes are (archiver.warcfile).

    `archiver reparse --run ID` reads a run's pages back through this index, so archived pages
    can be parsed again with fixed extractors without touching the network.
    """

    __tablename__ = "warc_pages"
    __table_args__ = (Index(None, "fetched_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(100), unique=True)  # the response record's
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(64))
    facet: Mapped[str | None] = mapped_column(String(200))
    page: Mapped[int | None]  # listing page number
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int]
    # Path of the .warc.gz file relative to the data folder, and the record's place in it.
    warc_file: Mapped[str] = mapped_column(Text)
    offset: Mapped[int] = mapped_column(BigInteger())
    length: Mapped[int] = mapped_column(BigInteger())
    payload_digest: Mapped[str | None] = mapped_column(String(100))
    fetched_at: Mapped[datetime]
    # "listing" or "detail" (a release's own page, then `release_id` says whose).
    kind: Mapped[str] = mapped_column(String(16), default="listing", server_default="listing")
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id", ondelete="SET NULL"))


class ReleaseText(Base):
    """What a release's own page says (`--details`, `archiver enrich`): one row per release.

    `status`: `enriched` (read), `failed` (the last try did not get the page: retried by the next
    run; `attempts` counts tries since the last success), `gone` (the page answered 404/410 on
    `gone_at`; the release is kept, never deleted). `listing_hash` is the release's
    `content_hash` when its page was last read: a different hash now means the listing card was
    edited since, so the page is read again. `provenance` says which extractor gave each field;
    `disagreements` lists what the page contradicts on the listing ("date", "title", "summary").
    """

    __tablename__ = "release_texts"
    __table_args__ = (
        CheckConstraint("status IN ('enriched', 'failed', 'gone')", name="status"),
        Index(None, "status"),
    )

    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    headline: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    # As the page states it (ISO 8601, with its offset) and as the day it falls on.
    published_raw: Mapped[str | None] = mapped_column(String(64))
    page_published_on: Mapped[date | None] = mapped_column(Date)
    modified_raw: Mapped[str | None] = mapped_column(String(64))
    author: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str] | None] = mapped_column(JSON())
    # [{"url": ..., "title": ...}, ...]
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON())
    canonical_url: Mapped[str | None] = mapped_column(Text)
    # Where the release's URL now redirects (its page moved), else NULL.
    moved_to: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    disagreements: Mapped[list[str] | None] = mapped_column(JSON())
    # SHA-256 of the page's fields that make a version (headline, body, dates).
    text_hash: Mapped[str | None] = mapped_column(String(64))
    listing_hash: Mapped[str | None] = mapped_column(String(64))
    first_enriched_at: Mapped[datetime | None]
    # When the current text was first read (= first_enriched_at until the page is edited).
    text_since: Mapped[datetime | None]
    checked_at: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    warc_record: Mapped[str | None] = mapped_column(String(100))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(100))
    http_status: Mapped[int | None]
    gone_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class ReleaseTextVersion(Base):
    """A release page's text before an edit: written when its headline, body or dates change."""

    __tablename__ = "release_text_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), index=True
    )
    headline: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    published_raw: Mapped[str | None] = mapped_column(String(64))
    modified_raw: Mapped[str | None] = mapped_column(String(64))
    text_hash: Mapped[str | None] = mapped_column(String(64))
    seen_from: Mapped[datetime | None]
    seen_until: Mapped[datetime]
    replaced_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )


class ListingValidator(Base):
    """The ETag / Last-Modified a listing URL last answered with (conditional requests)."""

    __tablename__ = "listing_validators"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(100))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListingCoverage(Base):
    """How completely the archive has read one listing (a source and a facet).

    `ever_complete`: a run read it from page 1 to its end without a gap. `gap_from_page`: a run
    missed this page (or stopped before the end); until a run reads from there to the end, crawls
    of the listing are not incremental. `open_run_id`: the run reading it now; one left behind by a
    run that died counts as a gap from page 1 (how far it got is not known).
    """

    __tablename__ = "listing_coverage"
    __table_args__ = (UniqueConstraint("source", "facet"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    facet: Mapped[str] = mapped_column(String(200))  # "" for the unfiltered listing
    ever_complete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    complete_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )
    gap_from_page: Mapped[int | None]
    gap_reason: Mapped[str | None] = mapped_column(Text)
    gap_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    open_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Schedule(Base):
    """A named recurring crawl for `archiver scheduler`: a cron expression or an interval."""

    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint("(cron IS NULL) <> (interval_seconds IS NULL)", name="cron_xor_interval"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    spider: Mapped[str] = mapped_column(String(100))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cron: Mapped[str | None] = mapped_column(String(100))
    interval_seconds: Mapped[int | None]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    jitter_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Scrapy settings for this schedule's runs (`-s DOWNLOAD_DELAY=2`), as strings.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # Ends a run that hangs; NULL = the service's `--max-runtime`.
    max_runtime_seconds: Mapped[int | None]
    # Written by the running service so `archiver schedule list` can show it.
    next_fire_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
