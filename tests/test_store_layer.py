"""The store layer on real databases (SQLite file and PostgreSQL): what a user relies on.

A release is stored once per (source, URL); unchanged content only moves `last_seen`; an edit
keeps the old values as a version; facets merge; an item seen twice in a run counts once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, select

from archiver.db.models import CrawlRun, InvalidItem, Release, ReleaseFacet, ReleaseVersion
from archiver.db.store import StoreCounts
from archiver.items import QuarantinedItem
from tests.plugins.db import BatchWriter, open_test_run, release_item

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _store(engine: Engine) -> BatchWriter:
    return BatchWriter(engine, open_test_run(engine))


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def _releases(engine: Engine) -> dict[str, dict]:
    with engine.connect() as connection:
        rows = connection.execute(select(Release.__table__)).mappings().all()
    return {row["url"]: dict(row) for row in rows}


def _facets(engine: Engine) -> set[tuple[str, str]]:
    query = select(Release.url, ReleaseFacet.facet).join(
        ReleaseFacet, ReleaseFacet.release_id == Release.id
    )
    with engine.connect() as connection:
        return {(row.url, row.facet) for row in connection.execute(query)}


def test_first_crawl_stores_every_release_once_with_provenance(archive_engine: Engine) -> None:
    store = _store(archive_engine)
    items = [release_item(n, facet="country=syria") for n in range(5)]

    counts = store.write_batch(items)

    assert (counts.new, counts.updated, counts.unchanged, counts.duplicate) == (5, 0, 0, 0)
    releases = _releases(archive_engine)
    assert len(releases) == 5
    first = releases[items[0].url]
    assert first["title"] == "Release 0"
    assert first["published_on"] == date(2017, 6, 16)
    assert first["first_run_id"] == first["last_run_id"] == store.run_id
    assert first["first_page_url"] == "https://www.amnestyusa.org/news/"
    assert first["content_hash"] == items[0].content_hash
    assert {facet for _, facet in _facets(archive_engine)} == {"country=syria"}
    assert _count(archive_engine, ReleaseFacet) == 5


def test_unchanged_release_only_moves_last_seen(archive_engine: Engine) -> None:
    _store(archive_engine).write_batch([release_item(1)])
    before = _releases(archive_engine)[release_item(1).url]
    later = T0 + timedelta(days=3)
    second = _store(archive_engine)

    counts = second.write_batch(
        [release_item(1, fetched_at=later, date_raw="16 June 2017", page_url="https://x/p2")]
    )

    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)
    after = _releases(archive_engine)[release_item(1).url]
    assert after["last_seen_at"] == later
    assert after["last_run_id"] == second.run_id
    assert after["last_page_url"] == "https://x/p2"
    moved = {"last_seen_at", "last_run_id", "last_page_url"}
    assert {k: v for k, v in after.items() if k not in moved} == {
        k: v for k, v in before.items() if k not in moved
    }
    assert _count(archive_engine, ReleaseVersion) == 0


def test_edited_title_keeps_the_old_values_as_a_version(archive_engine: Engine) -> None:
    _store(archive_engine).write_batch([release_item(1)])
    later = T0 + timedelta(days=1)
    second = _store(archive_engine)

    counts = second.write_batch([release_item(1, title="Release 1 (corrected)", fetched_at=later)])

    assert (counts.new, counts.updated, counts.unchanged, counts.versions) == (0, 1, 0, 1)
    release = _releases(archive_engine)[release_item(1).url]
    assert release["title"] == "Release 1 (corrected)"
    assert release["content_since"] == later
    assert release["first_seen_at"] == T0
    with archive_engine.connect() as connection:
        versions = connection.execute(select(ReleaseVersion.__table__)).mappings().all()
    assert len(versions) == 1
    assert versions[0]["title"] == "Release 1"
    assert versions[0]["release_id"] == release["id"]
    assert versions[0]["seen_from"] == T0
    assert versions[0]["replaced_run_id"] == second.run_id


def test_summary_type_and_date_changes_are_updates(archive_engine: Engine) -> None:
    _store(archive_engine).write_batch([release_item(n) for n in range(3)])

    counts = _store(archive_engine).write_batch(
        [
            release_item(0, summary="Rewritten summary."),
            release_item(1, type="Report"),
            release_item(2, published_on=date(2017, 6, 17)),
        ]
    )

    assert (counts.updated, counts.versions) == (3, 3)
    assert _releases(archive_engine)[release_item(1).url]["type"] == "Report"


def test_release_under_two_facets_is_one_row_with_both_facets(archive_engine: Engine) -> None:
    store = _store(archive_engine)

    first = store.write_batch([release_item(7, facet="country=syria")])
    second = store.write_batch([release_item(7, facet="issue=refugee-migrant-rights")])

    assert (first.new, second.new, second.duplicate) == (1, 0, 1)
    assert store.totals.seen == 1
    assert _count(archive_engine, Release) == 1
    url = release_item(7).url
    assert _facets(archive_engine) == {
        (url, "country=syria"),
        (url, "issue=refugee-migrant-rights"),
    }


def test_item_twice_in_one_batch_counts_once(archive_engine: Engine) -> None:
    store = _store(archive_engine)

    counts = store.write_batch(
        [release_item(3, facet="country=syria"), release_item(3, facet=None), release_item(4)]
    )

    assert (counts.new, counts.seen) == (2, 2)
    assert _count(archive_engine, Release) == 2
    assert _count(archive_engine, ReleaseFacet) == 1


def test_facet_added_on_a_later_run_does_not_make_an_update(archive_engine: Engine) -> None:
    _store(archive_engine).write_batch([release_item(2, facet="country=syria")])

    counts = _store(archive_engine).write_batch([release_item(2, facet="country=iraq")])

    assert (counts.unchanged, counts.updated, counts.facets_added) == (1, 0, 1)
    assert {facet for _, facet in _facets(archive_engine)} == {"country=syria", "country=iraq"}


def test_releases_first_stored_without_a_facet_get_one_later(archive_engine: Engine) -> None:
    """New releases of an unfiltered listing are written without reading their ids back; a
    later batch under a filter still finds them and adds the facet to the right release."""
    store = _store(archive_engine)
    plain = store.write_batch([release_item(n, facet=None) for n in range(3)])
    mixed = store.write_batch([release_item(1, facet="country=iraq"), release_item(9, facet=None)])

    assert (plain.new, mixed.new, mixed.duplicate, mixed.facets_added) == (3, 1, 1, 1)
    assert _facets(archive_engine) == {(release_item(1).url, "country=iraq")}
    assert _count(archive_engine, Release) == 4


def test_invalid_items_are_kept_once_per_run(archive_engine: Engine) -> None:
    store = _store(archive_engine)
    refused = QuarantinedItem(
        source="amnestyusa",
        url=None,
        reasons=("missing_url",),
        raw={"title_raw": "No link", "date_raw": "June 1, 2017"},
        page_url="https://www.amnestyusa.org/news/",
    )

    store.write_batch([], [refused])
    store.write_batch([release_item(1)], [refused])

    assert store.totals.invalid == 1
    with archive_engine.connect() as connection:
        row = connection.execute(select(InvalidItem.__table__)).mappings().one()
    assert row["reasons"] == ["missing_url"]
    assert row["raw"]["title_raw"] == "No link"
    assert row["run_id"] == store.run_id


def test_each_batch_records_the_runs_progress(archive_engine: Engine) -> None:
    store = _store(archive_engine)
    store.write_batch([release_item(n) for n in range(4)])
    store.write_batch([release_item(n) for n in range(2, 6)])

    with archive_engine.connect() as connection:
        run = connection.execute(select(CrawlRun.__table__)).mappings().one()
    assert (run["items_seen"], run["items_new"], run["status"]) == (6, 6, "running")
    assert store.totals == StoreCounts(new=6, duplicate=2)
