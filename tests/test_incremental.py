"""Incremental crawls against the local site: real spider, real pipelines, real databases.

Scheduled runs must cost one or two page fetches when nothing changed, yet never miss a release
pushed down a page by new ones, and still store an edit made on page 1.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from archiver.db import make_engine
from archiver.db.models import CrawlRun, ListingValidator, Release, ReleaseFacet, ReleaseVersion
from archiver.demo.dataset import SYRIA, Dataset, with_new_releases, with_title
from archiver.demo.render import render_site
from archiver.demo.server import DemoServer
from archiver.outcome import EXIT_OK

pytestmark = pytest.mark.slow

# Newer than every release of the demo site (newest: 2026-11-20), so they lead page 1.
NEW_DAY = date(2026, 11, 21)
FULL = {"ARCHIVER_INCREMENTAL": "off"}


def listing_requests(server: DemoServer) -> list[str]:
    return [path for path in server.requests if path.startswith("/news/")]


def releases(db_url: str) -> dict[str, tuple[str, frozenset[str]]]:
    """url -> (content hash, facets): what the archive holds, to compare two archives."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(Release.id, Release.url, Release.content_hash)).all()
            facets: dict[int, set[str]] = {}
            for release_id, facet in connection.execute(
                select(ReleaseFacet.release_id, ReleaseFacet.facet)
            ):
                facets.setdefault(release_id, set()).add(facet)
    finally:
        engine.dispose()
    return {row.url: (row.content_hash, frozenset(facets.get(row.id, ()))) for row in rows}


def last_run(db_url: str) -> CrawlRun:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
            count = connection.execute(select(func.count()).select_from(ListingValidator))
            assert count.scalar_one() >= 1
    finally:
        engine.dispose()
    assert row is not None
    return row  # type: ignore[return-value]


def test_unchanged_site_costs_one_conditional_request(db_url: str, demo_server, crawl) -> None:
    first = crawl(demo_server, db_url=db_url, country="syria")
    assert first.returncode == EXIT_OK, first.message
    assert first.stats["archiver/incremental"] == "off"  # nothing stored yet: a full crawl
    assert first.stat("archiver/store/new") == 70

    demo_server.requests.clear()
    second = crawl(demo_server, db_url=db_url, country="syria")
    assert second.returncode == EXIT_OK, second.message
    assert second.message.startswith("ok; stopped after 1 page(s)")
    assert second.stats["archiver/incremental"] == "on"
    # One listing page, answered 304 (its ETag was sent back), nothing added.
    assert listing_requests(demo_server) == ["/news/?country=syria"]
    assert second.stat("archiver/pages_not_modified") == 1
    assert second.stat("archiver/conditional/sent") == 1
    assert second.stat("archiver/store/new") == 0
    assert second.stats["archiver/stopped_by"] == "incremental"
    run = last_run(db_url)
    assert (run.status, run.items_new, run.health) == ("finished", 0, None)
    assert len(releases(db_url)) == 70


def test_without_conditional_requests_it_reads_exactly_page_one(
    sqlite_url: str, demo_server, crawl
) -> None:
    settings: dict[str, Any] = {"ARCHIVER_CONDITIONAL_REQUESTS": False}
    assert crawl(demo_server, db_url=sqlite_url, settings=settings, country="syria").ok
    demo_server.requests.clear()
    second = crawl(demo_server, db_url=sqlite_url, settings=settings, country="syria")
    assert second.returncode == EXIT_OK, second.message
    assert listing_requests(demo_server) == ["/news/?country=syria"]
    assert second.stat("archiver/listing_pages") == 1
    assert second.stat("archiver/store/unchanged") == 10
    assert second.stat("archiver/store/new") == 0
    # Two pages must be unchanged in a row when asked for.
    demo_server.requests.clear()
    third = crawl(
        demo_server,
        db_url=sqlite_url,
        settings={**settings, "ARCHIVER_INCREMENTAL_PAGES": 2},
        country="syria",
    )
    assert third.ok, third.message
    assert listing_requests(demo_server) == ["/news/?country=syria", "/news/page/2/?country=syria"]


