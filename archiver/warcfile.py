"""The raw page archive's files: listing pages as WARC records, written and read back.

Why: a release's values can then be traced to the exact bytes they were read from, and when the
site's markup changes, pages fetched while the extractors were blind are not lost; they are
parsed again later (`archiver reparse`) with fixed extractors, without the network.

- `RotatingWarcWriter` (no Scrapy, no database) writes request/response record pairs into
  `<data>/warc/archiver-<UTC time>-<pid>-<serial>.warc.gz`, one gzip member per record (so a
  record can be read from its offset), starting a new file once the current one reaches
  `max_bytes`. Time and pid in the name: concurrent crawls never share a file. The HTTP header
  blocks are as warcio writes them (its `StatusAndHeaders` encodes non-ASCII values); the
  WARC headers, digests and gzip members are put together here (`warc_record`): warcio's record
  builder cost twice what the rest of archiving a page does, and a record is nine header lines.
- `read_record` / `iter_pages` read records back (reparse, tests).

The crawl writes them through archiver.crawler.warc, which also indexes every record in the
`warc_pages` table. Pure: no Scrapy, no database.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import iso_date_to_datetime

from archiver import __version__

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


def http_header_block(first_line: str, headers: list[tuple[str, str]]) -> bytes:
    """An HTTP message's header block (status or request line, headers, blank line) as warcio
    writes it: ASCII as it stands, else with warcio's encoding of non-ASCII values (RFC 8187).

    >>> http_header_block("HTTP/1.1 200 OK", [("Content-Type", "text/html")])
    b'HTTP/1.1 200 OK\\r\\nContent-Type: text/html\\r\\n\\r\\n'
    """
    text = first_line + "\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    try:
        return (text + "\r\n").encode("ascii")
    except UnicodeEncodeError:
        return StatusAndHeaders(first_line, headers, is_http_request=True).to_ascii_bytes()


#: zlib's default level: on HTML it compresses within a fraction of a percent of level 9.
GZIP_LEVEL = 6


def warc_date(moment: datetime) -> str:
    """WARC-Date, in UTC to the second (WARC/1.0).

    >>> warc_date(datetime(2026, 11, 29, 19, 23, 1, 500, tzinfo=UTC))
    '2026-11-29T19:23:01Z'
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def payload_digest_of(data: bytes) -> str:
    """A WARC digest: `sha1:` and the base32 SHA-1 of `data`.

    >>> payload_digest_of(b"")
    'sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ'
    """
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


_EMPTY_DIGEST = payload_digest_of(b"")


def warc_record(
    record_type: str,
    headers: list[tuple[str, str]],
    block: bytes,
    *,
    content_type: str,
    payload_digest: str | None = None,
) -> tuple[str, bytes]:
    """One WARC/1.0 record as a gzip member of its own; returns its WARC-Record-ID and bytes.

    `headers` are the record's WARC headers after WARC-Type and WARC-Record-ID. The block digest
    is computed over `block`; `payload_digest` (`payload_digest_of(payload)`) is written when given,
    as warcio writes both (so `iter_pages(..., check_digests=True)` verifies them).
    """
    record_id = f"<urn:uuid:{uuid.uuid4()}>"
    lines = [f"WARC-Type: {record_type}", f"WARC-Record-ID: {record_id}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if payload_digest is not None:
        lines.append(f"WARC-Payload-Digest: {payload_digest}")
    lines += [
        f"WARC-Block-Digest: {payload_digest_of(block)}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(block)}",
    ]
    head = ("WARC/1.0\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    member = compressor.compress(head) + compressor.compress(block)
    return record_id, member + compressor.compress(b"\r\n\r\n") + compressor.flush()


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
        max_bytes: int,
        prefix: str = "archiver",
    ) -> None:
        self.directory = directory
        self.root = root or directory
        self.max_bytes = max(1, max_bytes)
        self.prefix = prefix
        self.files: list[Path] = []
        self._handle: IO[bytes] | None = None
        self._name = ""  # the current file, relative to `root`

    def _open(self) -> IO[bytes]:
        if self._handle is not None:
            return self._handle
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / warc_file_name(self.prefix, serial=len(self.files) + 1)
        handle = open(path, "xb")  # noqa: SIM115 - kept open across records, closed in close()
        fields = f"software: archiver/{__version__}\r\nformat: WARC File Format 1.0\r\n"
        _, info = warc_record(
            "warcinfo",
            [("WARC-Filename", path.name), ("WARC-Date", warc_date(datetime.now(UTC)))],
            fields.encode("utf-8"),
            content_type="application/warc-fields",
        )
        handle.write(info)
        self.files.append(path)
        self._handle, self._name = handle, self._relative(path)
        return handle

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
        handle = self._open()
        date = warc_date(fetched_at or datetime.now(UTC))
        http = http_header_block(
            f"HTTP/1.1 {status} {_reason(status)}", _http_headers(response_headers, len(body))
        )
        payload_digest = payload_digest_of(body)
        record_id, response = warc_record(
            "response",
            [("WARC-Date", date), ("WARC-Target-URI", url)],
            http + body,
            content_type="application/http; msgtype=response",
            payload_digest=payload_digest,
        )
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_http = http_header_block(
            f"{method} {target} HTTP/1.1", [("Host", parts.netloc), *request_headers]
        )
        _, request = warc_record(
            "request",
            [("WARC-Date", date), ("WARC-Target-URI", url), ("WARC-Concurrent-To", record_id)],
            request_http,
            content_type="application/http; msgtype=request",
            payload_digest=_EMPTY_DIGEST,
        )
        offset = handle.tell()
        handle.write(response)
        handle.write(request)
        handle.flush()
        ref = WarcRef(
            record_id=record_id,
            warc_file=self._name,
            offset=offset,
            length=len(response),
            payload_digest=payload_digest,
        )
        if handle.tell() >= self.max_bytes:
            self._close_file()
        return ref

    def _close_file(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = None

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
