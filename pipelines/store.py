"""Store valid releases (and refused items) in the archive database, in batches, with a run record.

The last pipeline: it opens a `crawl_runs` row when the spider opens, buffers items and writes
them through `archiver.db.store.ReleaseStore` in batches of `ARCHIVER_STORE_BATCH_SIZE`, or every
`ARCHIVER_STORE_FLUSH_INTERVAL` seconds, whichever comes first (a crawl killed mid-way keeps all
but its last seconds), flushes at close and closes the run row with its counts, status and finish
reason. Items refused by validation arrive on the `item_quarantined` signal and go to
`invalid_items` in the same batches.

Settings: `ARCHIVER_STORE_ENABLED` (default True; False raises NotConfigured so a plain
`scrapy crawl -O out.jsonl` needs no database), `ARCHIVER_DATABASE_URL` (else the environment,
else `archive.db` in the data folder), `ARCHIVER_STORE_BATCH_SIZE` (500),
`ARCHIVER_STORE_FLUSH_INTERVAL` (5 s), `ARCHIVER_TRIGGER` ("manual" or the schedule's name),
`ARCHIVER_RUN_ARGUMENTS` (the spider arguments to record, as a dict or JSON; default: read from
the spider). Stats: `archiver/run_id`, `archiver/store/{new,updated,unchanged,duplicate,invalid,
versions,facets_added}`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from archiver.config import data_dir, database_url, mask_url
from archiver.db import make_engine, prepare
from archiver.db.runs import RunOutcome, close_run, open_run, status_for_reason
from archiver.db.store import QuarantinedItem, ReleaseStore, StoreCounts
from archiver.health import run_health
from archiver.quarantine import quarantine_record
from archiver.signals import item_quarantined

logger = logging.getLogger(__name__)

# Spider attributes that are Scrapy's own, not crawl arguments.
_NOT_ARGUMENTS = frozenset({"name", "crawler", "settings", "custom_settings", "start_urls"})


def store_database_url(settings: Any) -> str:
    """The database a crawl stores into: setting, environment, else the data folder's archive.db.

    Unlike `archiver.config.database_url`, the default follows `ARCHIVER_DATA_DIR` given as a
    Scrapy setting, so `-s ARCHIVER_DATA_DIR=/srv/archive` keeps the database there too.
    """
    explicit = settings.get("ARCHIVER_DATABASE_URL")
    if explicit or os.environ.get("ARCHIVER_DATABASE_URL"):
        return database_url(explicit)
    return f"sqlite:///{data_dir(settings.get('ARCHIVER_DATA_DIR')) / 'archive.db'}"


def run_arguments(spider: Spider, configured: Any = None) -> dict[str, Any]:
    """The spider arguments to record with the run (`-a key=value` values).

    Taken from `ARCHIVER_RUN_ARGUMENTS` when the launcher sets it, else the spider's
    `archiver_arguments` dict, else its declared `arguments` names, else its public string
    attributes (where Scrapy puts unknown `-a` values).
    """
    if configured:
        return dict(json.loads(configured) if isinstance(configured, str) else configured)
    declared = getattr(spider, "archiver_arguments", None)
    if isinstance(declared, dict):
        return dict(declared)
    names = getattr(spider, "arguments", None)
    if isinstance(names, tuple | list):
        return {
            name: getattr(spider, name)
            for name in names
            if isinstance(getattr(spider, name, None), str | int | float | bool)
        }
    return {
        key: value
        for key, value in vars(spider).items()
        if isinstance(value, str) and not key.startswith("_") and key not in _NOT_ARGUMENTS
    }


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class StorePipeline:
    """Writes items to the archive in batches and keeps the crawl's run row (see module doc)."""

    def __init__(
        self,
        crawler: Crawler,
        url: str,
        *,
        batch_size: int = 500,
        flush_interval: float = 5.0,
        trigger: str = "manual",
    ) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.url = url
        self.batch_size = max(1, batch_size)
        self.flush_interval = flush_interval
        self.trigger = trigger
        self.store: ReleaseStore | None = None
        self._items: list[Any] = []
        self._invalid: list[QuarantinedItem] = []
        self._timer: task.LoopingCall | None = None
        self._failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        settings = crawler.settings
        if not settings.getbool("ARCHIVER_STORE_ENABLED", True):
            raise NotConfigured("ARCHIVER_STORE_ENABLED is off")
        pipeline = cls(
            crawler,
            store_database_url(settings),
            batch_size=settings.getint("ARCHIVER_STORE_BATCH_SIZE", 500),
            flush_interval=settings.getfloat("ARCHIVER_STORE_FLUSH_INTERVAL", 5.0),
            trigger=settings.get("ARCHIVER_TRIGGER") or "manual",
        )
        crawler.signals.connect(pipeline.item_quarantined, signal=item_quarantined)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        spider = self.crawler.spider
        assert spider is not None
        prepare(self.url)  # schema upgrade + dead runs marked interrupted
        engine = make_engine(self.url)
        arguments = run_arguments(spider, self.crawler.settings.get("ARCHIVER_RUN_ARGUMENTS"))
        run_id = open_run(engine, spider=spider.name, arguments=arguments, trigger=self.trigger)
        self.store = ReleaseStore(engine, run_id)
        self.stats.set_value("archiver/run_id", run_id)
        logger.info("Storing into %s as run %d", mask_url(self.url), run_id)
        if self.flush_interval > 0:
            self._timer = task.LoopingCall(self._tick)
            self._timer.start(self.flush_interval, now=False)

    def process_item(self, item: Any) -> Any:
        self._items.append(item)
        if len(self._items) + len(self._invalid) >= self.batch_size:
            self.flush()
        return item

    def item_quarantined(self, item: Any, reasons: list[str], spider: Spider | None = None) -> None:
        """Keep a refused item (sent by the validate pipeline) for the next batch."""
        record = quarantine_record(item, reasons, datetime.now(UTC))
        fields = ItemAdapter(item)
        self._invalid.append(
            QuarantinedItem(
                source=fields.get("source") or (spider.name if spider else "unknown"),
                url=fields.get("url_raw") or None,
                reasons=tuple(reasons),
                raw=_json_safe({k: v for k, v in record.items() if k not in ("reasons", "time")}),
                page_url=fields.get("page_url"),
            )
        )
        if len(self._items) + len(self._invalid) >= self.batch_size:
            self.flush()

    def _tick(self) -> None:
        # Time-based flush, and a heartbeat when idle, so `mark_interrupted` can tell we live.
        if self._items or self._invalid:
            self.flush()
        elif self.store is not None and not self._failed:
            try:
                self.store.heartbeat()
            except Exception:
                logger.warning("Could not record the run heartbeat", exc_info=True)

    def flush(self) -> StoreCounts | None:
        """Write the buffered items as one batch (one transaction)."""
        if self.store is None or not (self._items or self._invalid):
            return None
        items, invalid = self._items, self._invalid
        try:
            counts = self.store.write_batch(items, invalid)
        except Exception:
            self._failed = True
            self.stats.inc_value("archiver/store/errors")
            logger.exception(
                "Could not store a batch of %d items (%d refused) into %s; stopping the crawl",
                len(items),
                len(invalid),
                mask_url(self.url),
            )
            self._stop_crawl()
            return None
        self._items, self._invalid = [], []
        for name, value in self.store.totals.as_dict().items():
            self.stats.set_value(f"archiver/store/{name}", value)
        return counts

    def _stop_crawl(self) -> None:
        engine = self.crawler.engine
        if engine is not None and engine.running and self.crawler.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason="store_error"))

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.flush()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Close the run row with its final counts, status and finish reason."""
        if self.store is None:
            return
        stats = self.stats.get_stats()
        errors = int(stats.get("log_count/ERROR", 0))
        exceptions = sum(
            int(value) for key, value in stats.items() if key.startswith("spider_exceptions/")
        )
        unsaved = len(self._items) + len(self._invalid)
        status = "failed" if self._failed else status_for_reason(reason)
        health = run_health(self.store.engine, self.store.run_id or 0, stats)
        if "no_items" in health.flags and status == "finished":
            status, reason = "failed", "no items parsed"  # the site changed: alert-worthy
        outcome = RunOutcome(
            status=status,
            finish_reason=reason if not unsaved else f"{reason}; {unsaved} items not stored",
            pages=int(stats.get("archiver/listing_pages", 0)),
            pages_without_cards=int(stats.get("archiver/pages_without_cards", 0)),
            cards=int(stats.get("archiver/cards", 0)),
            errors=max(errors, exceptions),
            stats=_json_safe(stats),
            cards_per_page=health.cards_per_page,
            health=health.column,
        )
        try:
            close_run(self.store.engine, self.store.run_id or 0, outcome, self.store.totals)
        except Exception:
            logger.exception("Could not close run %s in %s", self.store.run_id, mask_url(self.url))
        finally:
            self.store.engine.dispose()
        logger.info(
            "Run %s %s: %s",
            self.store.run_id,
            status,
            ", ".join(f"{k}={v}" for k, v in asdict(self.store.totals).items()),
        )
