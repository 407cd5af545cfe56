"""Release pages (`--details`, `archiver enrich`): which to fetch, asked once the listing is read.

`ReleasePages` waits until the spider has nothing left to do (`spider_idle`: every listing page
read), asks the store to write what it holds (`store_flush_requested`), then asks the archive
which release pages are due (`archiver.db.details.enrichment_targets`: new, edited on the
listing, never read, or failed last time) and schedules one request per release, built by the
spider (`release_page_request`: spiders route) with the stored ETag / Last-Modified added, so a
page read before answers 304 when it did not change. The requests go through the same
downloader as listing pages: robots.txt, delay, AutoThrottle, retries.

A crawl of a listing asks for the releases it saw (plus earlier failures); `archiver enrich` runs
the `enrich` spider, whose `archiver_enrich` attribute (facets, since, limit) selects among all
releases. Off unless `ARCHIVER_DETAILS` (set by `--details` and by the enrich spider); needs the
archive. Stats: `archiver/details/due`.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured

from archiver.crawler.database import ArchiveDatabase
from archiver.crawler.run_record import RunRecord
from archiver.db.details import Target, enrichment_targets
from archiver.db.releases import matching_facets, stored_facets
from archiver.items import DETAIL_META
from archiver.settings_catalog import setting
from archiver.signals import store_flush_requested
from archiver.sites import decode_facet

logger = logging.getLogger(__name__)


class ReleasePages:
    """Schedules the due release pages once the listing is read (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        # Found when the spider opens: extensions cannot see each other while they are built.
        self.database: ArchiveDatabase | None = None
        self._asked = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReleasePages:
        if not setting(crawler.settings, "ARCHIVER_DETAILS"):
            raise NotConfigured("ARCHIVER_DETAILS is off")
        if not setting(crawler.settings, "ARCHIVER_STORE_ENABLED"):
            logger.warning("Release pages (--details) need the archive: not fetching them")
            raise NotConfigured("release pages need the archive")
        component = cls(crawler)
        crawler.signals.connect(component.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(component.spider_idle, signal=signals.spider_idle)
        return component

    def spider_opened(self) -> None:
        self.database = self.crawler.get_extension(ArchiveDatabase)

    def spider_idle(self) -> None:
        """Once, when the listing is done: schedule the due release pages and keep going."""
        if self._asked or self.database is None:
            return
        self._asked = True
        spider = self.crawler.spider
        build = getattr(spider, "release_page_request", None)
        if build is None:
            logger.warning("Spider %s cannot fetch release pages", getattr(spider, "name", "?"))
            return
        self.crawler.signals.send_catch_log(signal=store_flush_requested)
        targets = self._targets(spider)
        self.stats.set_value("archiver/details/due", len(targets))
        logger.info("%d release page(s) due", len(targets))
        engine = self.crawler.engine
        assert engine is not None
        for target in targets:
            engine.crawl(self._request(build, target))
        if targets:
            raise DontCloseSpider

    def _targets(self, spider: Any) -> list[Target]:
        selection = getattr(spider, "archiver_enrich", None)
        assert self.database is not None
        with self.database.engine.connect() as connection:
            if selection is None:
                record = self.crawler.get_extension(RunRecord)
                run_id = record.run_id if record is not None else None
                if run_id is None:
                    return []
                return enrichment_targets(
                    connection, source=getattr(spider, "source", None), run_id=run_id
                )
            facets = None
            if selection.get("facets"):
                facets = _matching(stored_facets(connection), selection["facets"])
            return enrichment_targets(
                connection,
                source=selection.get("source"),
                facets=facets,
                since=selection.get("since"),
                limit=selection.get("limit"),
                refresh=bool(selection.get("refresh")),
            )

    def _request(self, build: Any, target: Target) -> Request:
        meta = {"release_id": target.release_id, "source": target.source, "url": target.url}
        request: Request = build(target.url, meta)
        request.meta[DETAIL_META] = meta
        if target.etag:
            request.headers.setdefault(b"If-None-Match", target.etag.encode("latin-1"))
        if target.last_modified:
            request.headers.setdefault(b"If-Modified-Since", target.last_modified.encode("latin-1"))
        return request


def _matching(stored: list[str], wanted: list[str]) -> list[str]:
    """Stored facet strings that name every filter of each wanted facet (`country=syria`
    matches `country=syria` and `country=iraq,syria`)."""
    found: set[str] = set()
    for facet in wanted:
        for key, values in decode_facet(facet).items():
            found.update(matching_facets(stored, key, values))
    return sorted(found)
