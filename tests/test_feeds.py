"""Atom feeds (`archiver.export.atom`, `archiver feed`) on both dialects.

The archive is filled through the real store layer, with fixed times, so every expectation is
exact: which entries, in which order, with which ids and times. A feed reader relies on three
things tested here: valid Atom, ids that never change for a release, and `updated` moving
forward when (and only when) a release changed. The same archive must give the same bytes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, insert, select

from archiver.cli import main
from archiver.db import make_engine, upgrade, write_transaction
from archiver.db.releases import read_snapshot
from archiver.db.tables import RELEASES, TEXTS
from archiver.errors import ExportError
from archiver.export.atom import atom_feed, feed_id, filter_query, parse_query
from archiver.export.filters import ExportFilters
from tests.plugins.db import BatchWriter, open_test_run, release_item

ATOM = "{http://www.w3.org/2005/Atom}"
T0 = datetime(2024, 5, 1, 12, 0, 0, 250_000, tzinfo=UTC)  # microseconds: dropped in the feed
BASE = "https://archive.example/releases?country=syria"
SELF = "https://archive.example/feed.atom?country=syria"

# Releases 1-3 under country=syria found by the first run (published 18, 17, 16 June), release 4
# a Report under country=iraq found a day later by a second run.
SYRIA = (1, 2, 3)
IRAQ = 4


def url(number: int) -> str:
    return release_item(number).url


def write(engine: Engine, items: list, at: datetime) -> int:
    """One run that stores `items` at `at`; returns the run id."""
    for item in items:
        item.fetched_at = at
    run_id = open_test_run(engine, now=at)
    BatchWriter(engine, run_id).write_batch(items, now=at)
    return run_id


def fill(engine: Engine) -> None:
    write(
        engine,
        [release_item(n, facet="country=syria", published_on=date(2017, 6, 19 - n)) for n in SYRIA],
        T0,
    )
    report = release_item(
        IRAQ, facet="country=iraq", type="Report", type_raw="Report", published_on=date(2016, 1, 5)
    )
    write(engine, [report], T0 + timedelta(days=1))


def feed(engine: Engine, filters: ExportFilters | None = None, **options: object) -> bytes:
    with read_snapshot(engine) as connection:
        return atom_feed(
            connection,
            filters or ExportFilters(),
            base_url=options.pop("base_url", BASE),  # type: ignore[arg-type]
            feed_url=options.pop("feed_url", SELF),  # type: ignore[arg-type]
            **options,  # type: ignore[arg-type]
        )


def entries(xml: bytes) -> list[ET.Element]:
    return ET.fromstring(xml).findall(f"{ATOM}entry")


def text(element: ET.Element, name: str) -> str:
    found = element.find(f"{ATOM}{name}")
    assert found is not None, f"no <{name}> in <{element.tag}>"
    return found.text or ""


def ids(xml: bytes) -> list[str]:
    return [text(entry, "id") for entry in entries(xml)]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


# -- the feed --------------------------------------------------------------------------------


def test_the_feed_is_valid_atom_with_the_newest_found_first(archive_engine: Engine) -> None:
    fill(archive_engine)
    xml = feed(archive_engine)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = ET.fromstring(xml)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert text(root, name), f"feed without {name}"
    assert text(root, "id") == "tag:archiver,2026:feed"
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"alternate": BASE, "self": SELF}
    assert root.find(f"{ATOM}author/{ATOM}name") is not None  # Atom wants an author somewhere

    # Found last first (the Report a day later), then the listing's order: newest published.
    assert ids(xml) == [url(IRAQ), url(1), url(2), url(3)]
    for entry in entries(xml):
        for name in ("id", "title", "updated", "published"):
            assert text(entry, name), f"entry without {name}"
        (link,) = entry.findall(f"{ATOM}link")
        # No rel means rel="alternate" (RFC 4287, 4.2.7.2): the release's own page.
        assert link.get("rel") in (None, "alternate") and link.get("href") == text(entry, "id")
        summary = entry.find(f"{ATOM}summary")
        assert summary is not None and summary.get("type") == "text"
    report = entries(xml)[0]
    assert text(report, "title") == "Release 4"
    assert text(report, "summary") == "Summary of release 4."
    assert moment(text(report, "published")) == (T0 + timedelta(days=1)).replace(microsecond=0)
    assert moment(text(report, "updated")) == moment(text(report, "published"))
    categories = {(c.get("scheme"), c.get("term")) for c in report.findall(f"{ATOM}category")}
    assert categories == {
        ("tag:archiver,2026:type", "Report"),
        ("tag:archiver,2026:country", "iraq"),
    }
    # The feed's time is its newest entry's, never the clock's.
    assert text(root, "updated") == text(report, "updated")
    assert "2024-05-02T12:00:00" in text(root, "updated")


def test_the_same_archive_gives_the_same_bytes_and_ids_in_any_database(
    archive_engine: Engine, tmp_path: Path
) -> None:
    fill(archive_engine)
    first = feed(archive_engine)
    assert feed(archive_engine) == first

    # Another archive (always SQLite: against PostgreSQL this crosses dialects) holding the same
    # releases under other row and run ids gives the same entry ids, and even the same bytes.
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other_url)
    other = make_engine(other_url)
    try:
        write(other, [release_item(99)], T0 - timedelta(days=30))  # shifts every id
        fill(other)
        in_other = feed(other)
        syria = ExportFilters.parse(countries=["syria"])
        syria_in_other = feed(other, syria)
    finally:
        other.dispose()
    assert ids(in_other)[:4] == ids(first)
    assert ids(in_other)[4:] == [url(99)]
    assert feed(archive_engine, syria) == syria_in_other
    assert feed_id(syria) == text(ET.fromstring(syria_in_other), "id")


def test_an_edited_release_comes_back_updated_under_the_same_id(archive_engine: Engine) -> None:
    fill(archive_engine)
    before = {text(e, "id"): e for e in entries(feed(archive_engine))}
    edited_at = T0 + timedelta(days=3)
    write(archive_engine, [release_item(2, title="Release 2, corrected")], edited_at)
    xml = feed(archive_engine)
    after = {text(e, "id"): e for e in entries(xml)}
    assert set(after) == set(before)  # no new entry: the same release, the same id
    entry = after[url(2)]
    assert text(entry, "title") == "Release 2, corrected"
    assert moment(text(entry, "updated")) == edited_at.replace(microsecond=0)
    assert text(entry, "published") == text(before[url(2)], "published")
    assert moment(text(before[url(2)], "updated")) < moment(text(entry, "updated"))
    # Only the edited one moved; the feed's time follows it.
    for other in (1, 3, IRAQ):
        assert text(after[url(other)], "updated") == text(before[url(other)], "updated")
    assert text(ET.fromstring(xml), "updated") == text(entry, "updated")
    assert ids(xml)[:2] == [url(IRAQ), url(1)]  # still ordered by when it was found

    # Its page read later: the body comes as text content, and `updated` moves again.
    read_at = T0 + timedelta(days=5)
    with write_transaction(archive_engine) as connection:
        release_id = connection.execute(
            select(RELEASES.c.id).where(RELEASES.c.url == url(2))
        ).scalar_one()
        connection.execute(
            insert(TEXTS).values(
                release_id=release_id,
                status="enriched",
                body="First paragraph.\n\nSecond <b>paragraph</b>.",
                first_enriched_at=read_at,
                text_since=read_at,
                checked_at=read_at,
                http_status=200,
            )
        )
    entry = {text(e, "id"): e for e in entries(feed(archive_engine))}[url(2)]
    content = entry.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "text"
    assert content.text == "First paragraph.\n\nSecond <b>paragraph</b>."
    assert moment(text(entry, "updated")) == read_at.replace(microsecond=0)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"countries": ["syria"]}, [1, 2, 3]),
        ({"countries": ["iraq", "syria"]}, [IRAQ, 1, 2, 3]),
        ({"types": ["report"]}, [IRAQ]),
        ({"countries": ["syria"], "since": "2017-06-17"}, [1, 2]),
        ({"until": "2016"}, [IRAQ]),
        ({"sources": ["amnestyusa"], "search": "release 3"}, [3]),
        ({"countries": ["atlantis"]}, []),
    ],
)
def test_filters_select_the_right_entries(
    archive_engine: Engine, options: dict, expected: list[int]
) -> None:
    fill(archive_engine)
    filters = ExportFilters.parse(**options)
    xml = feed(archive_engine, filters)
    assert ids(xml) == [url(n) for n in expected]
    root = ET.fromstring(xml)
    assert text(root, "id") == feed_id(filters)
    if not expected:  # an empty feed is still valid and still stable
        assert text(root, "updated") == "1970-01-01T00:00:00+00:00"


def test_limit_keeps_the_newest_found(archive_engine: Engine) -> None:
    fill(archive_engine)
    assert ids(feed(archive_engine, limit=2)) == [url(IRAQ), url(1)]
    with pytest.raises(ExportError, match="1 to 1000 entries"):
        feed(archive_engine, limit=0)


def test_markup_in_a_title_is_escaped_text(archive_engine: Engine) -> None:
    title = '<script>alert("x")</script> & <b>bold</b>'
    write(archive_engine, [release_item(7, title=title, summary="a < b\x0b")], T0)
    xml = feed(archive_engine)
    assert b"<script>" not in xml and b"&lt;script&gt;" in xml
    (entry,) = entries(xml)
    title_element = entry.find(f"{ATOM}title")
    assert title_element is not None and list(title_element) == []  # no child elements
    assert title_element.text == title
    assert text(entry, "summary") == "a < b"  # a character XML cannot carry is dropped


def test_the_feed_id_is_the_filter_however_it_was_spelled() -> None:
    one = ExportFilters.parse(countries=["syria", "iraq"], types=["report"])
    other = parse_query([("type", "Report"), ("country", "iraq,syria"), ("limit", "5")])
    assert (
        feed_id(one)
        == feed_id(other)
        == "tag:archiver,2026:feed?country=iraq&country=syria&type=Report"
    )
    assert filter_query(parse_query([("country", "")])) == ""
    with pytest.raises(ExportError, match="not a slug"):
        parse_query([("country", "syria&x")])
    with pytest.raises(ExportError, match="'since' given 2 times"):
        parse_query([("since", "2016"), ("since", "2017")])


# -- the command -----------------------------------------------------------------------------


def test_archiver_feed_prints_or_writes_the_feed(archive_url: str, tmp_path: Path) -> None:
    engine = make_engine(archive_url)
    try:
        fill(engine)
    finally:
        engine.dispose()
    runner = CliRunner()
    printed = runner.invoke(main, ["feed", "--db", archive_url, "--country", "syria"])
    assert printed.exit_code == 0, printed.output
    root = ET.fromstring(printed.stdout_bytes)
    assert [text(e, "id") for e in root.findall(f"{ATOM}entry")] == [url(n) for n in SYRIA]
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"alternate": "https://www.amnestyusa.org"}

    out = tmp_path / "feeds" / "report.atom"
    written = runner.invoke(
        main,
        [
            "feed",
            "--db",
            archive_url,
            "--type",
            "report",
            "--limit",
            "1",
            "--feed-url",
            "https://example.org/report.atom",
            "--base-url",
            "https://example.org/",
            "-o",
            str(out),
        ],
    )
    assert written.exit_code == 0, written.output
    assert "1 entry" in written.output and str(out) in written.output
    xml = out.read_bytes()
    assert ids(xml) == [url(IRAQ)]
    root = ET.fromstring(xml)
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"alternate": "https://example.org/", "self": "https://example.org/report.atom"}

    # Written again from the same archive: the file is left alone (same bytes, same mtime).
    again = runner.invoke(
        main, ["feed", "--db", archive_url, "--type", "report", "--limit", "1", "-o", str(out)]
    )
    assert again.exit_code == 0 and "unchanged" not in again.output  # other links: rewritten
    rewritten = out.read_bytes()
    assert rewritten != xml and ids(rewritten) == [url(IRAQ)]
    written_at = out.stat().st_mtime_ns
    same = runner.invoke(
        main, ["feed", "--db", archive_url, "--type", "report", "--limit", "1", "-o", str(out)]
    )
    assert same.exit_code == 0 and "unchanged (1 entry)" in same.output
    assert out.stat().st_mtime_ns == written_at and out.read_bytes() == rewritten
    assert [path.name for path in out.parent.iterdir()] == ["report.atom"]

    bad = runner.invoke(main, ["feed", "--db", archive_url, "--type", "interview"])
    assert bad.exit_code == 1 and "unknown type 'interview'" in bad.output
