"""The issue's acceptance: a crawl of a redesigned copy of the site, then a reparse with a layout
written for it.

`render_site(dataset, "redesign")` renames every class of the current layout, nests the card body
one level deeper, puts a newsletter box among the cards and a donate promo beside them, and gives
its pagination classes no selector knows. The crawl archives every valid release with
`layout = fallback`, flags the run and exits 7; a reparse of the run's archived pages with the
layout file `REDESIGN_LAYOUT_TOML` (tests/plugins/demo.py; the format of docs/extraction.md,
"Adding a layout") reads the same pages with the new layout into exactly the same values.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from archiver.cli import main
from archiver.db import make_engine
from archiver.db.models import CrawlRun, Release, ReleaseVersion
from archiver.demo.dataset import SYRIA, Dataset, DemoRelease
from archiver.demo.render import render_site
from archiver.demo.server import DemoServer
from archiver.outcome import EXIT_FALLBACK, EXIT_OK
from tests.plugins.db import read_runs
from tests.plugins.demo import REDESIGN_LAYOUT_TOML

pytestmark = pytest.mark.slow

#: Addresses and headings of the redesign's chrome (navigation, newsletter box, donate promo).
CHROME_PATHS = ("/donate/", "/newsletter/", "/our-work/", "/take-action/", "/about-us/")
CHROME_TITLES = ("Get the latest news", "Defend human rights", "Newsroom", "About us")


def syria_releases(dataset: Dataset) -> list[DemoRelease]:
    return [release for page in dataset.pages(SYRIA) for release in page]


def label_as_read(release: DemoRelease) -> str:
    """The label as a reader of the page hears it (icon text first); "" for a card without one."""
    if not release.label:
        return ""
    return ("Sheet of paper " if release.icon else "") + release.label


def test_a_redesigned_site_is_archived_by_the_fallback_and_flagged(dataset: Dataset, crawl) -> None:
    releases = syria_releases(dataset)
    assert all(release.date_text for release in releases)  # every one of them is valid
    with DemoServer(render_site(dataset, "redesign")) as server:
        result = crawl(server, country="syria")

    assert result.returncode == EXIT_FALLBACK, result.message
    assert result.message.startswith("markup changed: 7 page(s) matched no known layout")
    assert result.outcome.flags == ("fallback_layout",)
    assert result.stat("archiver/layout/fallback") == 7
    assert result.stat("archiver/listing_pages") == 7
    assert result.stat("archiver/invalid") == 0
    # The pagination's classes are new too: every next-page link was found by its URL.
    assert result.stat("archiver/found/structure/next_page") == 6

    items = result.items
    assert Counter(item["layout"] for item in items) == {"fallback": len(releases)}
    assert {how for item in items for how in item["found_by"].values()} == {"structure"}
    # Every release of the filter exactly once, with the site's own values.
    by_url = {item["url"]: item for item in items}
    assert len(by_url) == len(items) == len(releases) == 70
    assert sorted(by_url) == sorted(release.canonical_url for release in releases)
    for release in releases:
        item = by_url[release.canonical_url]
        assert item["title_raw"] == release.title
        assert item["date_raw"] == release.date_text
        assert item["type_raw"] == label_as_read(release)
        assert item["summary_raw"].startswith(release.summary)
        assert item["facet"] == SYRIA
    # Nothing of the chrome among them.
    assert not [url for url in by_url if any(path in url for path in CHROME_PATHS)]
    assert not [item for item in items if item["title_raw"].strip() in CHROME_TITLES]


def fields_shown(releases: list[DemoRelease]) -> int:
    """Fields the cards show: title, date, link and summary on each, label, image, caption and
    credit where the card has them (a field a card lacks is found by no rule)."""
    return sum(
        4 + bool(r.label) + bool(r.caption or r.image_alt) + bool(r.caption) * (1 + bool(r.credit))
        for r in releases
    )


def runs(db_url: str) -> list[CrawlRun]:
    """Every run, oldest first."""
    engine = make_engine(db_url)
    try:
        return list(reversed(read_runs(engine, limit=100)))
    finally:
        engine.dispose()


def stored(db_url: str) -> tuple[int, list[tuple[object, ...]]]:
    """Release versions kept (earlier values of edited releases), and every release's values,
    in URL order."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            versions = len(connection.execute(select(ReleaseVersion.id)).all())
            releases = connection.execute(
                select(
                    Release.url,
                    Release.title,
                    Release.summary,
                    Release.summary_truncated,
                    Release.type,
                    Release.type_raw,
                    Release.type_source,
                    Release.date_raw,
                    Release.published_on,
                    Release.content_hash,
                ).order_by(Release.url)
            ).all()
    finally:
        engine.dispose()
    return versions, [tuple(row) for row in releases]


