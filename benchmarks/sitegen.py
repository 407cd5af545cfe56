"""The demo site at benchmark scale, and a server fast enough never to be what a crawl waits for.

    .venv/bin/python benchmarks/sitegen.py serve [--releases 10000] [--port 0]
    .venv/bin/python benchmarks/sitegen.py load http://127.0.0.1:PORT [--connections 1]

The site is the demo dataset (`archiver.demo.dataset.build_dataset`, with all its quirks: cards
without a date, labels missing, tracking links) copied until it holds `--releases` releases, all
in the unfiltered `/news/` listing, rendered once by `archiver.demo.render.render_page` into
complete HTTP responses kept in memory.

Why not `archiver.demo.server.DemoServer`: it is a `ThreadingHTTPServer` that starts a thread,
parses headers with `email.parser` and hashes the body for an ETag on every request; on two cores
that is a cost the crawler would pay in the comparison. Here an asyncio protocol answers a
keep-alive GET with one `transport.write` of prepared bytes, in its own process so it never
shares a GIL with the crawler or with the process that measures it. `load` measures what it
can serve, so a benchmark can print the server's ceiling next to the crawl rates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlsplit

from archiver.demo.dataset import Dataset, build_dataset
from archiver.demo.render import ROBOTS_TXT, listing_path, render_not_found, render_page

DEFAULT_RELEASES = 10_000


def scaled_dataset(releases: int = DEFAULT_RELEASES) -> Dataset:
    """The demo dataset copied (slugs made unique per copy) until it has `releases` releases.

    Copies keep each release's title, summary, date and quirks, so the pipelines meet the same
    mix of cases as on the demo site (about 1 card in 200 has no date and is refused). Only the
    unfiltered listing is served, so facets are dropped; every page holds 10 cards.
    """
    base = build_dataset().releases
    copies = math.ceil(releases / len(base))
    scaled = tuple(
        replace(release, slug=f"{release.slug}-b{copy}", facets=frozenset())
        for copy in range(copies)
        for release in base
    )[:releases]
    return Dataset(releases=scaled, page_sizes={})


def _response(status: str, body: bytes, content_type: str = "text/html; charset=UTF-8") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode("ascii") + body


def site_responses(dataset: Dataset, layout: str = "current") -> dict[bytes, bytes]:
    """Complete HTTP responses by request target (`/news/page/2/`), robots.txt included."""
    pages = dataset.pages(None)
    responses = {
        b"/robots.txt": _response("200 OK", ROBOTS_TXT.encode(), "text/plain; charset=utf-8")
    }
    for number, releases in enumerate(pages, start=1):
        body = render_page(layout, releases, None, number, len(pages)).encode("utf-8")
        responses[listing_path(None, number).encode("ascii")] = _response("200 OK", body)
    return responses


class _SiteProtocol(asyncio.Protocol):
    """HTTP/1.1 GET with keep-alive and pipelining; nothing else (benchmark clients only)."""

    def __init__(self, responses: dict[bytes, bytes], not_found: bytes) -> None:
        self.responses = responses
        self.not_found = not_found
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            request_line, _, headers = head.partition(b"\r\n")
            parts = request_line.split(b" ")
            target = parts[1] if len(parts) == 3 else b""
            self.transport.write(self.responses.get(target, self.not_found))
            if b"connection: close" in headers.lower():
                self.transport.close()
                return


async def _serve(responses: dict[bytes, bytes], not_found: bytes, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _SiteProtocol(responses, not_found), "127.0.0.1", port, backlog=256
    )
    bound = server.sockets[0].getsockname()[1]
    # The parent waits for this line before it starts crawling.
    print(f"listening http://127.0.0.1:{bound} pages={len(responses) - 1}", flush=True)
    async with server:
        await server.serve_forever()


def serve(releases: int, port: int, layout: str) -> None:
    """Build the site and serve it until killed."""
    responses = site_responses(scaled_dataset(releases), layout)
    not_found = _response("404 Not Found", render_not_found(layout).encode("utf-8"))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends a manual `serve` quietly
        asyncio.run(_serve(responses, not_found, port))


# ------------------------------------------------------------------ load client ---------------


def _targets(pages: int) -> Iterator[bytes]:
    while True:
        for number in range(1, pages + 1):
            yield listing_path(None, number).encode("ascii")


async def _client(host: str, port: int, deadline: float, pages: int, counts: list[int]) -> None:
    """One keep-alive connection asking for pages one after another until `deadline`."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for target in _targets(pages):
            if time.perf_counter() >= deadline:
                break
            writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: bench\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            counts[0] += 1
            counts[1] += length
    finally:
        writer.close()


async def _load(url: str, seconds: float, connections: int, pages: int) -> tuple[int, int, float]:
    parts = urlsplit(url)
    counts = [0, 0]
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _client(
                parts.hostname or "127.0.0.1", parts.port or 80, started + seconds, pages, counts
            )
            for _ in range(connections)
        )
    )
    return counts[0], counts[1], time.perf_counter() - started


def load(url: str, seconds: float = 2.0, connections: int = 1, pages: int = 100) -> float:
    """Requests per second the server at `url` answers (listing pages 1..`pages`, in a loop)."""
    done, size, elapsed = asyncio.run(_load(url, seconds, connections, pages))
    rate = done / elapsed
    print(
        f"{rate:.1f} req/s  ({done} requests, {size / elapsed / 1e6:.1f} MB/s, {connections} conn)"
    )
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="serve the benchmark site on 127.0.0.1")
    serve_parser.add_argument("--releases", type=int, default=DEFAULT_RELEASES)
    serve_parser.add_argument("--port", type=int, default=0)
    serve_parser.add_argument("--layout", default="current", choices=["current", "previous"])
    load_parser = commands.add_parser("load", help="measure a server's requests per second")
    load_parser.add_argument("url")
    load_parser.add_argument("--seconds", type=float, default=2.0)
    load_parser.add_argument("--connections", type=int, default=1)
    load_parser.add_argument("--pages", type=int, default=100, help="cycle over pages 1..N")
    options = parser.parse_args(argv)
    if options.command == "serve":
        serve(options.releases, options.port, options.layout)
    else:
        load(options.url, options.seconds, options.connections, options.pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
