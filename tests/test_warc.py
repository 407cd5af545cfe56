"""The raw page archive: valid WARC files that warcio reads back, with matching digests."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from archiver.db import make_engine
from archiver.db.models import Release, WarcPage
from archiver.outcome import EXIT_OK
from archiver.warcfile import RotatingWarcWriter, iter_pages, read_record


def sha1_digest(payload: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode()


def records(path: Path) -> list[tuple[str, str | None, bytes, str | None]]:
    """(type, target URI, payload, payload digest) of every record, digests checked by warcio."""
    found = []
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle, check_digests="raise"):
            payload = record.content_stream().read()
            found.append(
                (
                    record.rec_type,
                    record.rec_headers.get_header("WARC-Target-URI"),
                    payload,
                    record.rec_headers.get_header("WARC-Payload-Digest"),
                )
            )
    return found


def test_writer_rotates_by_size_and_records_read_back(tmp_path: Path) -> None:
    writer = RotatingWarcWriter(tmp_path / "warc", root=tmp_path, max_bytes=1500)
    refs = []
    bodies = [f"<html>page {n} ".encode() + os.urandom(1200) + b"</html>" for n in range(4)]
    for number, body in enumerate(bodies, start=1):
        refs.append(
            writer.write_exchange(
                f"https://www.amnestyusa.org/news/page/{number}/",
                status=200,
                response_headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                body=body,
                request_headers=[("User-Agent", "archiver-test")],
            )
        )
    writer.close()
    assert len(writer.files) == 4  # each pair passed 1500 bytes: one file per page
    assert len({path.name for path in writer.files}) == 4
    for ref, body in zip(refs, bodies, strict=True):
        assert ref.warc_file.startswith("warc/archiver-") and ref.warc_file.endswith(".warc.gz")
        page = read_record(tmp_path / ref.warc_file, ref.offset)
        assert (page.record_id, page.body, page.status) == (ref.record_id, body, 200)
        # Scrapy already decoded the body: the original header is kept under another name.
        assert ("X-Archiver-Orig-Content-Encoding", "gzip") in page.headers
        assert ref.payload_digest == sha1_digest(body)
    kinds = [kind for path in writer.files for kind, *_ in records(path)]
    assert kinds == ["warcinfo", "response", "request"] * 4


def test_records_with_non_ascii_headers_read_back_with_their_digests(tmp_path: Path) -> None:
    """The records are put together by archiver.warcfile, not warcio's builder: warcio must
    still read them, check both digests, and link the request to its response. (Scrapy's
    request URLs are percent-encoded; header values may hold any Latin-1 byte.)"""
    writer = RotatingWarcWriter(tmp_path, max_bytes=10**6)
    url = "https://www.amnestyusa.org/news/caf%C3%A9/?q=%C3%B1"
    body = "<html>Café – “quoted”</html>".encode()
    ref = writer.write_exchange(
        url,
        status=200,
        response_headers=[("Content-Type", "text/html"), ("X-Title", "Caf\xe9")],
        body=body,
        request_headers=[("Referer", url)],
    )
    writer.close()
    found = records(writer.files[0])  # digests checked by warcio
    assert [(kind, target) for kind, target, *_ in found] == [
        ("warcinfo", None),
        ("response", url),
        ("request", url),
    ]
    page = read_record(writer.files[0], ref.offset)
    assert (page.url, page.body, page.record_id) == (url, body, ref.record_id)
    with open(writer.files[0], "rb") as handle:
        request = next(each for each in ArchiveIterator(handle) if each.rec_type == "request")
        assert request.rec_headers.get_header("WARC-Concurrent-To") == ref.record_id
        assert request.content_stream().read() == b""


@pytest.mark.slow
def test_crawl_archives_every_listing_page(sqlite_url: str, demo_server, crawl, tmp_path) -> None:
    result = crawl(demo_server, db_url=sqlite_url, country="syria")
    assert result.returncode == EXIT_OK, result.message
    files = sorted((tmp_path / "data" / "warc").glob("*.warc.gz"))
    assert len(files) == 1
    found = records(files[0])  # raises on any block or payload digest mismatch
    responses = [(uri, body, digest) for kind, uri, body, digest in found if kind == "response"]
    requests = [uri for kind, uri, *_ in found if kind == "request"]
    assert len(responses) == len(requests) == 7
    base = demo_server.base_url
    for uri, body, digest in responses:
        assert uri is not None and uri.startswith(base + "/news/")
        status, served = demo_server.site.lookup(uri.removeprefix(base))
        assert (status, body) == (200, served)  # exactly the bytes the site served
        assert digest == sha1_digest(body)
    assert len(list(iter_pages(files[0], check_digests=True))) == 7

    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            pages = connection.execute(select(*WarcPage.__table__.columns)).all()
            rows = connection.execute(
                select(Release.first_warc_record, Release.last_warc_record)
            ).all()
    finally:
        engine.dispose()
    assert len(pages) == 7
    assert {page.run_id for page in pages} == {result.stat("archiver/run_id")}
    assert {page.facet for page in pages} == {"country=syria"}
    for page in pages:
        archived = read_record(tmp_path / "data" / page.warc_file, page.offset)
        assert archived.record_id == page.record_id and archived.url == page.url
    # Every release points at the archived page it was read from.
    record_ids = {page.record_id for page in pages}
    assert len(rows) == 70
    assert all(first in record_ids and last in record_ids for first, last in rows)


@pytest.mark.slow
def test_concurrent_crawls_and_rotation_never_share_a_file(demo_server, crawl, tmp_path) -> None:
    settings = {"ARCHIVER_WARC_MAX_BYTES": 1}
    assert crawl(demo_server, settings=settings, country="syria").ok
    assert crawl(demo_server, settings=settings, issue="death-penalty", max_pages="2").ok
    files = sorted((tmp_path / "data" / "warc").glob("*.warc.gz"))
    assert len(files) == 7 + 2  # one file per page at this size, names never reused
    pids = {path.name.split("-")[2] for path in files}
    assert len(pids) == 2
    for path in files:
        assert [kind for kind, *_ in records(path)] == ["warcinfo", "response", "request"]


@pytest.mark.parametrize(
    ("first_line", "headers"),
    [
        ("HTTP/1.1 200 OK", [("Content-Type", "text/html"), ("Content-Length", "12")]),
        ("HTTP/1.1 404 Not Found", []),
        ("HTTP/1.1 200 OK", [("X-Title", "Caf\xe9 \u2013 news")]),
        ("GET /news/?page=2 HTTP/1.1", [("Host", "127.0.0.1:8000"), ("Referer", "/x/é")]),
    ],
)
def test_http_header_block_is_warcios(first_line: str, headers: list[tuple[str, str]]) -> None:
    from warcio.statusandheaders import StatusAndHeaders

    from archiver.warcfile import http_header_block

    if first_line.startswith("HTTP/"):
        protocol, status = first_line.split(" ", 1)
        expected = StatusAndHeaders(status, list(headers), protocol=protocol).to_ascii_bytes()
    else:
        expected = StatusAndHeaders(first_line, list(headers), is_http_request=True)
        expected = expected.to_ascii_bytes()
    assert http_header_block(first_line, headers) == expected
