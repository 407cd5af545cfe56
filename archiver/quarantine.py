"""Keep every refused item as one JSON line, until (and beside) the database's quarantine table.

The validate pipeline sends `item_quarantined` for each item it refuses; this extension appends a
line with the reasons, the raw values as found on the page, the page URL and the time. Scrapy
style: built by `from_crawler`, wired by signals, switched by `ARCHIVER_QUARANTINE_JSONL`
(True, False, or None for "only when the store pipeline is off"). The file is
`ARCHIVER_QUARANTINE_FILE`, by default `quarantine.jsonl` in the data folder.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector

from archiver.config import data_dir
from archiver.signals import item_quarantined

RAW_FIELDS = (
    "url_raw",
    "title_raw",
    "summary_raw",
    "summary_html",
    "date_raw",
    "type_raw",
    "image_alt",
    "caption",
    "credit",
)
CLEAN_FIELDS = ("url", "title", "summary", "published_on", "type")


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def quarantine_record(item: Any, reasons: list[str], now: datetime) -> dict[str, Any]:
    """What is kept of a refused item: enough to see why and to re-normalise it later.

    >>> from archiver.items import ReleaseItem
    >>> item = ReleaseItem(source="amnestyusa", facet="country=syria", position=3, layout="current",
    ...     page_url="https://www.amnestyusa.org/news/", url_raw="", title_raw="T", summary_raw="",
    ...     summary_html="", date_raw="someday", type_raw="")
    >>> record = quarantine_record(item, ["missing_url"], datetime(2024, 1, 1, tzinfo=UTC))
    >>> record["reasons"], record["page_url"], record["raw"]["date_raw"], record["time"]
    (['missing_url'], 'https://www.amnestyusa.org/news/', 'someday', '2024-01-01T00:00:00+00:00')
    """
    fields = ItemAdapter(item)
    return {
        "time": now.isoformat(),
        "reasons": list(reasons),
        "source": fields.get("source"),
        "facet": fields.get("facet"),
        "page_url": fields.get("page_url"),
        "position": fields.get("position"),
        "layout": fields.get("layout"),
        "fetched_at": _jsonable(fields.get("fetched_at")),
        "raw": {name: fields.get(name) for name in RAW_FIELDS},
        "normalized": {name: _jsonable(fields.get(name)) for name in CLEAN_FIELDS},
    }


def jsonl_enabled(settings: BaseSettings) -> bool:
    """Whether refused items go to the JSONL file.

    `ARCHIVER_QUARANTINE_JSONL` True or False decides; None means "when nothing else keeps them",
    i.e. when the store pipeline is off (`ARCHIVER_STORE_ENABLED = False`), so that a crawl
    without a database still loses no refused item.

    >>> from scrapy.settings import Settings
    >>> auto = {"ARCHIVER_QUARANTINE_JSONL": None}
    >>> no_store = {**auto, "ARCHIVER_STORE_ENABLED": 0}
    >>> jsonl_enabled(Settings(auto)), jsonl_enabled(Settings(no_store))
    (False, True)
    >>> jsonl_enabled(Settings())
    True
    >>> jsonl_enabled(Settings({"ARCHIVER_QUARANTINE_JSONL": "0"}))
    False
    """
    if "ARCHIVER_QUARANTINE_JSONL" not in settings:
        return True
    # Scrapy's `get` treats None as unset, so read the raw value to tell "auto" apart.
    if settings["ARCHIVER_QUARANTINE_JSONL"] is None:
        return not settings.getbool("ARCHIVER_STORE_ENABLED", True)
    return settings.getbool("ARCHIVER_QUARANTINE_JSONL")


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
        configured = settings.get("ARCHIVER_QUARANTINE_FILE")
        path = (
            Path(configured).expanduser().absolute()
            if configured
            else data_dir(settings.get("ARCHIVER_DATA_DIR")) / "quarantine.jsonl"
        )
        extension = cls(path, crawler.stats)
        crawler.signals.connect(extension.item_quarantined, signal=item_quarantined)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def item_quarantined(self, item: Any, reasons: list[str], spider: Spider | None = None) -> None:
        """Append the refused item's record and flush, so a crash never loses a line."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        record = quarantine_record(item, reasons, datetime.now(UTC))
        self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._file.flush()
        if self.stats is not None:
            self.stats.inc_value("archiver/quarantine/jsonl")

    def spider_closed(self, spider: Spider) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
