"""A small JSON file with the crawl's live counters, for the process that launched the crawl.

The command's progress display (and anything else watching) reads it; the crawl never has to
talk back through pipes. On when `ARCHIVER_STATUS_FILE` is set; written atomically every
`ARCHIVER_STATUS_INTERVAL` seconds and at close.
"""

from __future__ import annotations

from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.spiders import Spider
from twisted.internet import task

from archiver.jsonsafe import write_json_atomic
from archiver.settings_catalog import setting


class StatusFile:
    """Writes `{"state": ..., "stats": {...}}` to the status file while the spider runs."""

    def __init__(self, crawler: Crawler, path: Path, interval: float) -> None:
        self.crawler = crawler
        self.path = path
        self.interval = interval
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatusFile:
        path = setting(crawler.settings, "ARCHIVER_STATUS_FILE")
        if not path:
            raise NotConfigured("ARCHIVER_STATUS_FILE is not set")
        extension = cls(crawler, Path(path), setting(crawler.settings, "ARCHIVER_STATUS_INTERVAL"))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def write(self, state: str) -> None:
        """Write the current counters."""
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        write_json_atomic(self.path, {"state": state, "stats": stats})

    def spider_opened(self, spider: Spider) -> None:
        self._loop = task.LoopingCall(self.write, "running")
        self._loop.start(self.interval, now=True)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.write("closing")
