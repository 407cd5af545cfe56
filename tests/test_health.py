"""Selector health: cards per page on every run, flags when the markup stops matching."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from archiver.cli import main
from archiver.cli.common import console
from archiver.db import make_engine
from archiver.db.runs import RunEnd, previous_health
from archiver.db.store import StoreCounts
from archiver.demo.dataset import Dataset
from archiver.demo.render import render_site
from archiver.demo.server import DemoServer
from archiver.health import Extraction, assess
from archiver.outcome import EXIT_OK
from tests.plugins.db import close_test_run, open_test_run, read_runs


def _run(
    engine: Engine,
    cards_per_page: float,
    trigger: str = "manual",
    share: float | None = None,
    **arguments: str,
) -> int:
    run_id = open_test_run(engine, arguments=arguments, trigger=trigger)
    end = RunEnd(
        status="finished", reason="ok", cards_per_page=cards_per_page, structure_share=share
    )
    close_test_run(engine, run_id, end, StoreCounts())
    return run_id


def _previous(engine: Engine, run_id: int) -> float | None:
    with engine.connect() as connection:
        return previous_health(connection, run_id).cards_per_page


def test_previous_run_is_of_the_same_schedule_and_filter(archive_engine: Engine) -> None:
    _run(archive_engine, 10.0, country="syria")
    _run(archive_engine, 3.0, country="iraq")
    _run(archive_engine, 7.0, trigger="every-6h", country="syria")
    current = open_test_run(archive_engine, arguments={"country": "Syria"})
    assert _previous(archive_engine, current) == 10.0
    scheduled = open_test_run(archive_engine, arguments={"country": "syria"}, trigger="every-6h")
    assert _previous(archive_engine, scheduled) == 7.0
    unfiltered = open_test_run(archive_engine, arguments={})
    assert _previous(archive_engine, unfiltered) is None


def test_the_previous_structure_share_comes_with_its_cards_per_page(archive_engine: Engine) -> None:
    _run(archive_engine, 10.0, share=0.05, country="syria")
    current = open_test_run(archive_engine, arguments={"country": "syria"})
    with archive_engine.connect() as connection:
        previous = previous_health(connection, current)
    assert (previous.cards_per_page, previous.structure_share) == (10.0, 0.05)


def test_structure_and_card_jumps_are_flagged_not_small_moves() -> None:
    steady = Extraction(by_selector=46, by_structure=4, previous_share=0.0)
    renamed = Extraction(by_selector=40, by_structure=10, previous_share=0.0)
    assert assess(5, 0, 50, extraction=steady).flags == ()
    assert assess(5, 0, 50, extraction=renamed).flags == ("structure_jump",)
    assert assess(5, 0, 100, previous=10.0).flags == ()  # twice as many: not yet a jump
    assert assess(5, 0, 101, previous=10.0).flags == ("cards_jump",)
    fallback = assess(5, 0, 50, extraction=Extraction(by_structure=50, fallback_pages=5))
    assert fallback.flags == ("fallback_layout",) and fallback.structure_share == 1.0


def test_drop_by_more_than_half_is_flagged_not_a_smaller_dip() -> None:
    assert assess(5, 0, 26, previous=10.0).flags == ()
    assert assess(5, 0, 24, previous=10.0).flags == ("cards_drop",)


@pytest.mark.slow
def test_cards_per_page_drop_is_flagged_on_the_run_and_in_archiver_runs(
    sqlite_url: str, dataset: Dataset, crawl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 250)  # the whole `archiver runs` table
    full = {"ARCHIVER_INCREMENTAL": "off"}
    site = render_site(dataset, "current")
    with DemoServer(site) as server:
        assert crawl(server, db_url=sqlite_url, settings=full, country="syria").ok
        # One card variant stops matching: 6 cards of 10 on each page vanish from the parse.
        for key, body in list(site.pages.items()):
            site.pages[key] = re.sub(
                rb'class="card-md h-full relative"', b'class="teaser-v3"', body, count=6
            )
        result = crawl(server, db_url=sqlite_url, settings=full, country="syria")
    assert result.returncode == EXIT_OK, result.message  # items were parsed: not a failure
    assert "cards_drop" in result.log_path.read_text()
    engine = make_engine(sqlite_url)
    try:
        latest, first = read_runs(engine, limit=2)
    finally:
        engine.dispose()
    assert first.cards_per_page == 10.0 and first.health is None
    assert latest.health == "cards_drop"
    assert latest.cards_per_page is not None and latest.cards_per_page < 5
    listed = CliRunner().invoke(main, ["runs", "--db", sqlite_url])
    assert listed.exit_code == 0, listed.output
    assert "health" in listed.output and "cards_drop" in listed.output
