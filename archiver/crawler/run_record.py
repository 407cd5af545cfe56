"""The crawl's `crawl_runs` row: opened when the spider opens, closed with how the crawl ended.

Only this component writes the row's status: the outcome comes from the crawl ledger
(`archiver.outcome.decide`), the counts from the store as its batches commit. While the crawl
runs, the row's heartbeat (`updated_at`) is touched every minute, so a row whose host cannot be
probed is known dead once it goes stale. Needs the archive (off when the store is off).

Settings: `ARCHIVER_TRIGGER` (recorded as the run's trigger), `ARCHIVER_RUN_ARGUMENTS` (the
spider arguments to record; default: the spider's `archiver_arguments`), `ARCHIVER_NODE` (the
Scrapyd node a dispatcher sent the crawl to). A crawl Scrapyd runs also records its job id (the
`_job` argument Scrapyd gives every job): the dispatcher finds the run by it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import Connection
from twisted.internet import task

from archiver.config import mask_url, scrub_secrets
from archiver.coverage import Coverage, ListingRead, after_run
from archiver.crawler.database import ArchiveDatabase
from archiver.crawler.ledger import CrawlLedger
from archiver.db import write_transaction
from archiver.db.coverage import begin_reading, write_coverage
from archiver.db.runs import RunEnd, close_run, open_run, previous_health, record_progress
from archiver.db.store import StoreCounts
from archiver.jsonsafe import json_safe
from archiver.settings_catalog import setting

logger = logging.getLogger(__name__)

#: Seconds between heartbeats of a running row.
HEARTBEAT_INTERVAL = 60.0

# Spider attributes that are Scrapy's own, not crawl arguments.
_NOT_ARGUMENTS = frozenset({"name", "crawler", "settings", "custom_settings", "start_urls"})


def _listing(spider: Spider) -> tuple[str, str | None, int] | None:
    """(source, facet, start page) of the listing a spider reads (its `archiver_listing`)."""
    listing = getattr(spider, "archiver_listing", None)
    if not isinstance(listing, dict) or not listing.get("source"):
        return None
    return str(listing["source"]), listing.get("facet"), int(listing.get("start_page") or 1)


def run_arguments(spider: Spider, configured: Any = None) -> dict[str, Any]:
    """The spider arguments to record with the run (`-a key=value` values), secrets masked.

    Taken from `ARCHIVER_RUN_ARGUMENTS` when the launcher sets it, else the spider's
    `archiver_arguments` dict, else its public string attributes (where Scrapy puts `-a` values).
    """
    if configured:
        arguments = dict(json.loads(configured) if isinstance(configured, str) else configured)
    elif isinstance(declared := getattr(spider, "archiver_arguments", None), dict):
        arguments = dict(declared)
    else:
        arguments = {
            key: value
            for key, value in vars(spider).items()
            if isinstance(value, str) and not key.startswith("_") and key not in _NOT_ARGUMENTS
        }
    return {
        key: scrub_secrets(value) if isinstance(value, str) else value
        for key, value in arguments.items()
    }


def scrapyd_job(spider: Spider) -> str | None:
    """The Scrapyd job id of this crawl (Scrapyd passes it as the spider argument `_job`)."""
    job = getattr(spider, "_job", None)
    return str(job)[:150] if job else None


class RunRecord:
    """Keeps one crawl's run row; `run_id` is its id once the spider opened."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        # Found when the spider opens: extensions cannot see each other while they are built.
        self.database: ArchiveDatabase | None = None
        self.ledger: CrawlLedger | None = None
        self.trigger = setting(crawler.settings, "ARCHIVER_TRIGGER") or "manual"
        self.run_id: int | None = None
        self.totals = StoreCounts()
        # The listing this crawl reads (source, facet, start page), and what the archive knew of
        # it when the crawl began (archiver.coverage); None for crawls that read no listing.
        self.listing: tuple[str, str | None, int] | None = None
        self.coverage_before: Coverage | None = None
        self._heartbeat: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecord:
        if not setting(crawler.settings, "ARCHIVER_STORE_ENABLED"):
            raise NotConfigured("the run record lives in the archive (ARCHIVER_STORE_ENABLED)")
        record = cls(crawler)
        crawler.signals.connect(record.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(record.spider_closed, signal=signals.spider_closed)
        return record

    def spider_opened(self, spider: Spider) -> None:
        self.database = self.crawler.get_extension(ArchiveDatabase)
        self.ledger = self.crawler.get_extension(CrawlLedger)
        if self.database is None or self.ledger is None:
            logger.error("No run record: the archive or the crawl ledger is not enabled")
            return
        arguments = run_arguments(spider, setting(self.crawler.settings, "ARCHIVER_RUN_ARGUMENTS"))
        self.listing = _listing(spider) if self.trigger != "reparse" else None
        with write_transaction(self.database.engine) as connection:
            self.run_id = open_run(
                connection,
                spider=spider.name,
                arguments=arguments,
                trigger=self.trigger,
                node=scrub_secrets(setting(self.crawler.settings, "ARCHIVER_NODE") or "") or None,
                job_id=scrapyd_job(spider),
            )
            self.ledger.previous = previous_health(connection, self.run_id)
            if self.listing is not None:
                source, facet, _ = self.listing
                self.coverage_before = begin_reading(connection, source, facet, self.run_id)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("archiver/run_id", self.run_id)
        logger.info("Recording as run %d in %s", self.run_id, mask_url(self.database.url))
        self._heartbeat = task.LoopingCall(self._beat)
        self._heartbeat.start(HEARTBEAT_INTERVAL, now=False)

    def _close_coverage(self, connection: Connection, stats: dict[str, Any]) -> None:
        """What this crawl did to its listing's coverage (a gap, a complete read, or nothing)."""
        if self.listing is None or self.coverage_before is None or self.ledger is None:
            return
        source, facet, start_page = self.listing
        reason = str(stats.get("finish_reason") or "")
        stopped_by = stats.get("archiver/stopped_by") or (
            reason if reason.startswith("closespider_") else None
        )
        read = self.ledger.listing_read(start_page, stopped_by)
        if self.ledger.store_error:
            read = ListingRead(
                start_page, first_missed=1, missed_cause="the archive could not be written"
            )
        after = after_run(self.coverage_before, read, self.run_id)
        write_coverage(connection, source, facet, after, run_id=self.run_id)
        if after.has_gap and after != self.coverage_before:
            logger.warning(
                "%s: pages from %d on were not read (%s); the next crawl of this listing reads it"
                " to the end",
                facet or "the unfiltered listing",
                after.gap_from_page,
                after.gap_reason,
            )

    def batch_committed(self, totals: StoreCounts) -> None:
        """The store committed a batch (and recorded `totals` in the row with it)."""
        self.totals = totals

    def _beat(self) -> None:
        if self.run_id is None or self.database is None:
            return
        try:
            with write_transaction(self.database.engine) as connection:
                record_progress(connection, self.run_id, self.totals)
        except Exception:
            logger.warning("Could not record the run's heartbeat", exc_info=True)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Close the row with the crawl's outcome and final counts."""
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        if self.run_id is None or self.database is None or self.ledger is None:
            return
        outcome = self.ledger.outcome(reason)
        if self.crawler.stats is not None:
            # The exit status `archiver crawl` would give, kept with the run: a crawl a Scrapyd
            # node ran has no other way to tell its dispatcher (docs/scale-out.md).
            self.crawler.stats.set_value("archiver/exit_code", outcome.exit_code)
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        errors = int(stats.get("log_count/ERROR", 0))
        exceptions = sum(
            int(value) for key, value in stats.items() if key.startswith("spider_exceptions/")
        )
        end = RunEnd(
            status=outcome.status,
            reason=outcome.message,
            pages=int(stats.get("archiver/listing_pages", 0)),
            pages_without_cards=int(stats.get("archiver/pages_without_cards", 0)),
            cards=int(stats.get("archiver/cards", 0)),
            errors=max(errors, exceptions),
            stats=json_safe(stats),
            cards_per_page=outcome.health.cards_per_page,
            structure_share=outcome.health.structure_share,
            health=",".join(outcome.flags) or None,
            missed_pages=[asdict(page) for page in self.ledger.missed()] or None,
        )
        try:
            with write_transaction(self.database.engine) as connection:
                close_run(connection, self.run_id, end, self.totals)
                self._close_coverage(connection, stats)
        except Exception:
            logger.exception("Could not close run %s", self.run_id)
            return
        if outcome.flags:
            logger.warning(
                "Selector health of run %s: %s (%s): the site's markup may have changed; fix the"
                " extractor, then `archiver reparse --run %s` recovers the items from the archive",
                self.run_id,
                ",".join(outcome.flags),
                "; ".join(outcome.health.notes),
                self.run_id,
            )
        logger.info("Run %s %s: %s", self.run_id, outcome.status, outcome.message)
