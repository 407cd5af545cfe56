"""Keeps passwords out of the crawl's log, however the crawl was started.

`archiver crawl` and the scheduler start crawls through `archiver.process.worker`, which puts the
secret scrubber on the log handlers itself. A Scrapyd node runs every job as Scrapy's own
`scrapy crawl` (docs/scale-out.md): this extension does the same there, so a job's log file on
the node, which its web pages serve, never shows the database password of the node's
environment (`ARCHIVER_DATABASE_URL`). Scrapy may replace its log handler when the spider opens,
so the scrubber is put on again then. While at the root handlers, it also raises the root
logger's level to what they write (`archiver.config.skip_unlogged_levels`).
"""

from __future__ import annotations

import os

from scrapy import signals
from scrapy.crawler import Crawler

from archiver.config import (
    SecretScrubber,
    crawl_database_url,
    scrub_log_handlers,
    skip_unlogged_levels,
)


class LogScrubber:
    """Puts one `archiver.config.SecretScrubber` on every root log handler."""

    def __init__(self, scrubber: SecretScrubber) -> None:
        self.scrubber = scrubber

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LogScrubber:
        known = [crawl_database_url(crawler.settings), os.environ.get("ARCHIVER_DATABASE_URL")]
        extension = cls(SecretScrubber(known))
        extension.scrub()
        crawler.signals.connect(extension.scrub, signal=signals.spider_opened)
        return extension

    def scrub(self) -> None:
        scrub_log_handlers(self.scrubber)
        # Tending the same handlers: records no handler writes are not built (a cost per item).
        skip_unlogged_levels()
