"""The raw page archive: every listing page fetched is kept in compressed WARC files.

Why: a release's values can then be traced to the exact bytes they were read from, and when the
site's markup changes, pages fetched while the extractors were blind are not lost; they are
parsed again later (`archiver reparse`) with fixed extractors, without the network.

- `RotatingWarcWriter` (no Scrapy, no database) writes request/response record pairs with
  `warcio` into `<data>/warc/archiver-<UTC time>-<pid>-<serial>.warc.gz`, one gzip member per
  record (so a record can be read from its offset), starting a new file once the current one
  reaches `max_bytes`. Time and pid in the name: concurrent crawls never share a file.
- `WarcArchiveMiddleware` (downloader middleware) archives every response to a request the
  spider marked as a listing page (`request.meta["archiver_page"]`), puts the response record's
  WARC-Record-ID in `request.meta["warc_record"]` (the spider copies it onto each item; the
  store keeps it as `releases.first_warc_record` / `last_warc_record`) and indexes the record in
  the `warc_pages` table with the run id, so a run's pages can be found again. Index rows are
  written in batches (one transaction per `ARCHIVER_WARC_INDEX_BATCH` pages, or every
  `ARCHIVER_WARC_INDEX_INTERVAL` seconds, and at close): a transaction per page cost more CPU
  than archiving the page. Nothing reads the index during the run (no foreign key points at it;
  `archiver reparse` reads it afterwards); a crawl killed outright loses at most the index rows
  of its last batch, never the pages themselves (the WARC files are written at once).
- `read_record` / `iter_pages` read records back (reparse, tests).

Settings: `ARCHIVER_WARC_ENABLED` (default True), `ARCHIVER_WARC_DIR` (default `warc/` in the
data folder), `ARCHIVER_WARC_MAX_BYTES` (default 100 MB), `ARCHIVER_WARC_INDEX_BATCH` (default
100 pages), `ARCHIVER_WARC_INDEX_INTERVAL` (default 5 s; 0: no timed flush). The index needs the
store (`ARCHIVER_STORE_ENABLED`); without it the files are still written. Stats:
`archiver/warc/records`, `archiver/warc/bytes`, `archiver/warc/files`,
`archiver/warc/index_errors`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from sqlalchemy import Engine, insert
from twisted.internet import task
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from archiver import __version__
from archiver.config import data_dir

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_INDEX_BATCH = 100
DEFAULT_INDEX_INTERVAL = 5.0
# Hop-by-hop or already undone by Scrapy: kept under another name so the record stays readable
# (warcio would try to de-chunk or decompress a body Scrapy already decoded).
_RENAMED_HEADERS = {"transfer-encoding", "content-encoding", "content-length"}
ORIGINAL_HEADER_PREFIX = "X-Archiver-Orig-"


@dataclass(frozen=True, slots=True)
class WarcRef:
    """Where one response record lies: file (relative to the data folder), offset and length."""

    record_id: str
    warc_file: str
    offset: int
    length: int
    payload_digest: str | None


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    """A response record read back: what the crawl received for one listing page."""

    record_id: str
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fetched_at: datetime


def warc_file_name(prefix: str = "archiver", now: datetime | None = None, serial: int = 1) -> str:
    """`archiver-20261129T192301123456Z-4242-00001.warc.gz`: time and pid keep crawls apart.

    >>> warc_file_name(now=datetime(2026, 11, 29, 19, 23, 1, tzinfo=UTC)).endswith("-00001.warc.gz")
    True
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{prefix}-{stamp}-{os.getpid()}-{serial:05d}.warc.gz"


def _http_headers(headers: list[tuple[str, str]], body_length: int) -> list[tuple[str, str]]:
    kept = [
        (f"{ORIGINAL_HEADER_PREFIX}{name}" if name.lower() in _RENAMED_HEADERS else name, value)
        for name, value in headers
    ]
    return [*kept, ("Content-Length", str(body_length))]


