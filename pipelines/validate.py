"""Refuse items that cannot be releases, without losing them.

An item without a usable URL, title or plausible date is not stored as a release. It is sent with
its reasons on the `item_quarantined` signal (the JSONL quarantine, later the store's table, keep
it), counted per reason in the crawl stats, and dropped from the pipeline chain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from archiver.items import DetailItem
from archiver.normalize import item_fields, validate_item
from archiver.signals import item_quarantined


class ValidatePipeline:
    """Set `problems` on every item; quarantine and drop those that have any."""

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, DetailItem):  # a release page: pipelines.details stores it
            return item
        adapter = item_fields(item)
        fetched_at = adapter.get("fetched_at")
        # Plausibility is judged against the day the page was read, so a re-run is reproducible.
        today = (fetched_at or datetime.now(UTC)).date()
        reasons = validate_item(item, today)
        adapter["problems"] = reasons
        if not reasons:
            self.stats.inc_value("archiver/valid")
            return item
        self.stats.inc_value("archiver/invalid")
        for reason in reasons:
            self.stats.inc_value(f"archiver/invalid/{reason}")
        self.crawler.signals.send_catch_log(
            signal=item_quarantined, item=item, reasons=reasons, spider=self.crawler.spider
        )
        raise DropItem(
            f"quarantined ({', '.join(reasons)}): card {adapter.get('position')} "
            f"of {adapter.get('page_url')}"
        )
