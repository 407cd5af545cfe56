"""Store what release pages said (`DetailItem`s) in the archive's `release_texts`, in batches.

Every other pipeline lets a DetailItem pass untouched. This one is on whenever there is an
archive (`archiver reparse` re-reads archived release pages without `ARCHIVER_DETAILS`): it
buffers them and writes `ARCHIVER_DETAILS_BATCH` at a time, and at close, through
`archiver.db.details.write_details`, which decides versions, `gone`, moves and the listing
cross-checks. A batch that cannot be written is logged and counted
(`archiver/details/store_errors`): the listing's releases are already stored, and the pages
stay due for the next run. Stats: `archiver/details/{enriched, changed, unchanged,
not_modified, gone, moved, failed, disagreements/<check>}`.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archiver.crawler.database import ArchiveDatabase
from archiver.crawler.run_record import RunRecord
from archiver.db import write_transaction
from archiver.db.details import DetailCounts, write_details
from archiver.items import DetailItem
from archiver.settings_catalog import setting

logger = logging.getLogger(__name__)


class DetailPipeline:
    """Writes DetailItems to the archive in batches (see the module docstring)."""

    def __init__(self, crawler: Crawler, database: ArchiveDatabase, batch_size: int) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.database = database
        self.batch_size = max(1, batch_size)
        self.totals = DetailCounts()
        self._items: list[DetailItem] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DetailPipeline:
        database = crawler.get_extension(ArchiveDatabase)
        if database is None:
            raise NotConfigured("release pages need the archive")
        return cls(crawler, database, setting(crawler.settings, "ARCHIVER_DETAILS_BATCH"))

    def process_item(self, item: Any) -> Any:
        if isinstance(item, DetailItem):
            self._items.append(item)
            if len(self._items) >= self.batch_size:
                self.flush()
        return item

    def flush(self) -> None:
        """Write the buffered items in one transaction."""
        items, self._items = self._items, []
        if not items:
            return
        record = self.crawler.get_extension(RunRecord)
        run_id = record.run_id if record is not None else None
        try:
            with write_transaction(self.database.engine) as connection:
                counts = write_details(connection, items, run_id)
        except Exception:
            self.stats.inc_value("archiver/details/store_errors", len(items))
            logger.exception("Could not store %d release pages: they stay due", len(items))
            return
        self.totals = self.totals + counts
        for name, value in self.totals.as_dict().items():
            self.stats.set_value(f"archiver/details/{name}", value)

    def close_spider(self) -> None:
        self.flush()