def test_new_items_pushing_old_ones_down_are_all_stored(
    db_url: str, dataset: Dataset, crawl, tmp_path: Path
) -> None:
    full_copy = f"sqlite:///{tmp_path / 'full-copy.db'}"
    before = render_site(dataset, "current")
    after = render_site(with_new_releases(dataset, 5, SYRIA, on=NEW_DAY), "current")
    with DemoServer(before) as server:
        assert crawl(server, db_url=db_url, country="syria").ok
        assert crawl(server, db_url=full_copy, settings=FULL, country="syria").ok

        server.site = after
        server.requests.clear()
        result = crawl(server, db_url=db_url, country="syria")
        assert result.returncode == EXIT_OK, result.message
        # Page 1 holds the 5 new items and 5 known ones; page 2 (5 pushed down + 5 more) is all
        # known: the crawl stops there, page 3 is never asked for.
        assert listing_requests(server) == ["/news/?country=syria", "/news/page/2/?country=syria"]
        assert result.stat("archiver/store/new") == 5
        assert result.stat("archiver/store/unchanged") == 15

        full = crawl(server, db_url=full_copy, settings=FULL, country="syria")
        assert full.ok, full.message
        assert full.stat("archiver/listing_pages") == 8
        assert full.stat("archiver/store/new") == 5

    incremental_archive = releases(db_url)
    assert len(incremental_archive) == 75  # 70 + 5, nothing lost, nothing twice
    assert incremental_archive == releases(full_copy)
    new_urls = {url for url in incremental_archive if "/new-release-" in url}
    assert len(new_urls) == 5


def test_item_edited_on_page_one_is_updated(
    sqlite_url: str, dataset: Dataset, crawl, demo_server
) -> None:
    assert crawl(demo_server, db_url=sqlite_url, country="syria").ok
    slug = dataset.pages(SYRIA)[0][3].slug
    demo_server.site = render_site(with_title(dataset, slug, "A corrected title"), "current")
    demo_server.requests.clear()
    result = crawl(demo_server, db_url=sqlite_url, country="syria")
    assert result.returncode == EXIT_OK, result.message
    # The ETag changed, so page 1 was read; it held an edit, so page 2 was read too.
    assert listing_requests(demo_server) == [
        "/news/?country=syria",
        "/news/page/2/?country=syria",
    ]
    assert result.stat("archiver/store/updated") == 1
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            title = connection.execute(
                select(Release.title).where(Release.url.endswith(f"/{slug}/"))
            ).scalar_one()
            versions = connection.execute(select(func.count()).select_from(ReleaseVersion))
            assert versions.scalar_one() == 1
    finally:
        engine.dispose()
    assert title == "A corrected title"


def test_auto_mode_needs_a_complete_earlier_run(sqlite_url: str, demo_server, crawl) -> None:
    # A first crawl cut short by max_pages must not make the next one incremental: the
    # pages it never read would never be read.
    partial = crawl(demo_server, db_url=sqlite_url, country="syria", max_pages="2")
    assert partial.ok, partial.message
    second = crawl(demo_server, db_url=sqlite_url, country="syria")
    assert second.stats["archiver/incremental"] == "off"
    reason = second.stats["archiver/incremental/reason"]
    assert reason == (
        "pages from 3 on were not read (stopped after page 2 (max_pages)): reading to the end"
    )
    assert second.stat("archiver/store/new") == 50
    # `-a incremental=off` (as `archiver crawl --full`) reads everything again.
    demo_server.requests.clear()
    third = crawl(demo_server, db_url=sqlite_url, country="syria", incremental="off")
    assert third.ok, third.message
    assert len(listing_requests(demo_server)) == 7


def test_archiver_crawl_full_reads_every_page(
    sqlite_url: str, demo_server, crawl, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from archiver.cli import main

    assert crawl(demo_server, db_url=sqlite_url, country="syria").ok
    command = [
        "crawl",
        "amnestyusa",
        "-a",
        "country=syria",
        "-a",
        f"base_url={demo_server.base_url}",
    ]
    command += ["--db", sqlite_url, "--data-dir", str(tmp_path / "data"), "-q"]
    command += ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"]
    for extra, pages in (([], 1), (["--full"], 7)):
        demo_server.requests.clear()
        result = CliRunner().invoke(main, command + extra)
        assert result.exit_code == 0, result.output
        assert len(listing_requests(demo_server)) == pages, extra
