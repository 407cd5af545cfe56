"""Every listing page and release page fetched goes into the WARC archive, and into its index.

`WarcArchiveMiddleware` (downloader middleware) archives each response to a request the spider
marked as a listing page (`request.meta["archiver_page"]`) or a release page
(`request.meta["archiver_detail"]`, indexed as `kind = detail` with its release id) with
`archiver.warcfile`, puts the
response record's WARC-Record-ID in `request.meta["warc_record"]` (the spider copies it onto each
item; the store keeps it as `releases.first_warc_record` / `last_warc_record`), and indexes the
record in `warc_pages` with the run id, so a run's pages can be found again (`archiver reparse`).

Index rows are written in batches (`ARCHIVER_WARC_INDEX_BATCH` pages, or every
`ARCHIVER_WARC_INDEX_INTERVAL` seconds, and at close): a transaction per page cost more CPU than
archiving the page. Nothing reads the index during the crawl, so a crawl killed outright loses
at most the index rows of its last batch, never the pages (the files are written at once).

Settings: `ARCHIVER_WARC_ENABLED`, `ARCHIVER_WARC_DIR` (default `warc/` in the data folder),
`ARCHIVER_WARC_MAX_BYTES`, and the two index settings. Without the archive (store off) the files
are still written, unindexed. Stats: `archiver/warc/{records,bytes,files,index_errors}`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from twisted.internet import task

from archiver.config import data_dir
from archiver.crawler.database import ArchiveDatabase
from archiver.crawler.run_record import RunRecord
from archiver.db import write_transaction
from archiver.db.pages import index_pages
from archiver.items import DETAIL_META, PAGE_META
from archiver.settings_catalog import setting
from archiver.warcfile import RotatingWarcWriter, WarcRef

logger = logging.getLogger(__name__)


class WarcArchiveMiddleware:
    """Writes listing pages to WARC files and indexes them (see the module docstring)."""

    def __init__(
        self,
        crawler: Crawler,
        writer: RotatingWarcWriter,
        database: ArchiveDatabase | None,
        *,
        index_batch: int,
        index_interval: float,
    ) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.writer = writer
        self.database = database
        self.index_batch = max(1, index_batch)
        self.index_interval = index_interval
        self._rows: list[dict[str, Any]] = []  # index rows not yet written
        self._timer: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        settings = crawler.settings
        if not setting(settings, "ARCHIVER_WARC_ENABLED"):
            raise NotConfigured("ARCHIVER_WARC_ENABLED is off")
        root = data_dir(setting(settings, "ARCHIVER_DATA_DIR"))
        directory = Path(setting(settings, "ARCHIVER_WARC_DIR") or root / "warc")
        writer = RotatingWarcWriter(
            directory, root=root, max_bytes=setting(settings, "ARCHIVER_WARC_MAX_BYTES")
        )
        middleware = cls(
            crawler,
            writer,
            crawler.get_extension(ArchiveDatabase),
            index_batch=setting(settings, "ARCHIVER_WARC_INDEX_BATCH"),
            index_interval=setting(settings, "ARCHIVER_WARC_INDEX_INTERVAL"),
        )
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self) -> None:
        if self.database is not None and self.index_interval > 0:
            self._timer = task.LoopingCall(self.flush_index)
            self._timer.start(self.index_interval, now=False)

    def process_response(self, request: Request, response: Response) -> Response:
        page = request.meta.get(PAGE_META)
        if page is None:
            release = request.meta.get(DETAIL_META)
            if release is None:
                return response
            page = {"source": release["source"], "release_id": release["release_id"]}
        fetched_at = datetime.now(UTC)
        ref = self.writer.write_exchange(
            response.url,
            status=response.status,
            response_headers=_decoded(response.headers),
            body=response.body,
            request_headers=_decoded(request.headers),
            method=request.method,
            fetched_at=fetched_at,
        )
        request.meta["warc_record"] = ref.record_id
        self.stats.inc_value("archiver/warc/records")
        self.stats.inc_value("archiver/warc/bytes", ref.length)
        self.stats.set_value("archiver/warc/files", len(self.writer.files))
        self._index(ref, response, page, fetched_at)
        return response

    def _index(self, ref: WarcRef, response: Response, page: dict[str, Any], at: datetime) -> None:
        if self.database is None:
            return
        record = self.crawler.get_extension(RunRecord)
        self._rows.append(
            {
                "record_id": ref.record_id,
                "run_id": record.run_id if record is not None else None,
                "source": page.get("source") or "unknown",
                "facet": page.get("facet"),
                "page": page.get("page"),
                "url": response.url,
                "status": response.status,
                "warc_file": ref.warc_file,
                "offset": ref.offset,
                "length": ref.length,
                "payload_digest": ref.payload_digest,
                "fetched_at": at,
                "kind": "detail" if page.get("release_id") else "listing",
                "release_id": page.get("release_id"),
            }
        )
        if len(self._rows) >= self.index_batch:
            self.flush_index()

    def flush_index(self) -> None:
        """Write the buffered index rows in one transaction."""
        rows, self._rows = self._rows, []
        if not rows or self.database is None:
            return
        try:
            with write_transaction(self.database.engine) as connection:
                index_pages(connection, rows)
        except Exception:
            # The WARC files still hold the pages; only their index rows are missing.
            self.stats.inc_value("archiver/warc/index_errors", len(rows))
            logger.exception(
                "Could not index %d WARC records (%s to %s)",
                len(rows),
                rows[0]["url"],
                rows[-1]["url"],
            )

    def spider_closed(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.flush_index()
        self.writer.close()


def _decoded(headers: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, values in headers.items():
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            pairs.append((key, text))
    return pairs
