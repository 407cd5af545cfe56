"""Release pages through real crawls: `--details` and `archiver enrich`, on SQLite and PostgreSQL.

The real spider, downloader, pipelines and store, in a child process, against the local copy of
the site with its release pages (archiver.demo.details): every release read once with values
equal to the page's ground truth, nothing fetched again when nothing changed, an edited page
kept as a version, moved and deleted releases recorded on the same release, a failing page
counted without failing the run and read by the next one, and search over the bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from archiver.db import make_engine
from archiver.db.details import text_versions
from archiver.db.search import search_releases
from archiver.db.tables import RELEASES, TEXTS, WARC_PAGES
from archiver.demo.dataset import SYRIA, Dataset, with_body, with_deleted, with_title
from archiver.demo.details import detail_truth
from archiver.demo.faults import Fault, FaultPlan
from archiver.demo.render import render_site
from archiver.demo.server import DemoServer
from archiver.process.crawl import LOCAL_SITE_SETTINGS, CrawlResult, run_crawl
from tests.plugins.cli import run_cli

pytestmark = pytest.mark.slow

DETAILS = {"ARCHIVER_DETAILS": True}


@pytest.fixture
def site(dataset: Dataset) -> Iterator[DemoServer]:
    with DemoServer(render_site(dataset, "current")) as server:
        yield server


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def crawl(
    server: DemoServer, db_url: str, tmp_path: Path, spider: str = "amnestyusa", **args: Any
) -> CrawlResult:
    settings = {**LOCAL_SITE_SETTINGS, **DETAILS, **args.pop("settings", {})}
    return run_crawl(
        spider,
        {**args, "base_url": server.base_url},
        db_url=db_url,
        data_dir=tmp_path / "data",
        settings=settings,
        timeout=180,
    )


def texts(engine: Engine) -> dict[str, Any]:
    """`release url -> release_texts row` of every release whose page was tried."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(RELEASES.c.url, TEXTS).join(TEXTS, TEXTS.c.release_id == RELEASES.c.id)
        )
        return {row.url: row for row in rows}


def detail_requests(server: DemoServer) -> list[str]:
    return [path for path in server.requests if not path.startswith(("/news/", "/robots.txt"))]


def test_every_release_page_is_read_once_with_the_pages_values(
    site: DemoServer, dataset: Dataset, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    result = crawl(site, db_url, tmp_path, country="syria")
    assert result.returncode == 0, result.message
    syria = dataset.listing(SYRIA)
    stored = texts(engine)
    assert set(stored) == {release.canonical_url for release in syria}
    stats = result.stats
    assert stats["archiver/details/due"] == len(syria) == 70
    gone = [r for r in syria if r.detail.gone]
    moved = [r for r in syria if r.detail.moved_to]
    assert (len(gone), len(moved)) == (1, 1)
    assert stats["archiver/details/enriched"] == len(syria) - len(gone)
    assert stats["archiver/details/gone"] == len(gone)
    assert stats["archiver/details/moved"] == len(moved)
    for release in syria:
        row = stored[release.canonical_url]
        if release.detail.gone:
            assert (row.status, row.http_status, row.body) == ("gone", release.detail.gone, None)
            assert row.gone_at is not None
            continue
        truth = detail_truth(release)
        assert row.status == "enriched"
        assert row.headline == truth.headline
        assert row.body == truth.body
        assert row.contact == truth.contact
        assert tuple(row.tags) == truth.tags
        assert [a["url"] for a in row.attachments] == list(truth.attachments)
        assert row.canonical_url == truth.canonical_url
        assert row.language == truth.language
        assert row.page_published_on == truth.published_on
        assert row.provenance["body"] == "site"
        assert row.warc_record is not None
    # A moved release stays one release, with where its page went.
    (mover,) = moved
    row = stored[mover.canonical_url]
    assert row.moved_to == row.canonical_url == detail_truth(mover).canonical_url
    assert row.moved_to != mover.canonical_url
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(RELEASES)).scalar() == 70
        archived = connection.execute(
            select(func.count()).select_from(WARC_PAGES).where(WARC_PAGES.c.kind == "detail")
        ).scalar()
    assert archived == len(syria)  # the 404 too: the answer that made the release gone
    # Disagreements are counted per run and kept per release.
    edited = [r for r in syria if r.detail.headline]
    assert edited
    for release in edited:
        assert "title" in stored[release.canonical_url].disagreements
    assert stats["archiver/details/disagreements/title"] == len(edited)

    # Nothing changed: the second run asks for no release page at all.
    site.requests.clear()
    again = crawl(site, db_url, tmp_path, country="syria")
    assert again.returncode == 0, again.message
    assert again.stats["archiver/details/due"] == 0
    assert detail_requests(site) == []


