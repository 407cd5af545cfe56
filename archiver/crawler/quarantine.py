"""Keep every refused item as one JSON line, when no database keeps it (or beside it).

The validate pipeline sends `item_quarantined` for each item it refuses; this extension appends
the item's `archiver.quarantine.quarantine_record` to a file and flushes, so a crash never loses
a line. Switched by `ARCHIVER_QUARANTINE_JSONL` (on, off, or unset: only when the store is off,
so a crawl without a database still loses no refused item); the file is
`ARCHIVER_QUARANTINE_FILE`, by default `quarantine.jsonl` in the data folder.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from archiver.config import data_dir
from archiver.quarantine import quarantine_record
from archiver.settings_catalog import setting
from archiver.signals import item_quarantined


def jsonl_enabled(settings: Any) -> bool:
    """Whether refused items go to the JSONL file (see the module docstring).

    >>> from scrapy.settings import Settings
    >>> jsonl_enabled(Settings()), jsonl_enabled(Settings({"ARCHIVER_STORE_ENABLED": 0}))
    (False, True)
    >>> jsonl_enabled(Settings({"ARCHIVER_QUARANTINE_JSONL": "1"}))
    True
    """
    chosen = setting(settings, "ARCHIVER_QUARANTINE_JSONL")
    if chosen is None:
        return not setting(settings, "ARCHIVER_STORE_ENABLED")
    return bool(chosen)


class JsonlQuarantine:
    """Appends one JSON line per quarantined item to a file (created on the first refusal)."""

    def __init__(self, path: Path, stats: StatsCollector | None = None) -> None:
        self.path = path
        self.stats = stats
        self._file: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JsonlQuarantine:
        settings = crawler.settings
        if not jsonl_enabled(settings):
            raise NotConfigured("ARCHIVER_QUARANTINE_JSONL is off")
        configured = setting(settings, "ARCHIVER_QUARANTINE_FILE")
        path = (
            Path(configured).expanduser().absolute()
            if configured
            else data_dir(setting(settings, "ARCHIVER_DATA_DIR")) / "quarantine.jsonl"
        )
        extension = cls(path, crawler.stats)
        crawler.signals.connect(extension.item_quarantined, signal=item_quarantined)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def item_quarantined(self, item: Any, reasons: list[str], spider: Spider | None = None) -> None:
        """Append the refused item's record and flush."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        record = quarantine_record(item, reasons, datetime.now(UTC))
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        if self.stats is not None:
            self.stats.inc_value("archiver/quarantine/jsonl")

    def spider_closed(self, spider: Spider) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
