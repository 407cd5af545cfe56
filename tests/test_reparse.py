"""A site redesign: read by the structural fallback and flagged on the first run it breaks, then
read again from the archive with a layout written for it, without fetching.

The "fixed extractor" is simulated by `FIXED_LAYOUTS`, a second version of the current layout
whose selectors know the new class name; the reparse process loads it through the
`ARCHIVER_EXTRACT_LAYOUTS` setting, as an operator would try a candidate fix.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from archiver.cli import main
from archiver.db import make_engine
from archiver.db.models import CrawlRun, Release, ReleaseVersion, WarcPage
from archiver.demo.dataset import SYRIA, Dataset, with_new_releases
from archiver.demo.render import SitePages, render_site
from archiver.demo.server import DemoServer
from archiver.errors import ArgumentError
from archiver.extract.layouts import CURRENT, PREVIOUS, Layout
from archiver.outcome import EXIT_FALLBACK, EXIT_NO_ITEMS, EXIT_OK
from archiver.process.reparse import check_selection
from tests.plugins.db import read_runs
from tests.plugins.demo import without_listing

NEW_DAY = date(2026, 11, 21)


def _renamed(layout: Layout, old: str, new: str) -> Layout:
    changes = {
        field.name: tuple(css.replace(old, new) for css in getattr(layout, field.name))
        for field in dataclasses.fields(layout)
        if field.name != "name"
    }
    return dataclasses.replace(layout, name="current-2", **changes)


#: The extractor after the fix: the site renamed `card-md` to `teaser-v3`.
FIXED_LAYOUTS = (_renamed(CURRENT, "card-md", "teaser-v3"), PREVIOUS)


def redesigned(site: SitePages) -> SitePages:
    for key, body in list(site.pages.items()):
        site.pages[key] = body.replace(b"card-md", b"teaser-v3")
    return site


def runs(db_url: str) -> list[CrawlRun]:
    """Every run, oldest first."""
    engine = make_engine(db_url)
    try:
        return list(reversed(read_runs(engine, limit=100)))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_redesign_is_read_by_the_fallback_then_reparse_reads_it_with_the_new_layout(
    db_url: str, dataset: Dataset, crawl, tmp_path: Path
) -> None:
    changed = with_new_releases(dataset, 5, SYRIA, on=NEW_DAY)
    with DemoServer(render_site(dataset, "current")) as server:
        assert crawl(server, db_url=db_url, country="syria").ok

        server.site = redesigned(render_site(changed, "current"))
        flagged = crawl(server, db_url=db_url, country="syria")
        assert flagged.returncode == EXIT_FALLBACK, flagged.message
        assert flagged.message.startswith("markup changed:")
        assert "Selector health of run" in flagged.log_path.read_text()
        served = len(server.requests)

    healthy, fallback = runs(db_url)
    assert (healthy.health, healthy.cards_per_page, healthy.structure_share) == (None, 10.0, 0.0)
    assert fallback.status == "finished"
    assert fallback.health == "fallback_layout,structure_jump"
    assert fallback.structure_share is not None and fallback.structure_share > 0.8
    assert (fallback.items_new, fallback.items_invalid) == (5, 0)  # the new releases, archived
    listed = CliRunner().invoke(main, ["runs", "--db", db_url])
    assert listed.exit_code == 0, listed.output
    assert "fallback_layout" in listed.output
    before = stored(db_url)

    # The server is gone: anything but the archive would fail.
    result = CliRunner().invoke(
        main,
        [
            "reparse",
            "--run",
            str(fallback.id),
            "--db",
            db_url,
            "--data-dir",
            str(tmp_path / "data"),
            "-s",
            "ARCHIVER_EXTRACT_LAYOUTS=tests.test_reparse.FIXED_LAYOUTS",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert len(server.requests) == served

    *_, reparse_run = runs(db_url)
    assert (reparse_run.trigger, reparse_run.status) == ("reparse", "finished")
    assert reparse_run.health is None and reparse_run.structure_share == 0.0
    assert reparse_run.stats["archiver/layout/current-2"] == fallback.pages
    assert "archiver/layout/fallback" not in reparse_run.stats
    # The new layout reads exactly what the fallback read: nothing new, nothing edited.
    assert reparse_run.items_new == reparse_run.items_updated == 0
    assert reparse_run.items_unchanged == fallback.cards
    assert stored(db_url) == before


def stored(db_url: str) -> tuple[int, list[tuple[str, ...]]]:
    """Release versions kept, and every release's content, in URL order."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            versions = len(connection.execute(select(ReleaseVersion.id)).all())
            releases = connection.execute(
                select(
                    Release.url, Release.title, Release.summary, Release.type, Release.date_raw
                ).order_by(Release.url)
            ).all()
    finally:
        engine.dispose()
    return versions, [tuple(row) for row in releases]