def test_an_edit_is_read_again_and_kept_as_a_version(
    site: DemoServer, dataset: Dataset, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    crawl(site, db_url, tmp_path, country="syria", settings={"ARCHIVER_INCREMENTAL": "off"})
    release = next(r for r in dataset.listing(SYRIA) if not r.detail.gone and not r.detail.moved_to)
    before = detail_truth(release)
    # The site edits the release's page, and its card's title (a listing edit makes it due).
    edited = with_body(dataset, release.slug, "Update: the authorities have since responded.")
    edited = with_title(edited, release.slug, release.title.strip() + " (updated)")
    site.site = render_site(edited, "current")
    site.requests.clear()
    result = crawl(site, db_url, tmp_path, country="syria")
    assert result.returncode == 0, result.message
    assert result.stats["archiver/details/due"] == 1
    assert result.stats["archiver/details/changed"] == 1
    assert detail_requests(site) == [release.page_path]
    row = texts(engine)[release.canonical_url]
    assert row.body == detail_truth(edited.by_slug(release.slug)).body != before.body
    with engine.connect() as connection:
        (version,) = text_versions(connection, row.release_id)
    assert version.body == before.body
    assert version.seen_until == row.text_since

    # `archiver enrich --refresh` asks for every page again, conditionally: one changed; the
    # rest answer 304, or 200 with the same text where only chrome changed (a related release's
    # title).
    changed = with_body(edited, release.slug, "A second update.")
    site.site = render_site(changed, "current")
    refresh = crawl(site, db_url, tmp_path, spider="enrich", refresh="1", facet=SYRIA)
    assert refresh.returncode == 0, refresh.message
    assert refresh.stats["archiver/details/changed"] == 1
    readable = len([r for r in dataset.listing(SYRIA) if not r.detail.gone])
    stats = refresh.stats
    assert stats["archiver/details/not_modified"] + stats["archiver/details/unchanged"] == (
        readable - 1
    )
    assert stats["archiver/details/not_modified"] > readable / 2
    with engine.connect() as connection:
        assert len(text_versions(connection, row.release_id)) == 2


def test_a_failing_page_never_fails_the_run_and_is_read_next_time(
    site: DemoServer, dataset: Dataset, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    release = next(r for r in dataset.listing(SYRIA) if not r.detail.gone and not r.detail.moved_to)
    site.faults = FaultPlan({release.page_path: Fault("status", status=503)})
    first = crawl(site, db_url, tmp_path, country="syria")
    assert first.returncode == 0, first.message
    assert first.outcome.status == "finished"
    assert first.message == (
        "listing ok; 1 of 70 release page(s) could not be read (tried again next run)"
    )
    row = texts(engine)[release.canonical_url]
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "HTTP 503")

    site.faults = FaultPlan()
    site.requests.clear()
    second = crawl(site, db_url, tmp_path, country="syria")
    assert second.returncode == 0, second.message
    assert second.stats["archiver/details/due"] == 1
    assert detail_requests(site) == [release.page_path]
    row = texts(engine)[release.canonical_url]
    assert (row.status, row.attempts, row.body) == ("enriched", 0, detail_truth(release).body)


def test_enrich_backfills_and_marks_a_deleted_release_gone(
    site: DemoServer, dataset: Dataset, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    # An archive crawled without --details, then enriched in two goes.
    listing = crawl(site, db_url, tmp_path, country="syria", settings={"ARCHIVER_DETAILS": False})
    assert listing.returncode == 0 and "archiver/details/due" not in listing.stats
    assert texts(engine) == {}
    first = crawl(site, db_url, tmp_path, spider="enrich", limit="10")
    assert first.returncode == 0, first.message
    assert first.stats["archiver/details/due"] == 10
    newest = dataset.listing(SYRIA)[:10]
    assert set(texts(engine)) == {r.canonical_url for r in newest}
    rest = crawl(site, db_url, tmp_path, spider="enrich", since="2011-01-01")
    assert rest.returncode == 0, rest.message
    assert len(texts(engine)) == 70
    # A release deleted on the site since: gone, with the date, never deleted here.
    readable = next(r for r in dataset.listing(SYRIA) if not (r.detail.gone or r.detail.moved_to))
    site.site = render_site(with_deleted(dataset, readable.slug, status=410), "current")
    refresh = crawl(site, db_url, tmp_path, spider="enrich", refresh="1")
    assert refresh.returncode == 0, refresh.message
    row = texts(engine)[readable.canonical_url]
    assert (row.status, row.http_status) == ("gone", 410)
    assert row.body == detail_truth(readable).body  # the text read before stays
    assert len(texts(engine)) == 70


def test_search_finds_phrases_of_bodies_in_rank_order(
    site: DemoServer, dataset: Dataset, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    plain = [r for r in dataset.listing(SYRIA) if not (r.detail.gone or r.detail.moved_to)]
    once, thrice, titled = plain[3], plain[10], plain[20]
    changed = with_body(dataset, once.slug, "Witnesses described a zirconium lighthouse nearby.")
    changed = with_body(
        changed,
        thrice.slug,
        "The zirconium lighthouse was shelled; the zirconium lighthouse burned; the zirconium"
        " lighthouse stands.",
    )
    changed = with_title(changed, titled.slug, "Syria: the lighthouse keepers of Latakia")
    site.site = render_site(changed, "current")
    result = crawl(site, db_url, tmp_path, country="syria")
    assert result.returncode == 0, result.message
    with engine.connect() as connection:
        phrase = search_releases(connection, '"zirconium lighthouse"')
        word = search_releases(connection, "lighthouses")  # stemmed: lighthouse(s)
        nothing = search_releases(connection, '"lighthouse zirconium"')
    assert [hit.url for hit in phrase] == [thrice.canonical_url, once.canonical_url]
    assert "zirconium" in phrase[0].snippet and "[" in phrase[0].snippet
    assert [hit.url for hit in word] == [
        titled.canonical_url,
        thrice.canonical_url,
        once.canonical_url,
    ]
    assert nothing == []
    cli = run_cli("search", '"zirconium lighthouse"', "--db", db_url, "--json")
    assert cli.returncode == 0, cli.stderr
    assert [json.loads(line)["url"] for line in cli.stdout.splitlines()] == [
        thrice.canonical_url,
        once.canonical_url,
    ]


def test_reparse_reads_archived_release_pages_again(
    site: DemoServer, dataset: Dataset, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    from archiver.process.reparse import run_reparse

    first = crawl(site, db_url, tmp_path, country="syria")
    before = texts(engine)
    result = run_reparse(
        run_id=first.stats["archiver/run_id"], db_url=db_url, data_dir=tmp_path / "data"
    )
    assert result.returncode == 0, result.message
    assert result.stats["archiver/details/unchanged"] == len(
        [r for r in dataset.listing(SYRIA) if not r.detail.gone]
    )
    after = texts(engine)
    assert {url: row.body for url, row in after.items()} == {
        url: row.body for url, row in before.items()
    }


def test_a_schedule_with_details_reads_release_pages(
    site: DemoServer, sqlite_url: str, tmp_path: Path
) -> None:
    fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"]
    add = run_cli(
        "schedule", "add", "syria", "--spider", "amnestyusa", "-a", "country=syria",
        "-a", f"base_url={site.base_url}", *fast, "--every", "6h", "--details",
        "--db", sqlite_url, cwd=tmp_path,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    fired = run_cli("schedule", "run", "syria", "--db", sqlite_url, cwd=tmp_path)
    assert fired.returncode == 0, fired.stderr
    engine = make_engine(sqlite_url)
    try:
        assert len(texts(engine)) == 70
    finally:
        engine.dispose()
