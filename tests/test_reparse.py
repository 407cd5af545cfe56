"""A site redesign: noticed on the first run it breaks, repaired from the archive without fetching.

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
from archiver.db.models import CrawlRun, Release, WarcPage
from archiver.demo.dataset import SYRIA, Dataset, with_new_releases
from archiver.demo.render import SitePages, render_site
from archiver.demo.server import DemoServer
from archiver.errors import ArgumentError
from archiver.extract.layouts import CURRENT, PREVIOUS, Layout
from archiver.outcome import EXIT_NO_ITEMS, EXIT_OK
from archiver.process.reparse import check_selection
from tests.plugins.db import read_runs

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
def test_redesign_fails_the_run_then_reparse_recovers_the_items(
    db_url: str, dataset: Dataset, crawl, tmp_path: Path
) -> None:
    changed = with_new_releases(dataset, 5, SYRIA, on=NEW_DAY)
    with DemoServer(render_site(dataset, "current")) as server:
        assert crawl(server, db_url=db_url, country="syria").ok

        server.site = redesigned(render_site(changed, "current"))
        broken = crawl(server, db_url=db_url, country="syria")
        assert broken.returncode == EXIT_NO_ITEMS
        assert broken.message.startswith("no items parsed")
        # No card on any page: the incremental rule never sees an unchanged page, reads all 8.
        assert broken.stat("archiver/listing_pages") == 8
        assert "Selector health of run" in broken.log_path.read_text()
        served = len(server.requests)

    healthy, failed = runs(db_url)
    assert (healthy.health, healthy.cards_per_page) == (None, 10.0)
    assert failed.status == "failed" and failed.finish_reason.startswith("no items parsed")
    assert failed.health == "no_items,pages_without_cards"
    assert failed.cards_per_page == 0.0
    listed = CliRunner().invoke(main, ["runs", "--db", db_url])
    assert listed.exit_code == 0, listed.output
    assert "no_items" in listed.output

    # The server is gone: anything but the archive would fail.
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
    assert len(server.requests) == served

    *_, reparse_run = runs(db_url)
    assert (reparse_run.trigger, reparse_run.status) == ("reparse", "finished")
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
def test_reparse_with_the_old_extractor_still_parses_nothing(
    sqlite_url: str, dataset: Dataset, crawl, tmp_path: Path
) -> None:
    with DemoServer(redesigned(render_site(dataset, "current"))) as server:
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
