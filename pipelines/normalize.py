"""Fill every item's clean fields from its raw ones (the pure functions in archiver.normalize).

The pipeline only adds what a pure function cannot: crawl stats, and one warning per run for each
type label the vocabulary does not know, so that a new label on the site gets noticed without
flooding the log with one line per card. An item the incremental stop already normalised (to
judge its page) is not normalised again.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from archiver.items import DetailItem
from archiver.normalize import OTHER, normalize_in_place
from archiver.normalize.types import clean_label

logger = logging.getLogger(__name__)


class NormalizePipeline:
    """Clean URL, title, summary, date and type on each item; count unknown type labels."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats
        self._unknown_labels: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, DetailItem):  # a release page: pipelines.details stores it
            return item
        fields = normalize_in_place(item)
        self.stats.inc_value("archiver/normalized")
        if fields["type_source"] == "url":
            self.stats.inc_value("archiver/type/from_url")
        elif fields["type_source"] is None:
            self.stats.inc_value("archiver/type/none")
        if fields["type"] == OTHER and fields["type_source"] == "label":
            self._count_unknown(clean_label(fields.get("type_raw")), fields.get("page_url"))
        if fields["summary_truncated"]:
            self.stats.inc_value("archiver/summary/truncated")
        return item

    def _count_unknown(self, label: str, page_url: str | None) -> None:
        self.stats.inc_value("archiver/type/unknown")
        self.stats.inc_value(f"archiver/type/unknown/{label}")
        if label not in self._unknown_labels:
            self._unknown_labels.add(label)
            logger.warning(
                "Unknown type label %r (first seen on %s): stored as %r; add it to "
                "archiver.normalize.types.VOCABULARY if the site now uses it",
                label,
                page_url,
                OTHER,
            )