def test_reparse_with_a_layout_file_reads_the_redesign_into_the_same_values(
    db_url: str, dataset: Dataset, crawl, tmp_path: Path
) -> None:
    releases = syria_releases(dataset)
    crawled, reparsed = tmp_path / "crawled.jsonl", tmp_path / "reparsed.jsonl"
    with DemoServer(render_site(dataset, "redesign")) as server:
        flagged = crawl(server, db_url=db_url, country="syria", settings=feed(crawled))
        served = len(server.requests)
    assert flagged.returncode == EXIT_FALLBACK, flagged.message
    (fallback,) = runs(db_url)
    assert fallback.health == "fallback_layout"
    assert fallback.stats["archiver/layout/fallback"] == fallback.pages == 7
    assert (fallback.items_new, fallback.items_invalid) == (len(releases), 0)
    before = stored(db_url)
    assert before[0] == 0  # versions keep values an edit replaced: none yet
    assert [row[0] for row in before[1]] == sorted(r.canonical_url for r in releases)

    layouts = tmp_path / "redesign.toml"
    layouts.write_text(REDESIGN_LAYOUT_TOML, encoding="utf-8")
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
            f"ARCHIVER_EXTRACT_LAYOUTS={layouts}",
            "-s",
            f"FEEDS={json.dumps(feed(reparsed)['FEEDS'])}",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert len(server.requests) == served  # offline: the archive only

    *_, reparse_run = runs(db_url)
    assert (reparse_run.trigger, reparse_run.status) == ("reparse", "finished")
    assert reparse_run.health is None
    # Every page read with the new layout, every card field by its selectors.
    assert reparse_run.stats["archiver/layout/redesign-2027"] == fallback.pages
    assert not [key for key in reparse_run.stats if key.startswith("archiver/layout/fallback")]
    assert reparse_run.stats["archiver/found/selector"] == fields_shown(releases)
    by_structure = {key for key in reparse_run.stats if key.startswith("archiver/found/structure")}
    assert by_structure <= {"archiver/found/structure", "archiver/found/structure/next_page"}
    # Identical values: nothing new, nothing edited, no new version.
    assert reparse_run.items_new == reparse_run.items_updated == 0
    assert reparse_run.items_unchanged == fallback.cards == len(releases)
    assert stored(db_url) == before
    # Item by item, every value the same (captions and credits too, which the archive does not
    # keep): only the layout and how the fields were found differ.
    old, new = read_feed(crawled), read_feed(reparsed)
    assert sorted(old) == sorted(new) and len(old) == len(releases)
    assert {item["layout"] for item in old.values()} == {"fallback"}
    assert {item["layout"] for item in new.values()} == {"redesign-2027"}
    assert {how for item in new.values() for how in item["found_by"].values()} == {"selector"}
    assert [strip(old[url]) for url in sorted(old)] == [strip(new[url]) for url in sorted(new)]
    assert sum(1 for item in new.values() if item["credit"]) >= 5  # the credits were there


def feed(path: Path) -> dict[str, Any]:
    """Settings writing a run's items to a JSON Lines file."""
    return {"FEEDS": {str(path): {"format": "jsonlines", "overwrite": True}}}


def read_feed(path: Path) -> dict[str, dict[str, Any]]:
    """A feed's items by URL."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {item["url"]: item for item in items}


def strip(item: dict[str, Any]) -> dict[str, Any]:
    """An item's values, without the reading (layout, found_by) and the processing time."""
    return {k: v for k, v in item.items() if k not in ("layout", "found_by", "fetched_at")}
