"""The store layer: write batches of normalised releases into the archive, once each, with history.

For every release in a batch the store decides, against what the archive already holds:

- new URL (per source) → a new `releases` row;
- same `content_hash` → only `last_seen_at`, `last_run_id`, `last_page_url` and
  `last_warc_record` move;
- different `content_hash` (title, summary, type or date changed) → the old values go to a
  `release_versions` row and the release takes the new ones;
- and in every case the facet it was seen under is merged into `release_facets`.

An observation older than what the archive holds (`archiver reparse` of an old run) never
moves `last_seen_at` backwards nor replaces newer content: it only fills what was missing.

A release seen again in the same run (under another filter, or on a page that shifted while the
crawl paginated) counts once: `ReleaseStore` remembers what its run already counted.

Functions write in the caller's transaction. One batch should be one serialised write transaction
(`archiver.db.engine.write_transaction`): SQLite's write lock or the
PostgreSQL advisory lock makes "read what is there, then write" atomic across processes, so two
crawls writing at once neither duplicate rows nor miscount. The release write itself is the
dialect's `INSERT … ON CONFLICT (source, url) DO UPDATE`, whose SET only takes the new content
when the stored hash differs, so the statement stays correct even for a writer that does not
hold the lock. Unchanged releases (the bulk of every re-crawl) skip the upsert: under the lock
their ids are known, so a narrow `UPDATE … WHERE id = …` of the last-seen columns does.
Nothing here knows about Scrapy: it takes `ReleaseItem`s (or anything with their attributes)
and plain `QuarantinedItem`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Table,
    bindparam,
    case,
    func,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.sql.dml import Insert

from archiver.db.engine import dialect_insert
from archiver.db.models import UTCDateTime, utcnow
from archiver.db.tables import FACETS, INVALID, RELEASES, VERSIONS
from archiver.items import QuarantinedItem
from archiver.normalize.hashing import content_hash

#: Columns whose change makes a new version (plus the raw strings they were read from).
CONTENT_COLUMNS = (
    "title",
    "summary",
    "summary_truncated",
    "published_on",
    "date_raw",
    "type",
    "type_raw",
    "type_source",
    "content_hash",
)

# Keeps IN (...) lists well under every dialect's bound-parameter limit.
_IN_CHUNK = 900


class StorableRelease(Protocol):
    """What the store reads from an item (archiver.items.ReleaseItem has all of it)."""

    source: str
    url: str | None
    title: str | None
    summary: str | None
    summary_truncated: bool | None
    published_on: Any
    date_raw: str
    type: str | None
    type_raw: str
    type_source: str | None
    content_hash: str | None
    facet: str | None
    page_url: str
    fetched_at: datetime | None
    # Optional: the WARC-Record-ID of the archived page (read with getattr, default None).
    # warc_record: str | None


@dataclass(slots=True)
class StoreCounts:
    """What a batch (or a whole run) did to the archive."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0  # seen again in the same run: not counted again
    invalid: int = 0
    versions: int = 0  # version rows written (an edit seen in the same run still keeps history)
    facets_added: int = 0

    @property
    def seen(self) -> int:
        """Distinct releases seen (new + updated + unchanged)."""
        return self.new + self.updated + self.unchanged

    def __add__(self, other: StoreCounts) -> StoreCounts:
        return StoreCounts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def as_dict(self) -> dict[str, int]:
        """Plain counts, e.g. for `crawler.stats`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class _Pending:
    """One distinct release of a batch: the last item wins, facets and pages are merged."""

    item: StorableRelease
    first_page_url: str
    first_warc_record: str | None = None
    facets: set[str] = field(default_factory=set)


Key = tuple[str, str]


def _content_hash(item: StorableRelease) -> str:
    # The normalise pipeline sets it; computing it here keeps the store usable on its own.
    return item.content_hash or content_hash(item.title, item.summary, item.type, item.published_on)


def _aware(moment: datetime | None, default: datetime) -> datetime:
    if moment is None:
        return default
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _upsert_releases(insert: Callable[[Table], Insert], run_id: int | None) -> Any:
    # One `seen_at` parameter fills the three timestamps (and the run id both run columns): the
    # per-row bind processing is most of the store's cost on SQLite.
    seen_at = bindparam("seen_at", type_=UTCDateTime())
    stmt = insert(RELEASES).values(
        first_seen_at=seen_at,
        last_seen_at=seen_at,
        content_since=seen_at,
        first_run_id=literal(run_id, Integer()) if run_id is not None else null(),
        last_run_id=literal(run_id, Integer()) if run_id is not None else null(),
    )
    excluded = stmt.excluded  # type: ignore[attr-defined]
    # An older observation (reparse of an old run) neither rewinds `last_*` nor replaces content.
    newer = excluded.last_seen_at >= RELEASES.c.last_seen_at
    changed = (RELEASES.c.content_hash != excluded.content_hash) & newer
    content = {
        name: case((changed, excluded[name]), else_=RELEASES.c[name]) for name in CONTENT_COLUMNS
    }
    last = {
        name: case((newer, excluded[name]), else_=RELEASES.c[name])
        for name in ("last_seen_at", "last_run_id", "last_page_url")
    }
    return stmt.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=[RELEASES.c.source, RELEASES.c.url],
        set_={
            **content,
            "content_since": case(
                (changed, excluded.content_since), else_=RELEASES.c.content_since
            ),
            **last,
            "last_warc_record": case(
                (newer, func.coalesce(excluded.last_warc_record, RELEASES.c.last_warc_record)),
                else_=RELEASES.c.last_warc_record,
            ),
            "first_warc_record": func.coalesce(
                RELEASES.c.first_warc_record, excluded.first_warc_record
            ),
        },
    )


def _touch_releases(run_id: int | None) -> Any:
    """UPDATE of the "last seen" columns of unchanged releases, by id (4 values, not 20)."""
    seen_at = bindparam("b_seen_at", type_=UTCDateTime())
    return (
        update(RELEASES)
        .where(RELEASES.c.id == bindparam("b_id"), RELEASES.c.last_seen_at <= seen_at)
        .values(
            last_seen_at=seen_at,
            last_run_id=literal(run_id, Integer()) if run_id is not None else null(),
            last_page_url=bindparam("b_page_url"),
            last_warc_record=func.coalesce(
                bindparam("b_warc", type_=String()), RELEASES.c.last_warc_record
            ),
            first_warc_record=func.coalesce(
                RELEASES.c.first_warc_record, bindparam("b_first_warc", type_=String())
            ),
        )
    )


def _dedupe(items: Iterable[StorableRelease]) -> dict[Key, _Pending]:
    pending: dict[Key, _Pending] = {}
    for item in items:
        if not item.url:
            raise ValueError(f"release without a url reached the store: {item!r}")
        key = (item.source, item.url)
        entry = pending.get(key)
        if entry is None:
            entry = pending[key] = _Pending(
                item=item,
                first_page_url=item.page_url,
                first_warc_record=getattr(item, "warc_record", None),
            )
        else:
            entry.item = item
        if item.facet:
            entry.facets.add(item.facet)
    return pending


def _existing(connection: Connection, keys: Iterable[Key]) -> dict[Key, Any]:
    """id, content_hash and last_seen_at of the releases already stored, by key.

    Only what classification needs: the full old values are read for edited releases alone
    (`_old_content`), which keeps the common unchanged case cheap.
    """
    by_source: dict[str, list[str]] = {}
    for source, url in keys:
        by_source.setdefault(source, []).append(url)
    found: dict[Key, Any] = {}
    columns = [
        RELEASES.c.id,
        RELEASES.c.source,
        RELEASES.c.url,
        RELEASES.c.content_hash,
        RELEASES.c.last_seen_at,
    ]
    for source, urls in by_source.items():
        for chunk in _chunks(urls):
            rows = connection.execute(
                select(*columns).where(RELEASES.c.source == source, RELEASES.c.url.in_(chunk))
            )
            for row in rows:
                found[(row.source, row.url)] = row
    return found


def _old_content(connection: Connection, release_ids: Sequence[int]) -> dict[int, Any]:
    """The current values of edited releases, to keep as their version rows."""
    columns = [
        RELEASES.c.id,
        RELEASES.c.last_seen_at,
        RELEASES.c.content_since,
        *(RELEASES.c[name] for name in CONTENT_COLUMNS),
    ]
    found: dict[int, Any] = {}
    for chunk in _chunks(release_ids):
        for row in connection.execute(select(*columns).where(RELEASES.c.id.in_(chunk))):
            found[row.id] = row
    return found


def _existing_facets(connection: Connection, release_ids: Sequence[int]) -> set[tuple[int, str]]:
    known: set[tuple[int, str]] = set()
    for chunk in _chunks(release_ids):
        rows = connection.execute(
            select(FACETS.c.release_id, FACETS.c.facet).where(FACETS.c.release_id.in_(chunk))
        )
        known.update((row.release_id, row.facet) for row in rows)
    return known


@dataclass(slots=True)
class _Plan:
    """What one batch will write, decided against the archive's current rows."""

    new_rows: list[dict[str, Any]] = field(default_factory=list)  # releases not stored yet
    known_rows: list[dict[str, Any]] = field(default_factory=list)  # stored, content to compare
    touched_rows: list[dict[str, Any]] = field(default_factory=list)  # unchanged: last-seen only
    edited: list[int] = field(default_factory=list)  # ids whose old values become versions
    counts: StoreCounts = field(default_factory=StoreCounts)


