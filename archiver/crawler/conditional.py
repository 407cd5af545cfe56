"""Conditional requests: a listing page that did not change answers 304 and costs nothing.

`ConditionalRequestsMiddleware` (downloader middleware) keeps each listing URL's ETag and
Last-Modified (`listing_validators`, through archiver.db.pages) and, on incremental runs only,
sends them back (`If-None-Match`, `If-Modified-Since`); the incremental stop counts a 304 as an
unchanged page. Validators are saved only when the crawl finished and every batch was stored: a
validator saved for a page whose items were then lost would hide those items behind 304s for
ever.

`ARCHIVER_CONDITIONAL_REQUESTS` (default on); needs the archive.
"""

from __future__ import annotations

import logging

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from archiver.crawler.database import ArchiveDatabase
from archiver.crawler.incremental import IncrementalStopMiddleware
from archiver.crawler.ledger import CrawlLedger
from archiver.crawler.run_record import RunRecord
from archiver.db import write_transaction
from archiver.db.pages import Validators, load_validators, save_validators
from archiver.items import PAGE_META
from archiver.settings_catalog import setting

logger = logging.getLogger(__name__)


class ConditionalRequestsMiddleware:
    """Sends stored validators on incremental listing requests; saves new ones at the end."""

    def __init__(self, crawler: Crawler, database: ArchiveDatabase) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.database = database
        self.validators: Validators | None = None
        self.pending: Validators = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestsMiddleware:
        if not setting(crawler.settings, "ARCHIVER_CONDITIONAL_REQUESTS"):
            raise NotConfigured("ARCHIVER_CONDITIONAL_REQUESTS is off")
        database = crawler.get_extension(ArchiveDatabase)
        if database is None:
            raise NotConfigured("conditional requests keep their validators in the archive")
        middleware = cls(crawler, database)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def _incremental(self, request: Request) -> bool:
        stop = self.crawler.get_spider_middleware(IncrementalStopMiddleware)
        return stop is not None and stop.active_for(request.meta[PAGE_META])

    def _load(self) -> Validators:
        if self.validators is None:
            with self.database.engine.connect() as connection:
                self.validators = load_validators(connection)
        return self.validators

    def process_request(self, request: Request) -> None:
        if PAGE_META not in request.meta or not self._incremental(request):
            return
        etag, last_modified = self._load().get(request.url, (None, None))
        if etag:
            request.headers.setdefault("If-None-Match", etag)
        if last_modified:
            request.headers.setdefault("If-Modified-Since", last_modified)
        if etag or last_modified:
            self.stats.inc_value("archiver/conditional/sent")

    def process_response(self, request: Request, response: Response) -> Response:
        if PAGE_META not in request.meta:
            return response
        if response.status == 304:
            self.stats.inc_value("archiver/conditional/not_modified")
        elif response.status == 200:
            etag = response.headers.get("ETag")
            last_modified = response.headers.get("Last-Modified")
            if etag or last_modified:
                self.pending[response.url] = (
                    etag.decode("latin-1") if etag else None,
                    last_modified.decode("latin-1") if last_modified else None,
                )
        return response

    def spider_closed(self, reason: str) -> None:
        """Save the validators seen, only if the crawl finished and stored every batch."""
        if not self.pending:
            return
        ledger = self.crawler.get_extension(CrawlLedger)
        if reason != "finished" or (ledger is not None and ledger.store_error):
            logger.info("The crawl did not finish cleanly: listing validators not saved")
            return
        record = self.crawler.get_extension(RunRecord)
        try:
            with write_transaction(self.database.engine) as connection:
                saved = save_validators(
                    connection, self.pending, record.run_id if record is not None else None
                )
            self.stats.set_value("archiver/conditional/saved", saved)
        except Exception:
            logger.exception("Could not save %d listing validators", len(self.pending))
