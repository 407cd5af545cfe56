"""Parse archived listing pages again, without the network: `archiver reparse --run ID`.

When the site's markup changes, a run fails with "no items parsed" but its pages are in the WARC
archive (archiver.warc). Once the extractor is fixed, `reparse` runs the *current* extractors and
the *same* item pipelines (normalise, validate, store) over those archived pages, so the items
the blind run missed are stored as if that run had read them: `fetched_at` is the page's WARC-Date
(validation and `first_seen_at` use it), provenance points at the archived record, and the store
never lets an old page overwrite newer values.

It is a small Scrapy crawl whose spider (`ReparseSpider`) yields items from `start()` and never
makes a request; it runs in its own process like every crawl (`run_reparse` → archiver.crawl),
with trigger `reparse` on its `crawl_runs` row. Pages are chosen through the `warc_pages` index:
by the run that fetched them (`run`) or by fetch time (`since`, a date or ISO time, UTC).

`ARCHIVER_EXTRACT_LAYOUTS` (import path of a tuple of `archiver.extract.Layout`) parses with
other layouts than the shipped ones: a candidate selector can be tried on archived pages first.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy.utils.misc import load_object
from sqlalchemy import Engine, select

from archiver.config import data_dir as resolve_data_dir
from archiver.crawl import LOCAL_SITE_SETTINGS, CrawlResult, run_crawl
from archiver.db.models import WarcPage
from archiver.extract import LAYOUTS, Layout, extract_listing
from archiver.items import ReleaseItem
from archiver.listing import ArgumentError
from archiver.warc import read_record

SPIDER_NAME = "reparse"

#: What a reparse run needs: this module's spider, no robots.txt, nothing written to WARC.
REPARSE_SETTINGS: dict[str, Any] = {
    **LOCAL_SITE_SETTINGS,
    "SPIDER_MODULES": ["archiver.reparse"],
    "ROBOTSTXT_OBEY": False,
    "ARCHIVER_TRIGGER": "reparse",
    "ARCHIVER_WARC_ENABLED": False,
    "ARCHIVER_CONDITIONAL_REQUESTS": False,
}


def parse_since(value: str) -> datetime:
    """A `since` argument: `2026-11-29` (midnight UTC) or an ISO time (UTC when naive).

    >>> parse_since("2026-11-29")
    datetime.datetime(2026, 11, 29, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_since("yesterday")
    Traceback (most recent call last):
    ...
    archiver.listing.ArgumentError: since must be a date (2026-11-29) or ISO time, not 'yesterday'
    """
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(value.strip()), datetime.min.time())
        except ValueError:
            raise ArgumentError(
                f"since must be a date (2026-11-29) or ISO time, not {value!r}"
            ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_selection(run: object = None, since: object = None) -> tuple[int | None, datetime | None]:
    """The checked selection: exactly one of a run id and a start time."""
    if (run in (None, "")) == (since in (None, "")):
        raise ArgumentError("give either a run id (--run) or a start date (--since)")
    if run not in (None, ""):
        try:
            run_id = int(str(run))
        except ValueError:
            raise ArgumentError(f"run must be a run id, not {run!r}") from None
        return run_id, None
    return None, parse_since(str(since))


def archived_pages(
    engine: Engine, *, run_id: int | None = None, since: datetime | None = None
) -> list[WarcPage]:
    """The indexed pages of a run, or fetched since a time, in fetch order (detached rows)."""
    query = select(WarcPage).order_by(WarcPage.fetched_at, WarcPage.id)
    if run_id is not None:
        query = query.where(WarcPage.run_id == run_id)
    if since is not None:
        query = query.where(WarcPage.fetched_at >= since)
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session:
        pages = list(session.scalars(query))
        session.expunge_all()
    return pages


class ReparseSpider(scrapy.Spider):
    """Yields the items of archived listing pages; makes no request at all."""

    name = SPIDER_NAME

    def __init__(self, run: str | None = None, since: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id, self.since = check_selection(run, since)
        self.archiver_arguments = {"run": run} if run else {"since": since}

    @classmethod
    def check_arguments(cls, **kwargs: str) -> None:
        """Refuse a bad selection before the process starts (ArgumentError)."""
        unknown = sorted(set(kwargs) - {"run", "since"})
        if unknown:
            raise ArgumentError(f"unknown argument {unknown[0]!r} for reparse (known: run, since)")
        check_selection(kwargs.get("run"), kwargs.get("since"))

    def _layouts(self) -> tuple[Layout, ...]:
        path = self.settings.get("ARCHIVER_EXTRACT_LAYOUTS")
        return tuple(load_object(path)) if path else LAYOUTS

    async def start(self) -> AsyncIterator[Any]:
        """Every item of every selected archived page, page by page."""
        from archiver.db import make_engine, prepare
        from archiver.warc import store_database_url_or_none

        url = store_database_url_or_none(self.settings)
        if url is None:
            raise ArgumentError("reparse needs the archive database (the store is off)")
        prepare(url)
        engine = make_engine(url)
        try:
            pages = archived_pages(engine, run_id=self.run_id, since=self.since)
        finally:
            engine.dispose()
        stats = self.crawler.stats
        assert stats is not None
        what = f"run {self.run_id}" if self.run_id is not None else f"since {self.since}"
        self.logger.info("Reparsing %d archived page(s) of %s", len(pages), what)
        stats.set_value("archiver/reparse/pages_selected", len(pages))
        root = resolve_data_dir(self.settings.get("ARCHIVER_DATA_DIR"))
        layouts = self._layouts()
        for page in pages:
            if page.status != 200:
                stats.inc_value(f"archiver/reparse/skipped_status/{page.status}")
                continue
            path = Path(page.warc_file)
            archived = read_record(path if path.is_absolute() else root / path, page.offset)
            # The index keeps the fetch time to the microsecond (WARC 1.0 dates are seconds).
            for item in self._items(page, archived.body, page.fetched_at, layouts):
                yield item

    def _items(
        self, page: WarcPage, body: bytes, fetched_at: datetime, layouts: tuple[Layout, ...]
    ) -> list[ReleaseItem]:
        # The same counters as the site spiders, so health and the exit status read the same.
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("archiver/listing_pages")
        listing = extract_listing(body, page.url, layouts)
        if not listing.cards:
            stats.inc_value("archiver/pages_without_cards")
            self.logger.warning("%s (archived) still has no card any layout matches", page.url)
            return []
        stats.inc_value("archiver/cards", len(listing.cards))
        stats.inc_value(f"archiver/layout/{listing.layout}")
        items = []
        for card in listing.cards:
            item = ReleaseItem.from_card(
                card, source=page.source, facet=page.facet, fetched_at=fetched_at
            )
            item.warc_record = page.record_id
            items.append(item)
        return items


def run_reparse(
    *,
    run_id: int | None = None,
    since: str | None = None,
    db_url: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    timeout: float | None = None,
) -> CrawlResult:
    """Reparse a run's archived pages (or those fetched since a time) in a child process."""
    args = {"run": str(run_id)} if run_id is not None else {"since": str(since or "")}
    ReparseSpider.check_arguments(**args)
    return run_crawl(
        SPIDER_NAME,
        args,
        db_url=db_url,
        data_dir=data_dir,
        settings={**REPARSE_SETTINGS, **(settings or {})},
        on_progress=on_progress,
        timeout=timeout,
    )