def _release_row(entry: _Pending, content_hash: str, seen_at: datetime) -> dict[str, Any]:
    item = entry.item
    return {
        "source": item.source,
        "url": item.url,
        "title": item.title,
        "summary": item.summary,
        "summary_truncated": bool(item.summary_truncated),
        "published_on": item.published_on,
        "date_raw": item.date_raw,
        "type": item.type,
        "type_raw": item.type_raw,
        "type_source": item.type_source,
        "content_hash": content_hash,
        "seen_at": seen_at,
        "first_page_url": entry.first_page_url,
        "last_page_url": item.page_url,
        "first_warc_record": entry.first_warc_record,
        "last_warc_record": getattr(item, "warc_record", None),
    }


def _plan(
    pending: dict[Key, _Pending],
    existing: dict[Key, Any],
    already_seen: set[Key] | frozenset[Key],
    now: datetime,
) -> _Plan:
    """Sort a batch into new, edited and unchanged releases, and count them."""
    plan = _Plan()
    counts = plan.counts
    for key, entry in pending.items():
        item = entry.item
        seen_at = _aware(item.fetched_at, now)
        content_hash = _content_hash(item)
        old = existing.get(key)
        if old is not None and content_hash == old.content_hash and seen_at >= old.last_seen_at:
            # The common case on every re-crawl: only the "last seen" columns move.
            plan.touched_rows.append(
                {
                    "b_id": old.id,
                    "b_seen_at": seen_at,
                    "b_page_url": item.page_url,
                    "b_warc": getattr(item, "warc_record", None),
                    "b_first_warc": entry.first_warc_record,
                }
            )
        else:
            rows = plan.known_rows if old is not None else plan.new_rows
            rows.append(_release_row(entry, content_hash, seen_at))
        if old is not None and seen_at < old.last_seen_at:
            content_hash = old.content_hash  # older than the archive's values: not an edit
        if old is not None and old.content_hash != content_hash:
            plan.edited.append(old.id)
        if key in already_seen:
            counts.duplicate += 1
        elif old is None:
            counts.new += 1
        elif old.content_hash != content_hash:
            counts.updated += 1
        else:
            counts.unchanged += 1
    return plan