@pytest.mark.slow
def test_reparse_takes_up_pages_the_broken_run_fetched(
    db_url: str, dataset: Dataset, crawl, tmp_path: Path
) -> None:
    """Releases first met on pages a broken run fetched are dated and traced to those pages."""
    changed = with_new_releases(dataset, 5, SYRIA, on=NEW_DAY)
    site = render_site(changed, "current")
    with DemoServer(render_site(dataset, "current")) as server:
        assert crawl(server, db_url=db_url, country="syria").ok
        for key, body in list(site.pages.items()):
            site.pages[key] = body.replace(b"card-md", b"teaser-v3")
        server.site = site
        # Only the known layouts: nothing read, as before the structural fallback existed.
        broken = crawl(
            server, db_url=db_url, country="syria", settings={"ARCHIVER_STRUCTURAL_FALLBACK": 0}
        )
    assert broken.returncode == EXIT_NO_ITEMS, broken.message
    failed = runs(db_url)[-1]
    assert failed.health == "no_items,pages_without_cards"
    result = CliRunner().invoke(
        main,
        [
            "reparse",
            "--run",
            str(failed.id),
            "--db",
            db_url,
            "--data-dir",
            str(tmp_path / "data"),
            "-s",
            "ARCHIVER_EXTRACT_LAYOUTS=tests.test_reparse.FIXED_LAYOUTS",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    *_, reparse_run = runs(db_url)
    assert (reparse_run.items_new, reparse_run.items_unchanged) == (5, 70)
    assert reparse_run.pages == 8 and reparse_run.health is None
    assert reparse_run.arguments == {"run": str(failed.id)}
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            pages = {
                row.record_id: row
                for row in connection.execute(
                    select(WarcPage.record_id, WarcPage.run_id, WarcPage.fetched_at)
                )
            }
            new = connection.execute(
                select(
                    Release.first_warc_record, Release.first_seen_at, Release.first_run_id
                ).where(Release.url.contains("/new-release-"))
            ).all()
            total = len(connection.execute(select(Release.id)).all())
    finally:
        engine.dispose()
    assert total == 75
    assert len(new) == 5
    for record_id, first_seen_at, first_run_id in new:
        # Traceable to the page the broken run fetched, dated when that page was fetched.
        assert pages[record_id].run_id == failed.id
        assert first_seen_at == pages[record_id].fetched_at
        assert first_run_id == reparse_run.id


@pytest.mark.slow
def test_reparse_of_pages_without_a_listing_still_parses_nothing(
    sqlite_url: str, dataset: Dataset, crawl, tmp_path: Path
) -> None:
    site = render_site(dataset, "current")
    for key, body in list(site.pages.items()):
        site.pages[key] = without_listing(body)
    with DemoServer(site) as server:
        broken = crawl(server, db_url=sqlite_url, country="syria", max_pages="2")
    assert broken.returncode == EXIT_NO_ITEMS
    day = runs(sqlite_url)[0].started_at.date().isoformat()
    result = CliRunner().invoke(
        main,
        ["reparse", "--since", day, "--db", sqlite_url, "--data-dir", str(tmp_path / "data")],
    )
    assert result.exit_code == EXIT_NO_ITEMS, result.output
    assert "no items parsed" in result.output
    *_, reparse_run = runs(sqlite_url)
    assert reparse_run.trigger == "reparse" and reparse_run.status == "failed"
    assert reparse_run.arguments == {"since": day}
    assert reparse_run.pages == 2 and reparse_run.health == "no_items,pages_without_cards"


def test_reparse_needs_exactly_one_selection() -> None:
    with pytest.raises(ArgumentError, match="either"):
        check_selection(None, None)
    with pytest.raises(ArgumentError, match="either"):
        check_selection("3", "2026-11-01")
    assert check_selection("3", None) == (3, None)
    result = CliRunner().invoke(main, ["reparse"])
    assert result.exit_code == 2
    assert "either a run id" in result.output
