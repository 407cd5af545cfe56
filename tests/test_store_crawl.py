"""Real crawls of the local demo site into a real database (SQLite file and PostgreSQL).

Each crawl is the real spider and pipelines in a child process (archiver.crawl.run_crawl, through
the `crawl` fixture of tests.plugins.demo): a second crawl after the site changed, two crawls
writing at once, and a crawl killed with SIGKILL half-way.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from archiver.db import make_engine, open_archive
from archiver.db.models import CrawlRun, Release, ReleaseFacet, ReleaseVersion
from archiver.demo.dataset import (
    REFUGEES,
    SYRIA,
    Dataset,
    with_facet,
    with_new_releases,
    with_title,
)
from archiver.demo.render import render_site
from archiver.demo.server import DemoServer
from archiver.process.crawl import LOCAL_SITE_SETTINGS, CrawlResult, run_crawl
from tests.plugins.db import read_run

pytestmark = pytest.mark.slow

SYRIA_ARGS = {"country": "syria"}
# Read every page (no incremental stop), so each crawl sees the whole listing and the counts
# are exact; incremental runs are tested with archiver.incremental.
FULL = {"ARCHIVER_INCREMENTAL": "off"}
REFUGEE_ARGS = {"issue": "refugee-migrant-rights"}


@pytest.fixture
def site(dataset: Dataset) -> Iterator[DemoServer]:
    """The demo dataset served from memory, so a test can change the site between crawls."""
    with DemoServer(render_site(dataset, "current")) as server:
        yield server


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _count(engine: Engine, query: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _facets_of(engine: Engine, url: str) -> set[str]:
    query = (
        select(ReleaseFacet.facet)
        .join(Release, Release.id == ReleaseFacet.release_id)
        .where(Release.url == url)
    )
    with engine.connect() as connection:
        return set(connection.execute(query).scalars())


def _run(engine: Engine, result: CrawlResult) -> CrawlRun:
    run = read_run(engine, int(result.stats["archiver/run_id"]))
    assert run is not None
    return run


def _assert_no_duplicates(engine: Engine) -> None:
    with engine.connect() as connection:
        releases = connection.execute(select(func.count(Release.id))).scalar_one()
        distinct = connection.execute(
            select(func.count()).select_from(
                select(Release.source, Release.url).distinct().subquery()
            )
        ).scalar_one()
    assert releases == distinct


def test_second_crawl_after_the_site_changed(
    site: DemoServer, dataset: Dataset, db_url: str, engine: Engine, crawl: Callable[..., Any]
) -> None:
    syria, refugees = dataset.listing(SYRIA), dataset.listing(REFUGEES)
    only_syria = [r for r in syria if r.facets == {SYRIA}]
    edited, moved = only_syria[4], only_syria[9]

    first = [
        crawl(site, db_url=db_url, settings=FULL, **args) for args in (SYRIA_ARGS, REFUGEE_ARGS)
    ]
    assert all(result.ok for result in first), [result.message for result in first]
    union = {r.canonical_url for r in syria} | {r.canonical_url for r in refugees}
    assert _count(engine, select(func.count(Release.id))) == len(union)
    assert _run(engine, first[0]).items_new == len(syria)
    assert _run(engine, first[1]).items_new == len(refugees) - len(
        {r.slug for r in refugees} & {r.slug for r in syria}
    )

    changed = with_new_releases(dataset, 3, SYRIA, date(2026, 11, 28))
    changed = with_title(changed, edited.slug, edited.title.rstrip() + " (updated)")
    changed = with_facet(changed, moved.slug, REFUGEES)
    site.site = render_site(changed, "current")

    again = crawl(site, db_url=db_url, settings=FULL, **SYRIA_ARGS)
    assert again.ok, again.message
    run = _run(engine, again)
    assert (run.status, run.finish_reason) == ("finished", "ok")
    assert (run.items_new, run.items_updated, run.items_unchanged) == (3, 1, len(syria) - 1)
    assert run.items_seen == len(syria) + 3
    assert run.pages == again.stat("archiver/listing_pages") > 0

    refugees_again = crawl(site, db_url=db_url, settings=FULL, **REFUGEE_ARGS)
    assert refugees_again.ok, refugees_again.message
    run = _run(engine, refugees_again)
    assert (run.items_new, run.items_updated, run.items_unchanged) == (0, 0, len(refugees) + 1)

    assert _count(engine, select(func.count(Release.id))) == len(union) + 3
    _assert_no_duplicates(engine)
    with engine.connect() as connection:
        versions = connection.execute(
            select(ReleaseVersion.title, Release.title).join(
                Release, Release.id == ReleaseVersion.release_id
            )
        ).all()
    assert len(versions) == 1
    old_title, new_title = versions[0]
    assert new_title.endswith("(updated)") and not old_title.endswith("(updated)")
    assert _facets_of(engine, moved.canonical_url) == {SYRIA, REFUGEES}
    assert _facets_of(engine, edited.canonical_url) == {SYRIA}
    expected_facets = len(syria) + 3 + len(refugees) + 1
    assert _count(engine, select(func.count()).select_from(ReleaseFacet)) == expected_facets


def test_two_crawls_writing_at_the_same_time(
    dataset: Dataset, db_url: str, engine: Engine, crawl: Callable[..., Any]
) -> None:
    syria = dataset.listing(SYRIA)
    # A slow site and tiny batches: the two crawls interleave dozens of write transactions.
    settings = {"ARCHIVER_STORE_BATCH_SIZE": 3, "ARCHIVER_STORE_FLUSH_INTERVAL": 0.2}
    results: list[CrawlResult] = []
    with DemoServer(render_site(dataset, "current"), delay=0.05) as server:
        threads = [
            threading.Thread(
                target=lambda: results.append(
                    crawl(server, db_url=db_url, settings=settings, **SYRIA_ARGS)
                )
            )
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)

    assert len(results) == 2
    assert all(result.ok for result in results), [result.message for result in results]
    for result in results:
        assert result.log_path is not None
        assert "database is locked" not in result.log_path.read_text(errors="replace")
    runs = [_run(engine, result) for result in results]
    first, second = sorted(runs, key=lambda run: run.started_at)
    assert second.started_at < first.finished_at  # they really overlapped
    assert [run.items_seen for run in runs] == [len(syria), len(syria)]
    # Each release was new for exactly one of the two runs: no double counting, no loss.
    assert sum(run.items_new for run in runs) == len(syria)
    assert _count(engine, select(func.count(Release.id))) == len(syria)
    assert _count(engine, select(func.count()).select_from(ReleaseFacet)) == len(syria)
    _assert_no_duplicates(engine)


def test_crawl_killed_mid_way_keeps_its_batches_and_the_next_crawl_completes(
    dataset: Dataset,
    db_url: str,
    engine: Engine,
    crawl: Callable[..., Any],
    tmp_path: Path,
) -> None:
    syria = dataset.listing(SYRIA)
    settings = {"ARCHIVER_STORE_BATCH_SIZE": 5, "ARCHIVER_STORE_FLUSH_INTERVAL": 0.2}
    killed: list[int] = []

    def kill_after_first_batches(process: Any) -> None:
        def watch() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    stored = _count(engine, select(func.count(Release.id)))
                except Exception:
                    stored = 0
                if stored >= 10:
                    os.kill(process.pid, signal.SIGKILL)
                    killed.append(process.pid)
                    return
                time.sleep(0.05)

        threading.Thread(target=watch, daemon=True).start()

    with DemoServer(render_site(dataset, "current"), delay=0.3) as server:
        dead = run_crawl(
            "amnestyusa",
            {**SYRIA_ARGS, "base_url": server.base_url},
            db_url=db_url,
            data_dir=tmp_path / "data",
            settings={**LOCAL_SITE_SETTINGS, **settings},
            on_start=kill_after_first_batches,
            timeout=120,
        )
        assert killed and dead.returncode == -signal.SIGKILL

        if db_url.startswith("sqlite"):
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        kept = _count(engine, select(func.count(Release.id)))
        assert 10 <= kept < len(syria)
        dead_run = read_run(engine, _count(engine, select(func.max(CrawlRun.id))))
        assert dead_run is not None
        assert (dead_run.status, dead_run.pid) == ("running", killed[0])

        open_archive(db_url).dispose()  # what every command does first
        interrupted = read_run(engine, dead_run.id)
        assert interrupted is not None and interrupted.status == "interrupted"
        assert interrupted.items_new == kept  # the counts of its committed batches

        server.delay = 0
        again = crawl(server, db_url=db_url, **SYRIA_ARGS)

    assert again.ok, again.message
    run = _run(engine, again)
    assert (run.items_new, run.items_unchanged) == (len(syria) - kept, kept)
    assert _count(engine, select(func.count(Release.id))) == len(syria)
    _assert_no_duplicates(engine)