def _write_versions(
    connection: Connection, edited: Sequence[int], run_id: int | None, now: datetime
) -> int:
    """Keep the current values of edited releases as version rows (before they are replaced)."""
    if not edited:
        return 0
    old_values = _old_content(connection, edited)
    version_rows = [
        {
            "release_id": release_id,
            **{name: getattr(old_values[release_id], name) for name in CONTENT_COLUMNS},
            "seen_from": old_values[release_id].content_since,
            "seen_until": old_values[release_id].last_seen_at,
            "replaced_at": now,
            "replaced_run_id": run_id,
        }
        for release_id in edited
    ]
    connection.execute(dialect_insert(connection)(VERSIONS), version_rows)
    return len(version_rows)


def _write_rows(
    connection: Connection, plan: _Plan, existing: dict[Key, Any], run_id: int | None
) -> dict[Key, int]:
    """Upsert new and changed releases, touch unchanged ones; returns every release's id."""
    upsert = _upsert_releases(dialect_insert(connection), run_id)
    ids = {key: row.id for key, row in existing.items()}
    if plan.known_rows:
        # Ids are known: a plain executemany, no RETURNING to read back.
        connection.execute(upsert, plan.known_rows)
    if plan.touched_rows:
        connection.execute(_touch_releases(run_id), plan.touched_rows)
    if plan.new_rows:
        # With RETURNING, SQLAlchemy sends the rows as multi-row INSERTs ("insertmanyvalues").
        # Kept even when no facet needs the ids: on SQLite a statement per row (each opening a
        # savepoint on the search index) made a whole crawl cost more, not less.
        written = connection.execute(
            upsert.returning(RELEASES.c.id, RELEASES.c.source, RELEASES.c.url), plan.new_rows
        ).all()
        ids.update(((row.source, row.url), row.id) for row in written)
    return ids


def _write_facets(
    connection: Connection,
    pending: dict[Key, _Pending],
    ids: dict[Key, int],
    known_ids: Sequence[int],
    run_id: int | None,
    now: datetime,
) -> int:
    """Add the facets releases were seen under that the archive did not know; returns how many."""
    known_facets = _existing_facets(connection, known_ids)
    facet_rows = [
        {"release_id": ids[key], "facet": facet, "first_seen_at": now, "first_run_id": run_id}
        for key, entry in pending.items()
        for facet in sorted(entry.facets)
        if (ids[key], facet) not in known_facets
    ]
    if not facet_rows:
        return 0
    added = connection.execute(
        dialect_insert(connection)(FACETS)
        .on_conflict_do_nothing(  # type: ignore[attr-defined]
            index_elements=[FACETS.c.release_id, FACETS.c.facet]
        )
        .returning(FACETS.c.release_id),
        facet_rows,
    ).all()
    return len(added)


