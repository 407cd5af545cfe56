"""Fixtures that serve the demo site on 127.0.0.1 (port 0) and crawl it with the real spider.

Nothing here reaches the internet: every server binds to loopback and every crawl gets the local
`base_url`. Crawls run as separate processes through archiver.crawl.run_crawl, as in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from archiver.demo.dataset import Dataset, build_dataset
from archiver.demo.server import DemoServer
from archiver.process.crawl import LOCAL_SITE_SETTINGS, CrawlResult, run_crawl


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    """The demo site's releases (built once; it is immutable)."""
    return build_dataset()


@pytest.fixture
def demo_server() -> Iterator[DemoServer]:
    """The shipped copy of the site, current layout, on a free port."""
    with DemoServer(layout="current") as server:
        yield server


@pytest.fixture
def previous_server() -> Iterator[DemoServer]:
    """The shipped copy of the site, previous layout, on a free port."""
    with DemoServer(layout="previous") as server:
        yield server


CrawlFn = Callable[..., CrawlResult]


def without_listing(body: bytes) -> bytes:
    """A current-layout page whose card grid gave way to a notice: a 200 page with no listing
    any rule can see (the pagination stays, so the crawl knows there was more to read)."""
    start = body.index(b'<div class="ts-grid-col-3-outline">')
    end = body.index(b'<nav class="navigation')
    notice = b'<div class="newsroom-notice"><p>Our newsroom is moving.</p></div>\n'
    return body[:start] + notice + body[end:]


#: The layout an operator writes for the demo site's `redesign` after the run it flagged: its
#: classes for every field (docs/extraction.md, "Adding a layout").
REDESIGN_LAYOUT_TOML = """\
include_shipped = true

[[layout]]
name = "redesign-2027"
card = [".news-teaser"]
link = [".news-teaser__title a::attr(href)"]
title = [".news-teaser__title"]
date = [".news-teaser__date"]
label = [".news-teaser__kicker"]
summary = [".news-teaser__excerpt"]
image = [".news-teaser__media img"]
caption = [".news-teaser__caption"]
credit = [".news-teaser__credit"]
"""


@pytest.fixture
def crawl(tmp_path: Path) -> CrawlFn:
    """Run the amnestyusa spider against a server.

    `crawl(server, country="syria", db_url=..., settings={...})` returns the CrawlResult. Storage
    is off unless `db_url` is given; without it the items land in a JSONL feed in tmp_path and the
    result gets an extra attribute `items` (the feed's rows). With a database there is no feed:
    a feed makes a crawl read every page, which would hide the incremental rules under test.
    """
    import json

    counter = iter(range(1_000_000))

    def run(
        server: DemoServer,
        *,
        db_url: str | None = None,
        settings: dict[str, Any] | None = None,
        **args: str,
    ) -> CrawlResult:
        feed = tmp_path / f"items-{next(counter)}.jsonl"
        all_settings: dict[str, Any] = {**LOCAL_SITE_SETTINGS}
        if db_url is None:
            all_settings["ARCHIVER_STORE_ENABLED"] = False
            all_settings["FEEDS"] = {str(feed): {"format": "jsonlines", "overwrite": True}}
        all_settings.update(settings or {})
        result = run_crawl(
            "amnestyusa",
            {**args, "base_url": server.base_url},
            db_url=db_url,
            data_dir=tmp_path / "data",
            settings=all_settings,
            timeout=120,
        )
        rows = []
        if feed.exists():
            rows = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]
        result.items = rows  # type: ignore[attr-defined]
        return result

    return run
