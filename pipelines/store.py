"""Store valid releases (and refused items) in the archive, in batches.

The last pipeline. It buffers items and writes them through `archiver.db.store.ReleaseStore`
in batches of `ARCHIVER_STORE_BATCH_SIZE`, or every `ARCHIVER_STORE_FLUSH_INTERVAL` seconds,
whichever comes first (a crawl killed mid-way keeps all but its last seconds), and at close.
Each batch is one transaction that also records the run's counts so far. Items refused by
validation arrive on the `item_quarantined` signal and go to `invalid_items` in the same
batches. A batch that cannot be written stops the crawl and is reported to the crawl ledger
(the run fails).

Off with the archive (`ARCHIVER_STORE_ENABLED = 0`). Stats: `archiver/store/{new,updated,
unchanged,duplicate,invalid,versions,facets_added}`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from archiver.config import scrub_secrets
from archiver.crawler.database import ArchiveDatabase
from archiver.crawler.ledger import CrawlLedger
from archiver.crawler.run_record import RunRecord
from archiver.db import write_transaction
from archiver.db.runs import record_progress
from archiver.db.store import ReleaseStore, StoreCounts
from archiver.items import DetailItem, QuarantinedItem
from archiver.quarantine import quarantined_item
from archiver.settings_catalog import setting
from archiver.signals import item_quarantined, store_flush_requested

logger = logging.getLogger(__name__)


class StorePipeline:
    """Writes items to the archive in batches (see the module docstring)."""

    def __init__(
        self,
        crawler: Crawler,
        database: ArchiveDatabase,
        record: RunRecord,
        ledger: CrawlLedger,
        *,
        batch_size: int = 500,
        flush_interval: float = 5.0,
    ) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.database = database
        self.record = record
        self.ledger = ledger
        self.batch_size = max(1, batch_size)
        self.flush_interval = flush_interval
        self.store: ReleaseStore | None = None
        self._items: list[Any] = []
        self._invalid: list[QuarantinedItem] = []
        self._timer: task.LoopingCall | None = None
        self._failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        database = crawler.get_extension(ArchiveDatabase)
        record = crawler.get_extension(RunRecord)
        ledger = crawler.get_extension(CrawlLedger)
        if database is None or record is None or ledger is None:
            raise NotConfigured("the store needs the archive (ARCHIVER_STORE_ENABLED)")
        pipeline = cls(
            crawler,
            database,
            record,
            ledger,
            batch_size=setting(crawler.settings, "ARCHIVER_STORE_BATCH_SIZE"),
            flush_interval=setting(crawler.settings, "ARCHIVER_STORE_FLUSH_INTERVAL"),
        )
        crawler.signals.connect(pipeline.item_quarantined, signal=item_quarantined)
        crawler.signals.connect(pipeline._flush_pending, signal=store_flush_requested)
        return pipeline

    def open_spider(self) -> None:
        if self.flush_interval > 0:
            self._timer = task.LoopingCall(self._flush_pending)
            self._timer.start(self.flush_interval, now=False)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, DetailItem):  # a release page: pipelines.details stores it
            return item
        self._items.append(item)
        self._flush_if_full()
        return item

    def item_quarantined(self, item: Any, reasons: list[str], spider: Spider | None = None) -> None:
        """Keep a refused item (sent by the validate pipeline) for the next batch."""
        self._invalid.append(quarantined_item(item, reasons, datetime.now(UTC)))
        self._flush_if_full()

    def _flush_if_full(self) -> None:
        if len(self._items) + len(self._invalid) >= self.batch_size:
            self.flush()

    def _flush_pending(self) -> None:
        if self._items or self._invalid:
            self.flush()

    def flush(self) -> StoreCounts | None:
        """Write the buffered items as one batch (one transaction); None when nothing was."""
        if self._failed or not (self._items or self._invalid):
            return None
        if self.store is None:
            # Here, not in open_spider: the run row is opened just after the pipelines open.
            self.store = ReleaseStore(self.record.run_id)
        items, invalid = self._items, self._invalid
        try:
            with write_transaction(self.database.engine) as connection:
                batch = self.store.write_batch(connection, items, invalid)
                if self.store.run_id is not None:
                    record_progress(connection, self.store.run_id, self.store.totals + batch.counts)
        except Exception as error:
            self._fail(error, len(items), len(invalid))
            return None
        self._items, self._invalid = [], []
        totals = self.store.commit(batch)
        self.record.batch_committed(totals)
        for name, value in totals.as_dict().items():
            self.stats.set_value(f"archiver/store/{name}", value)
        return batch.counts

    def _fail(self, error: Exception, items: int, refused: int) -> None:
        self._failed = True
        self.stats.inc_value("archiver/store/errors")
        detail = scrub_secrets(str(getattr(error, "orig", None) or error), [self.database.url])
        self.ledger.store_failed(f"{items} items ({refused} refused) not stored: {detail[:200]}")
        logger.exception(
            "Could not store a batch of %d items (%d refused); stopping the crawl", items, refused
        )
        engine = self.crawler.engine
        if engine is not None and engine.running and self.crawler.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason="store_error"))

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.flush()
        unsaved = len(self._items) + len(self._invalid)
        if unsaved:
            self.ledger.store_failed(f"{unsaved} items not stored")
