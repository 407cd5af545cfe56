"""A Scrapy extension that keeps a small JSON file with the crawl's live counters.

The process that launched the crawl (the CLI's progress display, the scheduler) reads it; the
crawl never has to talk back through pipes. Enabled by the `ARCHIVER_STATUS_FILE` setting;
written atomically every `ARCHIVER_STATUS_INTERVAL` seconds (default 0.5) and at close.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.spiders import Spider
from twisted.internet import task


def jsonable(stats: dict[str, Any]) -> dict[str, Any]:
    """Stats with every value JSON can hold as is; datetimes and the like become strings."""
    return {
        key: value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
        for key, value in stats.items()
    }


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` with `data` so a reader never sees half a file."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, default=str))
    os.replace(tmp, path)


class StatusFile:
    """Writes `{"state": ..., "stats": {...}}` to the status file while the spider runs."""

    def __init__(self, crawler: Crawler, path: Path, interval: float) -> None:
        self.crawler = crawler
        self.path = path
        self.interval = interval
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatusFile:
        path = crawler.settings.get("ARCHIVER_STATUS_FILE")
        if not path:
            raise NotConfigured("ARCHIVER_STATUS_FILE is not set")
        extension = cls(
            crawler, Path(path), crawler.settings.getfloat("ARCHIVER_STATUS_INTERVAL", 0.5)
        )
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def write(self, state: str) -> None:
        """Write the current counters."""
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        write_json_atomic(self.path, {"state": state, "stats": jsonable(stats)})

    def spider_opened(self, spider: Spider) -> None:
        self._loop = task.LoopingCall(self.write, "running")
        self._loop.start(self.interval, now=True)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.write("closing")