def write_releases(
    connection: Connection,
    items: Iterable[StorableRelease],
    *,
    run_id: int | None,
    already_seen: set[Key] | frozenset[Key] = frozenset(),
    now: datetime | None = None,
) -> tuple[StoreCounts, set[Key]]:
    """Write `items` in the current transaction; returns the counts and the keys written.

    `already_seen` holds the (source, url) keys this run has counted in earlier batches; they
    are written again (last_seen, facets, an edit's history) but counted as `duplicate`. Call it
    inside `write_transaction` so that the read-then-write is not raced by another writer.
    """
    now = _aware(now, utcnow()) if now else utcnow()
    pending = _dedupe(items)
    if not pending:
        return StoreCounts(), set()
    existing = _existing(connection, pending)
    plan = _plan(pending, existing, already_seen, now)
    # Versions first: the upsert overwrites the values they keep.
    plan.counts.versions = _write_versions(connection, plan.edited, run_id, now)
    ids = _write_rows(connection, plan, existing, run_id)
    known_ids = [old.id for old in existing.values()]
    plan.counts.facets_added = _write_facets(connection, pending, ids, known_ids, run_id, now)
    return plan.counts, set(pending)


def write_invalid(
    connection: Connection,
    items: Iterable[QuarantinedItem],
    *,
    run_id: int | None,
    now: datetime | None = None,
) -> int:
    """Keep refused cards in `invalid_items`, one row per card however often it is refused:
    a card refused again moves its last seen time and run, and its count goes up by one.
    Returns how many cards were written. Call once per card and run (`ReleaseStore` does)."""
    now = now or utcnow()
    rows = [
        {
            "identity": item.identity(),
            "run_id": run_id,
            "last_run_id": run_id,
            "source": item.source,
            "url": item.url,
            "reasons": list(item.reasons),
            "raw": item.raw,
            "page_url": item.page_url,
            "first_seen_at": now,
            "last_seen_at": now,
            "times_seen": 1,
        }
        for item in items
    ]
    if not rows:
        return 0
    stmt = dialect_insert(connection)(INVALID)
    excluded = stmt.excluded  # type: ignore[attr-defined]
    connection.execute(
        stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=[INVALID.c.identity],
            set_={
                "last_run_id": excluded.last_run_id,
                "last_seen_at": excluded.last_seen_at,
                "times_seen": INVALID.c.times_seen + 1,
                "reasons": excluded.reasons,
                "raw": excluded.raw,
                "page_url": excluded.page_url,
            },
        ),
        rows,
    )
    return len(rows)


@dataclass(slots=True)
class Batch:
    """What one batch wrote: its counts, and the releases and refusals it counted."""

    counts: StoreCounts
    keys: set[Key]
    refusals: set[str]


class ReleaseStore:
    """One run's batches: remembers what the run already counted (an item seen twice in one
    run counts once) and keeps the run's running totals.

    `write_batch` writes in the caller's transaction; `commit` takes the batch into the totals
    once that transaction committed (a batch that failed must be counted when it is retried).
    Not thread-safe: one store per run, used from one thread.
    """

    def __init__(self, run_id: int | None = None) -> None:
        self.run_id = run_id
        self.totals = StoreCounts()
        self._seen: set[Key] = set()
        self._seen_invalid: set[str] = set()

    def write_batch(
        self,
        connection: Connection,
        items: Iterable[StorableRelease],
        invalid: Iterable[QuarantinedItem] = (),
        *,
        now: datetime | None = None,
    ) -> Batch:
        """Write one batch in the caller's transaction; returns what it did."""
        now = now or utcnow()
        fresh_invalid: dict[str, QuarantinedItem] = {}
        for refused in invalid:
            identity = refused.identity()
            if identity not in self._seen_invalid:
                fresh_invalid.setdefault(identity, refused)
        counts, keys = write_releases(
            connection, items, run_id=self.run_id, already_seen=self._seen, now=now
        )
        counts.invalid = write_invalid(
            connection, fresh_invalid.values(), run_id=self.run_id, now=now
        )
        return Batch(counts, keys, set(fresh_invalid))

    def commit(self, batch: Batch) -> StoreCounts:
        """Count a batch whose transaction committed; returns the run's new totals."""
        self._seen |= batch.keys
        self._seen_invalid |= batch.refusals
        self.totals = self.totals + batch.counts
        return self.totals
