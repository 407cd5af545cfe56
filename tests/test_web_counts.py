"""The web view's list over many releases: the keyset walk whichever way the database reads it,
and the counts it keeps per version of the archive (both dialects).

`benchmarks/bench_web.py` measures these over 1,000,000 releases; here they are held to the
same answers as the plain queries on a small archive with undated releases, several types and
facets, and a second writer.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, distinct, func, select

from archiver.db import browse
from archiver.db.releases import read_snapshot
from archiver.db.tables import FACETS as FACET_ROWS
from archiver.db.tables import RELEASES
from archiver.export import ExportFilters
from archiver.web import create_app
from tests.plugins.db import BatchWriter, release_item

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette asks for httpx2; the tests use httpx
    from starlette.testclient import TestClient

TYPES = ["Press Release", "Report", "Update"]
FACETS = ["country=syria", "issue=death-penalty", "country=iraq,syria"]


def _item(number: int) -> Any:
    undated = number % 7 == 0
    return release_item(
        number,
        facet=FACETS[number % 3] if number % 2 else None,
        type=TYPES[number % 3],
        type_raw=TYPES[number % 3],
        # Many on the same day, so the cursor's tie on the date is walked through too.
        published_on=None if undated else date(2015, 1, 1) + timedelta(days=number // 4),
        date_raw="" if undated else "June 16, 2017",
    )


@pytest.fixture
def archive(archive_engine: Engine) -> Engine:
    writer = BatchWriter(archive_engine)
    for first in range(1, 241, 60):
        writer.write_batch([_item(n) for n in range(first, first + 60)])
    return archive_engine


def _walk(
    connection: Any, clauses: list[Any], *, sort: str, walk: bool, limit: int, **options: Any
) -> list[int]:
    found: list[int] = []
    after = None
    for _ in range(500):
        page = browse.release_page(
            connection, clauses, sort=sort, after=after, limit=limit, walk=walk, **options
        )
        found += [row.id for row in page.rows]
        if page.next_cursor is None:
            return found
        after = page.next_cursor
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize(
    "filters",
    [
        ExportFilters.parse(),
        ExportFilters.parse(types=["Report"]),
        ExportFilters.parse(countries=["syria"]),
        ExportFilters.parse(types=["Report", "Update"], countries=["syria"], since="2015-03"),
        ExportFilters.parse(issues=["death-penalty"], until="2015-02-10"),
    ],
)
def test_every_way_of_reading_a_page_walks_the_same_releases(
    archive: Engine, filters: ExportFilters
) -> None:
    releases = RELEASES.c
    with read_snapshot(archive) as connection:
        plain = browse.filter_clauses(connection, filters)
        correlated = browse.filter_clauses(connection, filters, correlated=True)
        for sort, order in (
            ("published", [releases.published_on.desc().nulls_last(), releases.id.desc()]),
            ("first_seen", [releases.first_seen_at.desc(), releases.id.desc()]),
        ):
            expected = list(
                connection.execute(select(releases.id).where(*plain).order_by(*order)).scalars()
            )
            assert expected
            for clauses, walk in ((plain, False), (correlated, True), (correlated, False)):
                for limit in (1, 7, 500):
                    walked = _walk(connection, clauses, sort=sort, walk=walk, limit=limit)
                    assert walked == expected, (sort, walk, limit)
            # A walk within a budget, collecting the part when the budget runs out first: from
            # a budget that never fills a page to one that covers the archive.
            for budget in (1, 3, 8, 40, 1000):
                for limit in (1, 7, 500):
                    walked = _walk(
                        connection,
                        correlated,
                        sort=sort,
                        walk=True,
                        limit=limit,
                        budget=budget,
                        collect=plain,
                    )
                    assert walked == expected, (sort, budget, limit)
            counts = dict(browse.type_counts(connection, correlated))
            assert counts == dict(browse.type_counts(connection, plain))
            assert sum(counts.values()) == browse.count_releases(connection, plain)
            assert browse.facet_counts(connection, correlated) == browse.facet_counts(
                connection, plain
            )


def test_counts_over_the_whole_archive_equal_group_by(archive: Engine) -> None:
    """Without a filter, types and facet strings are counted one index range each."""
    BatchWriter(archive).write_batch([release_item(999, type=None, type_raw="")])
    releases = RELEASES.c
    with read_snapshot(archive) as connection:
        types = browse.type_counts(connection)
        expected = dict(
            connection.execute(select(releases.type, func.count()).group_by(releases.type)).all()
        )
        assert dict(types) == expected and None in expected
        assert [count for _, count in types] == sorted(expected.values(), reverse=True)
        stored = sorted(connection.execute(select(FACET_ROWS.c.facet).distinct()).scalars())
        assert browse.facet_strings(connection) == stored
        filtered = browse.facet_counts(connection, [releases.id > 0])  # the GROUP BY path
        assert browse.facet_counts(connection) == filtered
        syria = next(c for c in filtered if (c.key, c.value) == ("country", "syria"))
        assert (
            syria.releases
            == connection.execute(
                select(func.count(distinct(FACET_ROWS.c.release_id))).where(
                    FACET_ROWS.c.facet.in_(["country=syria", "country=iraq,syria"])
                )
            ).scalar_one()
        )


def test_monthly_counts_equal_a_count_per_month(archive: Engine) -> None:
    releases = RELEASES.c
    with read_snapshot(archive) as connection:
        counted = browse.monthly_counts(connection)
        dated = connection.execute(select(releases.published_on, releases.type)).all()
    expected: dict[tuple[str | None, str | None], int] = {}
    for day, kind in dated:
        month = day.strftime("%Y-%m") if day is not None else None
        expected[(month, kind)] = expected.get((month, kind), 0) + 1
    assert {(c.month, c.type): c.releases for c in counted} == expected
    months = [c.month for c in counted]
    assert months == sorted(months, key=lambda m: (m is None, m or ""))


@pytest.fixture
def client(archive: Engine) -> Iterator[TestClient]:
    url = archive.url.render_as_string(hide_password=False)
    with TestClient(create_app(url)) as test_client:
        yield test_client


def _total(client: TestClient, query: str = "") -> int:
    """The total the list `/?{query}` shows: inline when the view kept its counts, else from
    `GET /counts`, which the page's placeholder loads (htmx)."""
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    if 'hx-get="/counts' in response.text:
        assert f'hx-get="/counts?{query.replace("&", "&amp;")}"' in response.text
        response = client.get(f"/counts?{query}", headers={"HX-Request": "true"})
        assert response.status_code == 200 and "<html" not in response.text
    marker = 'data-total="'
    start = response.text.index(marker) + len(marker)
    return int(response.text[start : response.text.index('"', start)])