class RotatingWarcWriter:
    """Appends request/response record pairs to gzip WARC files, rotating them by size.

    Not thread-safe (one per crawl, used from the reactor thread). `root` is the folder the
    returned `WarcRef.warc_file` paths are relative to (the data folder), so an archive can move.
    """

    def __init__(
        self,
        directory: Path,
        *,
        root: Path | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        prefix: str = "archiver",
    ) -> None:
        self.directory = directory
        self.root = root or directory
        self.max_bytes = max(1, max_bytes)
        self.prefix = prefix
        self.files: list[Path] = []
        self._handle: IO[bytes] | None = None
        self._writer: WARCWriter | None = None

    def _open(self) -> tuple[IO[bytes], WARCWriter]:
        if self._handle is not None and self._writer is not None:
            return self._handle, self._writer
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / warc_file_name(self.prefix, serial=len(self.files) + 1)
        handle = open(path, "xb")  # noqa: SIM115 - kept open across records, closed in close()
        writer = WARCWriter(handle, gzip=True)
        info = writer.create_warcinfo_record(
            path.name,
            {"software": f"archiver/{__version__}", "format": "WARC File Format 1.0"},
        )
        writer.write_record(info)
        self.files.append(path)
        self._handle, self._writer = handle, writer
        return handle, writer

    def _relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def write_exchange(
        self,
        url: str,
        *,
        status: int,
        response_headers: list[tuple[str, str]],
        body: bytes,
        request_headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
        method: str = "GET",
        fetched_at: datetime | None = None,
    ) -> WarcRef:
        """Write one response record and its request record; returns the response's place."""
        handle, writer = self._open()
        date = datetime_to_iso_date((fetched_at or datetime.now(UTC)).astimezone(UTC))
        http = StatusAndHeaders(
            f"{status} {_reason(status)}",
            _http_headers(response_headers, len(body)),
            protocol="HTTP/1.1",
        )
        response = writer.create_warc_record(
            url,
            "response",
            payload=BytesIO(body),
            length=len(body),  # known: warcio then digests in place, with no temporary file
            http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = writer.create_warc_record(
            url,
            "request",
            payload=BytesIO(b""),
            length=0,
            http_headers=StatusAndHeaders(
                f"{method} {target} HTTP/1.1",
                [("Host", parts.netloc), *request_headers],
                is_http_request=True,
            ),
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
            },
        )
        offset = handle.tell()
        writer.write_record(response)
        length = handle.tell() - offset
        writer.write_record(request)
        handle.flush()
        ref = WarcRef(
            record_id=response.rec_headers.get_header("WARC-Record-ID"),
            warc_file=self._relative(Path(handle.name)),
            offset=offset,
            length=length,
            payload_digest=response.rec_headers.get_header("WARC-Payload-Digest"),
        )
        if handle.tell() >= self.max_bytes:
            self._close_file()
        return ref

    def _close_file(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = self._writer = None

    def close(self) -> None:
        """Close the current file (the next write would start a new one)."""
        self._close_file()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _page(record: ArcWarcRecord) -> ArchivedPage:
    assert record.http_headers is not None
    body = record.content_stream().read()
    return ArchivedPage(
        record_id=record.rec_headers.get_header("WARC-Record-ID"),
        url=record.rec_headers.get_header("WARC-Target-URI"),
        status=int(record.http_headers.get_statuscode() or 0),
        headers=list(record.http_headers.headers),
        body=body,
        fetched_at=iso_date_to_datetime(record.rec_headers.get_header("WARC-Date")).replace(
            tzinfo=UTC
        ),
    )


def read_record(path: Path, offset: int) -> ArchivedPage:
    """The response record at `offset` of the WARC file `path`."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        for record in ArchiveIterator(handle):
            if record.rec_type != "response":
                raise ValueError(f"{path}@{offset} is a {record.rec_type} record, not a response")
            return _page(record)
    raise ValueError(f"no record at {path}@{offset}")


def iter_pages(path: Path, *, check_digests: bool = False) -> Iterator[ArchivedPage]:
    """Every response record of one WARC file, in file order.

    With `check_digests`, warcio verifies each block and payload digest and raises on a mismatch.
    """
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle, check_digests="raise" if check_digests else False):
            if record.rec_type == "response":
                yield _page(record)


def store_database_url_or_none(settings: Any) -> str | None:
    """The store's database when the store is on (the index lives there), else None."""
    if not settings.getbool("ARCHIVER_STORE_ENABLED", True):
        return None
    from pipelines.store import store_database_url

    return store_database_url(settings)


class WarcArchiveMiddleware:
    """Downloader middleware writing listing pages to WARC files and indexing them (see module)."""

    def __init__(
        self,
        crawler: Crawler,
        writer: RotatingWarcWriter,
        db_url: str | None,
        *,
        index_batch: int = DEFAULT_INDEX_BATCH,
        index_interval: float = DEFAULT_INDEX_INTERVAL,
    ) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.writer = writer
        self.db_url = db_url
        self.index_batch = max(1, index_batch)
        self.index_interval = index_interval
        self._engine: Engine | None = None
        self._rows: list[dict[str, Any]] = []  # index rows not yet written
        self._timer: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        settings = crawler.settings
        if not settings.getbool("ARCHIVER_WARC_ENABLED", True):
            raise NotConfigured("ARCHIVER_WARC_ENABLED is off")
        root = data_dir(settings.get("ARCHIVER_DATA_DIR"))
        directory = Path(settings.get("ARCHIVER_WARC_DIR") or root / "warc")
        writer = RotatingWarcWriter(
            directory,
            root=root,
            max_bytes=settings.getint("ARCHIVER_WARC_MAX_BYTES", DEFAULT_MAX_BYTES),
        )
        middleware = cls(
            crawler,
            writer,
            store_database_url_or_none(settings),
            index_batch=settings.getint("ARCHIVER_WARC_INDEX_BATCH", DEFAULT_INDEX_BATCH),
            index_interval=settings.getfloat(
                "ARCHIVER_WARC_INDEX_INTERVAL", DEFAULT_INDEX_INTERVAL
            ),
        )
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self) -> None:
        if self.db_url is not None and self.index_interval > 0:
            self._timer = task.LoopingCall(self.flush_index)
            self._timer.start(self.index_interval, now=False)

    def process_response(self, request: Request, response: Response) -> Response:
        page = request.meta.get("archiver_page")
        if page is None:
            return response
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
        if self.db_url is None:
            return
        self._rows.append(
            {
                "record_id": ref.record_id,
                "run_id": self.stats.get_value("archiver/run_id"),
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
            }
        )
        if len(self._rows) >= self.index_batch:
            self.flush_index()

    def flush_index(self) -> None:
        """Write the buffered index rows in one transaction."""
        rows, self._rows = self._rows, []
        if not rows or self.db_url is None:
            return
        from archiver.db import make_engine, write_transaction
        from archiver.db.models import WarcPage

        try:
            if self._engine is None:
                self._engine = make_engine(self.db_url)
            with write_transaction(self._engine) as connection:
                connection.execute(insert(WarcPage), rows)
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
        if self._engine is not None:
            self._engine.dispose()


def _decoded(headers: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, values in headers.items():
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            pairs.append((key, text))
    return pairs
