"""Incremental crawls: stop paginating once listing pages hold nothing new or edited.

New releases appear on page 1 and push older ones down, so a scheduled run only needs to read
pages until one (`ARCHIVER_INCREMENTAL_PAGES`, default 1, consecutive) whose every valid item is
already stored with the same content hash. A page with one new or edited item lets the crawl go
on, so items pushed onto the next page are never missed and an edit on page 1 is stored.

`IncrementalStopMiddleware` is a spider middleware in the manner of Scrapy's DepthMiddleware: it
watches the spider's output and drops the next-page request (marked `archiver_next_page` in its
meta) after enough unchanged pages, so the spider only routes and never asks the database. It
judges a page with the same pure normalisers and validation as the pipelines
(`archiver.normalize.release_fingerprints`, which normalises each item once for both) against
`url -> content_hash` of the releases stored under the crawl's facet, loaded once per run.
A page answered 304 (conditional requests) counts as unchanged.

`ARCHIVER_INCREMENTAL` (or the spider argument `incremental`): `off` (every page, as
`archiver crawl --full`), `on`, or `auto` (default): on when the archive holds items for that
source and facet *and* the listing's coverage (archiver.coverage) says a run read it to its end
and no later run left a gap, so the pages an incremental run never reads were read by a complete
one. A listing with a gap is read to its end whatever the mode; a crawl writing a feed file
(`-o`) reads every page unless `incremental=on` was given.

What it cannot see: an edit to a release deep in the listing (below the first unchanged page).
Run a `--full` crawl now and then (e.g. weekly) to catch those.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from archiver.coverage import Coverage, incremental_blocked
from archiver.crawler.database import ArchiveDatabase
from archiver.crawler.ledger import CrawlLedger
from archiver.crawler.run_record import RunRecord
from archiver.db.pages import known_releases
from archiver.items import NEXT_PAGE_META, PAGE_META
from archiver.normalize import release_fingerprints
from archiver.settings_catalog import BY_NAME, check_choice, setting

logger = logging.getLogger(__name__)

# Where the items of a page wait for its next-page request (they live as long as the response).
_ITEMS_META = "archiver_page_items"


class IncrementalStopMiddleware(BaseSpiderMiddleware):
    """Drops the next-page request after enough unchanged pages (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.pages = max(1, setting(crawler.settings, "ARCHIVER_INCREMENTAL_PAGES"))
        self.known: dict[str, str] = {}
        self.streak = 0
        self._active: bool | None = None

    # -- the decision, once per crawl ----------------------------------------------------------

    def mode(self) -> str:
        """`auto`, `on` or `off`: the spider's `incremental` argument, else the setting."""
        spider = self.crawler.spider
        argument = getattr(spider, "incremental", None) if spider is not None else None
        if argument is not None:
            return check_choice(BY_NAME["ARCHIVER_INCREMENTAL"], argument)
        return setting(self.crawler.settings, "ARCHIVER_INCREMENTAL")

    def active_for(self, page: dict[str, Any]) -> bool:
        """Whether this crawl stops at unchanged pages (decided on the first listing page)."""
        if self._active is None:
            self._active, reason = self._decide(page.get("source"), page.get("facet"))
            stats = self.crawler.stats
            assert stats is not None
            stats.set_value("archiver/incremental", "on" if self._active else "off")
            stats.set_value("archiver/incremental/reason", reason)
            logger.info("Incremental mode %s: %s", "on" if self._active else "off", reason)
        return self._active

    @property
    def active(self) -> bool:
        """Whether the decision was made and is "incremental" (False before the first page)."""
        return bool(self._active)

    def _decide(self, source: str | None, facet: str | None) -> tuple[bool, str]:
        mode = self.mode()
        if mode == "off":
            return False, "full crawl asked for (ARCHIVER_INCREMENTAL=off / --full)"
        if mode == "auto" and self.crawler.settings.getdict("FEEDS"):
            return False, "a feed file is written: it gets every page (-a incremental=on to stop)"
        database = self.crawler.get_extension(ArchiveDatabase)
        record = self.crawler.get_extension(RunRecord)
        if database is None or record is None or source is None:
            return False, "no database (the store is off)"
        coverage = record.coverage_before or Coverage()
        blocked = incremental_blocked(coverage)
        if coverage.has_gap or (mode == "auto" and blocked):
            # A gap is read to the end even when incremental mode was asked for: the archive
            # must hold what the site published.
            return False, blocked or ""
        with database.engine.connect() as connection:
            self.known = known_releases(connection, source, facet)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("archiver/incremental/known_items", len(self.known))
        what = facet or "the unfiltered listing"
        if mode == "on":
            return True, f"asked for; {len(self.known)} items known under {what}"
        if not self.known:
            return False, f"no item stored yet under {what}"
        return True, f"{len(self.known)} items known under {what}"

    # -- watching the spider's output ----------------------------------------------------------

    def get_processed_item(self, item: Any, response: Response | None) -> Any:
        if response is not None and PAGE_META in response.meta:
            response.meta.setdefault(_ITEMS_META, []).append(item)
        return item

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        if response is None or not request.meta.get(NEXT_PAGE_META):
            return request
        page = response.meta.get(PAGE_META) or {}
        items = response.meta.pop(_ITEMS_META, [])
        if not self.active_for(page) or not self._unchanged(response, items):
            self.streak = 0
            return request
        self.streak += 1
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("archiver/incremental/unchanged_pages")
        if self.streak < self.pages:
            return request
        ledger = self.crawler.get_extension(CrawlLedger)
        if ledger is not None:
            ledger.stopped_early("incremental")
        logger.info(
            "%s: nothing new or edited on the last %d page(s): stopping here (incremental;"
            " use --full or -s ARCHIVER_INCREMENTAL=off for a complete crawl)",
            response.url,
            self.streak,
        )
        return None

    def _unchanged(self, response: Response, items: list[Any]) -> bool:
        """Whether every valid item of the page is stored with the same content (and there is
        one); a page answered 304 did not change."""
        if response.status == 304:
            return True
        fingerprints = release_fingerprints(items, datetime.now(UTC).date())
        return bool(fingerprints) and all(self.known.get(url) == h for url, h in fingerprints)