def test_counts_are_kept_until_another_connection_commits(
    archive: Engine, client: TestClient
) -> None:
    context = client.app.state.web  # type: ignore[attr-defined]
    with archive.connect() as connection:
        total = connection.execute(select(func.count()).select_from(RELEASES)).scalar_one()
    assert _total(client) == total
    assert _total(client, "country=syria") < total
    kept = len(context.results)
    assert kept >= 2
    # Asked again with nothing written: answered from what was kept, no new entry. (Not
    # asserted on PostgreSQL, whose version is the snapshot: any write on the server, by any
    # other test of the machine, makes a new one.)
    assert _total(client) == total
    if archive.dialect.name == "sqlite":
        assert len(context.results) == kept

    # A crawl (another connection, here another engine) stores releases: the next view counts
    # them, with or without a filter, on every pooled connection of the view.
    syria = _total(client, "country=syria")
    BatchWriter(archive).write_batch([_item(1001), _item(1007)])  # both seen under syria
    for _ in range(3):
        assert _total(client) == total + 2
        assert _total(client, "country=syria") == syria + 2
    # The coverage page's counts move too.
    coverage = client.get("/coverage")
    assert coverage.status_code == 200
    marker = 'class="summary" data-total="'
    start = coverage.text.index(marker) + len(marker)
    assert int(coverage.text[start : coverage.text.index('"', start)]) == total + 2


def test_a_large_selection_is_read_by_walking_the_date_index(
    archive: Engine, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page handler asks for the walk when the counts say the selection is large, for the
    collecting when they say it is small, and for a walk within `walk_budget` when they are not
    known (the rows come before the counts)."""
    walks: list[tuple[bool, int | None]] = []
    real = browse.release_page

    def spy(*args: Any, **kwargs: Any) -> Any:
        walks.append((kwargs.get("walk", False), kwargs.get("budget")))
        return real(*args, **kwargs)

    monkeypatch.setattr(browse, "release_page", spy)
    client.get("/?limit=5&type=Report")  # not counted yet: walk a little
    client.get("/?limit=500&country=syria")
    assert walks == [(True, browse.walk_budget(240, 5)), (True, browse.walk_budget(240, 500))]
    for query in ("type=Report", "country=syria", "issue=death-penalty"):
        assert client.get(f"/counts?{query}").status_code == 200
    walks.clear()
    client.get("/?limit=5&issue=death-penalty")  # 40 of 240 releases, 5 a page: walk
    client.get("/?limit=500&country=syria")  # a page holds them all: collect and sort
    first = client.get("/?limit=5&type=Report")
    more = first.text.split('hx-get="/?')[1].split('"')[0].replace("&amp;", "&")
    client.get(f"/?{more}", headers={"HX-Request": "true"})  # the counts are known
    assert walks == [(True, None), (False, None), (True, None), (True, None)]
    for query in ("q=syria&limit=5", "limit=5"):  # words, or no filter: the plain query
        assert client.get(f"/?{query}").status_code == 200
        assert walks[-1] == (False, None)
