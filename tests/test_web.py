"""The web view (`archiver web`) over a real archive, on SQLite and PostgreSQL.

One archive per dialect for the whole module: the local copy of the site crawled for
`country=syria` with its release pages (70 releases with texts), then again after the site
edited one release's title and page (a listing version and a page version to diff), plus one
release stored through the store layer whose title is an XSS attempt, and a schedule. Pages
are read through Starlette's TestClient and compared with direct SQL, the CSV download with
what `archiver export` writes, and every response is checked for the database password.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from lxml import html as lxml_html
from sqlalchemy import Engine, distinct, func, select
from sqlalchemy.engine import make_url

from archiver.db import make_engine, upgrade, write_transaction
from archiver.db.schedules import ScheduleSpec, add_schedule, get_schedule
from archiver.db.search import search_releases
from archiver.db.tables import FACETS, RELEASES, RUNS, TEXTS, VERSIONS
from archiver.demo.dataset import SYRIA, Dataset, build_dataset, with_body, with_title
from archiver.demo.render import render_site
from archiver.demo.server import DemoServer
from archiver.export import ExportFilters, export_releases
from archiver.process.crawl import LOCAL_SITE_SETTINGS, run_crawl
from archiver.web import create_app
from archiver.web.diff import text_diff, word_diff
from archiver.web.inert import ARCHIVE_CSP, inert_html
from archiver.web.security import Operator
from tests.plugins.cli import run_cli
from tests.plugins.db import BatchWriter, _admin_conninfo, _in_ci, release_item

with warnings.catch_warnings():
    # Starlette asks for `httpx2`; the project's test client is httpx (pyproject).
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.slow

TOKEN = "operator-token-for-tests-0123456789"
HOSTILE_TITLE = '<script>alert(1)</script> Aleppo <img src=x onerror="alert(2)">'
ADDED_PARAGRAPH = "Update: the authorities have since responded."
SCHEDULE = "syria-web"


@dataclass
class Archive:
    """One crawled archive, the site it came from, and what the tests planted in it."""

    dialect: str
    url: str
    secret: str | None  # the password in `url` (never to be shown)
    data_dir: Path
    server: DemoServer
    dataset: Dataset
    edited_id: int  # edited on the site between the two crawls
    edited_title: tuple[str, str]  # before, after
    hostile_id: int
    engine: Engine


def _database(dialect: str, tmp: Path) -> Iterator[tuple[str, str | None]]:
    if dialect == "sqlite":
        yield f"sqlite:///{tmp / 'archive.db'}", None
        return
    conninfo = _admin_conninfo()
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        if _in_ci():
            pytest.fail(f"CI=true requires PostgreSQL: {error}")
        pytest.skip(f"PostgreSQL unreachable: {str(error)[:200]}")
    name = f"archiver_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        # The local server trusts loopback: a password in the URL is ignored by it, and must
        # never be shown by the web view.
        url = make_url(conninfo)
        secret = url.password or "s3cret"
        yield url.set(database=name, password=secret).render_as_string(hide_password=False), secret
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _crawl(server: DemoServer, url: str, data_dir: Path, **settings: Any) -> None:
    result = run_crawl(
        "amnestyusa",
        {"country": "syria", "base_url": server.base_url},
        db_url=url,
        data_dir=data_dir,
        settings={**LOCAL_SITE_SETTINGS, "ARCHIVER_DETAILS": True, **settings},
        timeout=180,
    )
    assert result.returncode == 0, result.message


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    tmp = tmp_path_factory.mktemp(f"web-{request.param}")
    data_dir = tmp / "data"
    dataset = build_dataset()
    databases = _database(request.param, tmp)
    url, secret = next(databases)
    try:
        with DemoServer(render_site(dataset, "current")) as server:
            _crawl(server, url, data_dir, ARCHIVER_INCREMENTAL="off")
            release = next(
                r for r in dataset.listing(SYRIA) if not r.detail.gone and not r.detail.moved_to
            )
            new_title = release.title.strip() + " (updated)"
            edited = with_title(
                with_body(dataset, release.slug, ADDED_PARAGRAPH), release.slug, new_title
            )
            server.site = render_site(edited, "current")
            _crawl(server, url, data_dir)
            engine = make_engine(url)
            writer = BatchWriter(engine)
            writer.write_batch(
                [
                    release_item(
                        9001,
                        title=HOSTILE_TITLE,
                        summary='"><svg onload=alert(3)>',
                        url="javascript:alert(4)//aleppo",
                    )
                ]
            )
            with write_transaction(engine) as connection:
                add_schedule(
                    connection,
                    ScheduleSpec(
                        name=SCHEDULE,
                        spider="amnestyusa",
                        arguments={"country": "syria", "base_url": server.base_url},
                        interval_seconds=6 * 3600,
                        settings={key: str(value) for key, value in LOCAL_SITE_SETTINGS.items()},
                    ),
                )
                ids = dict(
                    connection.execute(
                        select(RELEASES.c.title, RELEASES.c.id).where(
                            RELEASES.c.title.in_([new_title, HOSTILE_TITLE])
                        )
                    ).all()
                )
            yield Archive(
                dialect=request.param,
                url=url,
                secret=secret,
                data_dir=data_dir,
                server=server,
                dataset=edited,
                edited_id=ids[new_title],
                edited_title=(release.title, new_title),
                hostile_id=ids[HOSTILE_TITLE],
                engine=engine,
            )
            engine.dispose()
    finally:
        databases.close()


@pytest.fixture
def client(archive: Archive) -> Iterator[TestClient]:
    app = create_app(archive.url, data_dir=archive.data_dir)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def operator_client(archive: Archive) -> Iterator[TestClient]:
    app = create_app(archive.url, data_dir=archive.data_dir, operator_token=TOKEN)
    with TestClient(app) as test_client:
        yield test_client


def page(response: Any) -> Any:
    assert response.status_code == 200, response.text[:500]
    return lxml_html.fromstring(response.text)


def listed(document: Any) -> list[int]:
    return [int(tr.get("data-release")) for tr in document.cssselect("tr[data-release]")]


def scalar(engine: Engine, query: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def ids(engine: Engine, query: Any) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def counts(client: TestClient, query: str = "") -> Any:
    """The counts of the list `/?{query}`: inline when the view keeps them, else the page's
    placeholder loads them from `GET /counts` (htmx, with a plain link for a browser without
    JavaScript), which this fetches as htmx does. Either way, the next view of the list shows
    the same counts inline."""
    listing = page(client.get(f"/?{query}"))
    placeholder = listing.cssselect("aside#counts[hx-get]")
    if not placeholder:
        return listing
    route = placeholder[0].get("hx-get")
    assert route.startswith("/counts")
    assert placeholder[0].get("hx-trigger") == "load"
    assert placeholder[0].cssselect("a")[0].get("href") == route  # works without JavaScript
    assert listing.cssselect("p.summary.pending") and not listing.cssselect("[data-count]")
    response = client.get(route, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.text
    assert response.headers["vary"] == "HX-Request"
    fragment = lxml_html.fromstring(response.text)
    assert fragment.cssselect("aside#counts") and not fragment.cssselect("aside[hx-get]")
    assert fragment.cssselect('p.summary#total[hx-swap-oob="true"]')
    again = page(client.get(f"/?{query}"))
    assert not again.cssselect("aside#counts[hx-get]")
    assert _shown(again) == _shown(fragment)
    return fragment


def _shown(document: Any) -> tuple[Any, ...]:
    """The total and every count a document shows."""
    total = document.cssselect("p.summary[data-total]")[0].get("data-total")
    return total, [
        (li.get("data-type"), li.get("data-facet"), li.get("data-count"))
        for li in document.cssselect("li[data-count]")
    ]


def walk(client: TestClient, query: str) -> list[int]:
    """Every release of a list, following the next-page links to the end."""
    found: list[int] = []
    path = f"/?{query}"
    for _ in range(200):
        document = page(client.get(path))
        found += listed(document)
        more = document.cssselect("tr#more a")
        if not more:
            return found
        path = more[0].get("href")
        assert "after=" in path and more[0].get("hx-get") == path
    raise AssertionError("the next-page links never ended")


# -- the release list ----------------------------------------------------------------------------


def test_filters_select_what_sql_selects(archive: Archive, client: TestClient) -> None:
    releases = RELEASES.c
    everything = page(client.get("/?limit=500"))
    total = scalar(archive.engine, select(func.count()).select_from(RELEASES))
    assert total == 71
    assert int(counts(client, "limit=500").cssselect("p.summary")[0].get("data-total")) == total
    assert len(listed(everything)) == total

    reports = page(client.get("/?type=report&limit=500"))
    expected = ids(archive.engine, select(releases.id).where(releases.type == "Report"))
    assert sorted(listed(reports)) == sorted(expected) and expected

    syria = page(client.get("/?country=syria&limit=500"))
    assert len(listed(syria)) == 70 and archive.hostile_id not in listed(syria)

    since, until = date(2020, 1, 1), date(2023, 6, 30)
    span = page(client.get("/?since=2020&until=2023-06&limit=500"))
    expected = ids(
        archive.engine,
        select(releases.id).where(releases.published_on.between(since, until)),
    )
    assert sorted(listed(span)) == sorted(expected) and 0 < len(expected) < total

    # Full-text words: the same releases `archiver search` finds (page bodies included).
    words = "authorities responded"
    with archive.engine.connect() as connection:
        hits = {hit.release_id for hit in search_releases(connection, words, limit=1000)}
    found = page(client.get("/", params={"q": words, "limit": 500}))
    assert set(listed(found)) == hits and archive.edited_id in hits
    assert found.cssselect(f'tr[data-release="{archive.edited_id}"] .snippet mark')

    # Filters combine: type AND facet AND words.
    combined = page(
        client.get(
            "/", params={"q": "Syria", "type": "Press Release", "country": "syria", "limit": 500}
        )
    )
    with archive.engine.connect() as connection:
        hits = {
            hit.release_id
            for hit in search_releases(
                connection, "Syria", [releases.type == "Press Release"], limit=1000
            )
        }
    assert set(listed(combined)) == hits - {archive.hostile_id}


def test_pages_walk_every_release_once_in_order(archive: Archive, client: TestClient) -> None:
    releases = RELEASES.c
    by_date = ids(
        archive.engine,
        select(releases.id).order_by(releases.published_on.desc().nulls_last(), releases.id.desc()),
    )
    walked = walk(client, "limit=7")
    assert walked == by_date and len(set(walked)) == len(walked) == 71

    by_seen = ids(
        archive.engine,
        select(releases.id).order_by(releases.first_seen_at.desc(), releases.id.desc()),
    )
    assert walk(client, "sort=first_seen&limit=9") == by_seen

    filtered = ids(
        archive.engine,
        select(releases.id)
        .where(releases.type == "Press Release")
        .order_by(releases.published_on.desc().nulls_last(), releases.id.desc()),
    )
    assert walk(client, "type=Press+Release&limit=5") == filtered

    # htmx asks for the next rows only: a fragment, with its own next link.
    first = page(client.get("/?limit=5"))
    more = first.cssselect("tr#more a")[0].get("hx-get")
    fragment = client.get(more, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert [int(n) for n in re.findall(r'data-release="(\d+)"', fragment.text)] == by_date[5:10]
    assert 'id="more"' in fragment.text


def test_counts_beside_the_list_equal_sql_counts(archive: Archive, client: TestClient) -> None:
    releases = RELEASES.c
    # Not counted yet by this view: the list comes without them, and loads them.
    assert page(client.get("/?since=2016")).cssselect("aside#counts[hx-get]")
    document = counts(client, "since=2016")
    shown_types = {
        li.get("data-type"): int(li.get("data-count")) for li in document.cssselect("li[data-type]")
    }
    with archive.engine.connect() as connection:
        expected = {
            (kind or ""): count
            for kind, count in connection.execute(
                select(releases.type, func.count())
                .where(releases.published_on >= date(2016, 1, 1))
                .group_by(releases.type)
            )
        }
        syria = connection.execute(
            select(func.count(distinct(FACETS.c.release_id)))
            .join(RELEASES, RELEASES.c.id == FACETS.c.release_id)
            .where(FACETS.c.facet == "country=syria", releases.published_on >= date(2016, 1, 1))
        ).scalar()
    assert shown_types == expected
    facets = {
        li.get("data-facet"): int(li.get("data-count"))
        for li in document.cssselect("li[data-facet]")
    }
    assert facets == {"country=syria": syria}
    # A count is a link that adds its filter.
    link = document.cssselect('li[data-type="Report"] a')[0].get("href")
    assert "type=Report" in link and "since=2016" in link
    # Without JavaScript the placeholder's link is a page of the same counts.
    whole = page(client.get("/counts?since=2016"))
    assert whole.cssselect("h1") and _shown(whole) == _shown(document)
    assert whole.cssselect('a[href="/?since=2016"]')  # back to the list


def test_bad_parameters_are_a_clear_400(client: TestClient) -> None:
    for query, message in (
        ("since=9/3/2016", "is not a date"),
        ("type=Interview", "unknown type"),
        ("country=syria%26x", "is not a slug"),
        ("after=yesterday~1", "not a page cursor"),
        ("sort=random", "unknown sort"),
        ("limit=0", "limit must be"),
    ):
        response = client.get(f"/?{query}")
        assert response.status_code == 400, query
        assert message in response.text
    assert client.get("/release/999999").status_code == 404
    assert client.get("/runs/999999").status_code == 404
    assert client.get("/archive/not-a-record").status_code == 404
    assert client.get(f"/archive/{uuid.uuid4()}").status_code == 404


# -- downloads -----------------------------------------------------------------------------------


def test_csv_download_is_what_archiver_export_writes(
    archive: Archive, client: TestClient, tmp_path: Path
) -> None:
    response = client.get(
        "/export.csv", params={"country": "syria", "type": "report", "since": "2016"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    out = tmp_path / "cli.csv"
    result = run_cli(
        "export",
        "--db",
        archive.url,
        "--country",
        "syria",
        "--type",
        "report",
        "--since",
        "2016",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert response.content == out.read_bytes()
    assert response.content.count(b"\n") > 5

    # JSON and the manifest: the same export function, the same bytes.
    filters = ExportFilters.parse(types=["Report"])
    json_out = tmp_path / "reports.json"
    export_releases(archive.url, json_out, filters=filters, fmt="json")
    download = client.get("/export.json?type=Report")
    assert download.content == json_out.read_bytes()
    assert {r["type"] for r in json.loads(download.content)} == {"Report"}
    manifest = client.get("/export.manifest.json?type=Report").json()
    assert manifest["rows"] == len(json.loads(download.content))
    assert manifest["filters"] == {"type": ["Report"]}
    csv_manifest = client.get("/export.manifest.json?type=Report&format=csv").json()
    csv_body = client.get("/export.csv?type=Report").content
    assert csv_manifest["sha256"] == hashlib.sha256(csv_body).hexdigest()
    assert manifest["database"] == "(not shown by the web view)"

    # The list's words become `--search` in a download, and the page says so.
    listing = client.get("/?q=Aleppo")
    assert "archiver export --search Aleppo" in listing.text
    searched = client.get("/export.csv?q=Aleppo")
    expected = tmp_path / "aleppo.csv"
    export_releases(archive.url, expected, filters=ExportFilters.parse(search="Aleppo"))
    assert searched.content == expected.read_bytes()


def test_atom_feed_is_archiver_feeds_for_the_same_filter(
    archive: Archive, client: TestClient
) -> None:
    from archiver.db.releases import read_snapshot
    from archiver.export.atom import atom_feed

    response = client.get("/feed.atom?country=syria&type=Report&limit=5")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    with read_snapshot(archive.engine) as connection:
        expected = atom_feed(
            connection,
            ExportFilters.parse(countries=["syria"], types=["Report"]),
            base_url="http://testserver/?country=syria&type=Report",
            feed_url="http://testserver/feed.atom?country=syria&type=Report&limit=5",
            limit=5,
        )
    assert response.content == expected
    again = client.get(
        "/feed.atom?country=syria&type=Report&limit=5",
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304
    hostile = client.get("/feed.atom?q=Aleppo").text
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    assert client.get("/feed.atom?contry=syria").status_code == 400
    assert client.get("/feed.atom?limit=5000").status_code == 400
    page_links = page(client.get("/?country=syria")).cssselect('link[rel="alternate"]')
    assert page_links[0].get("href") == "/feed.atom?country=syria"


# -- one release ---------------------------------------------------------------------------------


def test_release_page_shows_versions_as_word_diffs_and_the_text(
    archive: Archive, client: TestClient
) -> None:
    response = client.get(f"/release/{archive.edited_id}")
    document = page(response)
    before, after = archive.edited_title
    assert document.cssselect("h1")[0].text_content() == after
    # The listing's title change, word by word.
    inserted = [node.text_content() for node in document.cssselect("section.change ins")]
    assert "(updated)" in " ".join(inserted)
    with archive.engine.connect() as connection:
        (old_title,) = connection.execute(
            select(VERSIONS.c.title).where(VERSIONS.c.release_id == archive.edited_id)
        ).one()
        text = connection.execute(
            select(TEXTS).where(TEXTS.c.release_id == archive.edited_id)
        ).one()
    assert old_title == " ".join(before.split())
    # The page's body change: the added paragraph is an insertion.
    assert ADDED_PARAGRAPH in inserted
    # The text, its provenance and where it was archived.
    body = document.cssselect("div.body-text")[0].text_content()
    assert ADDED_PARAGRAPH in body
    provenance = {
        row.cssselect("td")[0].text: row.cssselect("td")[1].text
        for row in document.cssselect("table.provenance tbody tr")
    }
    assert provenance == text.provenance and provenance["body"] == "site"
    archived = [a.get("href") for a in document.cssselect('a[href^="/archive/"]')]
    assert len(archived) >= 2  # a listing page and the release's own page
    # First and last seen, facets, the runs.
    assert "country=syria" in response.text and "/runs/1" in response.text

    # A gone release and a moved one say so.
    with archive.engine.connect() as connection:
        gone = connection.execute(
            select(TEXTS.c.release_id).where(TEXTS.c.status == "gone")
        ).scalar_one()
        moved, moved_to = connection.execute(
            select(TEXTS.c.release_id, TEXTS.c.moved_to).where(TEXTS.c.moved_to.is_not(None))
        ).one()
    assert 'class="status gone"' in client.get(f"/release/{gone}").text
    assert moved_to in client.get(f"/release/{moved}").text


def test_archived_pages_are_served_inert(archive: Archive, client: TestClient) -> None:
    document = page(client.get(f"/release/{archive.edited_id}"))
    for href in {a.get("href") for a in document.cssselect('a[href^="/archive/"]')}:
        response = client.get(href)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == ARCHIVE_CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        text = response.text.lower()
        assert "<script" not in text and "<iframe" not in text and "<base" not in text
        assert not re.search(r"\son[a-z]+\s*=", text)
        assert not re.search(r"\s(src|srcset|action)\s*=", text)
        assert "archived copy of" in text


def test_a_hostile_title_renders_as_text(archive: Archive, client: TestClient) -> None:
    for path in ("/?limit=500", f"/release/{archive.hostile_id}", "/?q=Aleppo"):
        body = client.get(path).text
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "<img src=x" not in body and 'onerror="alert' not in body
        assert "<svg onload" not in body
        assert 'href="javascript:' not in body.lower()
    document = page(client.get(f"/release/{archive.hostile_id}"))
    assert document.cssselect("h1")[0].text_content() == HOSTILE_TITLE


# -- runs and coverage ---------------------------------------------------------------------------


def test_runs_page_and_a_run(archive: Archive, client: TestClient) -> None:
    document = page(client.get("/runs"))
    runs = ids(archive.engine, select(RUNS.c.id).order_by(RUNS.c.id.desc()))
    shown = [int(a.text) for a in document.cssselect("table.runs tbody tr td:first-child a")]
    assert shown == runs[:50]
    charts = document.cssselect("svg.chart")
    assert len(charts) == 2
    assert len(charts[0].cssselect("circle.dot")) == len(
        [r for r in runs]
    )  # every run read listing pages
    run = page(client.get("/runs/1"))
    assert "finished" in run.cssselect("h1")[0].text_content()
    pages = run.cssselect('ul.pages a[href^="/archive/"]')
    assert len(pages) == 7  # the seven listing pages of country=syria
    assert client.get(pages[0].get("href")).status_code == 200
    assert "archiver/store/new" in run.text_content()


def test_coverage_counts_every_month_and_shows_the_gaps(
    archive: Archive, client: TestClient
) -> None:
    document = page(client.get("/coverage?country=syria"))
    rows = document.cssselect("tr[data-month]")
    months = [row.get("data-month") for row in rows]
    first, last = months[0], months[-1]
    year, month = int(first[:4]), int(first[5:])
    contiguous = []
    while f"{year:04d}-{month:02d}" <= last:
        contiguous.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    assert months == contiguous
    with archive.engine.connect() as connection:
        published = list(
            connection.execute(
                select(RELEASES.c.published_on)
                .join(FACETS, FACETS.c.release_id == RELEASES.c.id)
                .where(FACETS.c.facet == "country=syria")
            ).scalars()
        )
    per_month: dict[str, int] = {}
    for day in published:
        if day is not None:
            per_month[day.strftime("%Y-%m")] = per_month.get(day.strftime("%Y-%m"), 0) + 1
    shown = {row.get("data-month"): int(row.get("data-count")) for row in rows}
    assert {m: c for m, c in shown.items() if c} == per_month
    empty = [m for m, c in shown.items() if c == 0]
    assert len(document.cssselect("tr.empty")) == len(empty)
    assert len(document.cssselect("svg.chart rect.gap")) == len(empty)
    summary = document.cssselect("p.summary")[0]
    assert int(summary.get("data-total")) == len(published)


# -- read-only, operator mode, CSRF --------------------------------------------------------------


def test_without_a_token_every_post_is_refused(archive: Archive, client: TestClient) -> None:
    for path in ("/login", "/logout", f"/schedules/{SCHEDULE}/pause", f"/schedules/{SCHEDULE}/run"):
        response = client.post(path, data={"token": TOKEN, "csrf": "x"})
        assert response.status_code == 403, path
    schedules = client.get("/schedules").text
    assert SCHEDULE in schedules and "Run now" not in schedules and "read-only" in schedules
    with archive.engine.connect() as connection:
        assert get_schedule(connection, SCHEDULE).enabled


def test_operator_login_and_csrf(archive: Archive, operator_client: TestClient) -> None:
    client = operator_client
    assert "Run now" not in client.get("/schedules").text  # not logged in yet
    assert client.post(f"/schedules/{SCHEDULE}/pause", data={}).status_code == 403
    assert client.post("/login", data={"token": "wrong-token-wrong-token"}).status_code == 403
    login = client.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/schedules"
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and TOKEN.lower() not in cookie

    document = page(client.get("/schedules"))
    csrf = document.cssselect('form[action$="/pause"] input[name="csrf"]')[0].get("value")
    assert csrf
    pause = f"/schedules/{SCHEDULE}/pause"
    assert client.post(pause, data={}).status_code == 403  # no CSRF token
    assert client.post(pause, data={"csrf": csrf[::-1]}).status_code == 403  # a wrong one
    assert (
        client.post(pause, data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
    ).status_code == 403  # from another site
    with archive.engine.connect() as connection:
        assert get_schedule(connection, SCHEDULE).enabled
    done = client.post(pause, data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    with archive.engine.connect() as connection:
        assert not get_schedule(connection, SCHEDULE).enabled
    assert "paused" in client.get(done.headers["location"]).text
    resumed = client.post(
        f"/schedules/{SCHEDULE}/resume",
        data={"csrf": csrf},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert resumed.status_code == 303
    with archive.engine.connect() as connection:
        assert get_schedule(connection, SCHEDULE).enabled

    # Another browser's session has another CSRF token; a forged cookie is no session.
    client.cookies.set("archiver_operator", "forged.9999999999.deadbeef")
    assert client.post(pause, data={"csrf": csrf}).status_code == 403

    # Log out: the session is gone.
    client.cookies.clear()
    client.post("/login", data={"token": TOKEN})
    csrf = page(client.get("/schedules")).cssselect('input[name="csrf"]')[0].get("value")
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert "Run now" not in client.get("/schedules").text


def test_run_now_starts_the_schedule_in_the_background(
    archive: Archive, operator_client: TestClient
) -> None:
    client = operator_client
    client.post("/login", data={"token": TOKEN})
    csrf = page(client.get("/schedules")).cssselect('input[name="csrf"]')[0].get("value")
    before = scalar(archive.engine, select(func.count()).where(RUNS.c.trigger == SCHEDULE))
    started = client.post(f"/schedules/{SCHEDULE}/run", data={"csrf": csrf}, follow_redirects=False)
    assert started.status_code == 303 and "done=started" in started.headers["location"]
    # A second click while the crawl runs (a child process: seconds) starts nothing.
    again = client.post(f"/schedules/{SCHEDULE}/run", data={"csrf": csrf}, follow_redirects=False)
    assert "done=busy" in again.headers["location"]
    thread = client.app.state.web.started[SCHEDULE]  # type: ignore[attr-defined]
    thread.join(timeout=180)
    assert not thread.is_alive()
    with archive.engine.connect() as connection:
        runs = (
            connection.execute(
                select(RUNS.c.status).where(RUNS.c.trigger == SCHEDULE).order_by(RUNS.c.id)
            )
            .scalars()
            .all()
        )
    assert len(runs) == before + 1 and runs[-1] == "finished"
    assert SCHEDULE in client.get("/runs").text


# -- secrets, errors, headers --------------------------------------------------------------------


def _every_page(archive: Archive, client: TestClient) -> list[Any]:
    paths = [
        "/",
        "/?q=Syria",
        "/?type=Report&since=2016",
        "/counts?type=Report&since=2016",
        "/coverage",
        "/coverage?country=syria",
        "/runs",
        "/runs/1",
        "/runs/2",
        "/schedules",
        f"/release/{archive.edited_id}",
        f"/release/{archive.hostile_id}",
        "/export.manifest.json",
        "/export.csv?type=Report",
        "/nowhere",
        "/release/999999",
        "/?since=bad",
        "/static/style.css",
    ]
    document = page(client.get(f"/release/{archive.edited_id}"))
    paths += [a.get("href") for a in document.cssselect('a[href^="/archive/"]')]
    return [client.get(path) for path in paths]


def test_no_page_shows_the_database_url_or_password(archive: Archive, client: TestClient) -> None:
    database = make_url(archive.url).database or ""
    for response in _every_page(archive, client):
        shown = response.text + json.dumps(dict(response.headers))
        assert archive.url not in shown
        if archive.secret:
            assert archive.secret not in shown, response.url
            assert database not in shown, response.url
        else:
            assert str(archive.data_dir.parent) not in shown, response.url


def test_every_response_carries_the_security_headers(archive: Archive, client: TestClient) -> None:
    for response in _every_page(archive, client):
        headers = response.headers
        assert headers["x-frame-options"] == "DENY", response.url
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "unsafe-eval" not in csp
        if "/archive/" not in str(response.url):
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    # Everything a page loads comes from this server: it works offline.
    document = page(client.get("/"))
    for element in document.cssselect("script, link[rel=stylesheet]"):
        source = element.get("src") or element.get("href")
        assert source.startswith("/static/"), source
        assert client.get(source).status_code == 200
    assert not document.cssselect("script:not([src])")  # no inline script
    assert "htmx" in client.get("/static/htmx.min.js").text[:200]


def test_errors_leak_nothing(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    # An archive that cannot be opened: a generic page, nothing about the database.
    if archive.secret:
        missing = make_url(archive.url).set(database=f"missing_{uuid.uuid4().hex[:8]}")
        url = missing.render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{archive.data_dir}/nowhere/archive.db"
    with TestClient(create_app(url)) as client:
        response = client.get("/")
    assert response.status_code == 503
    assert "could not be read" in response.text
    assert (
        url not in response.text
        and "nowhere" not in response.text
        and "missing_" not in (response.text)
    )
    if archive.secret:
        assert archive.secret not in response.text

    # Any exception: a generic 500 page with the security headers, no message, no traceback.
    from archiver.db import browse

    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(f"boom at {archive.url}")

    monkeypatch.setattr(browse, "release_page", explode)
    with TestClient(create_app(archive.url, data_dir=archive.data_dir)) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "boom" not in response.text and "Traceback" not in response.text
    assert archive.url not in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]


# -- the pieces, without a server ----------------------------------------------------------------


def test_word_diff_escapes_and_marks() -> None:
    diff = str(word_diff("Five <b>killed</b> in Aleppo", "Six <b>killed</b> in Aleppo today"))
    assert diff == (
        "<del>Five</del><ins>Six</ins> &lt;b&gt;killed&lt;/b&gt; in Aleppo<ins> today</ins>"
    )
    paragraphs = [str(p) for p in text_diff("One.\n\nTwo.", "One.\n\nTwo.\n\n<Three>")]
    assert paragraphs == ["One.", "Two.", "<ins>&lt;Three&gt;</ins>"]


def test_inert_html_removes_everything_active() -> None:
    hostile = (
        b'<html><head><base href="https://evil/"><meta http-equiv="refresh" content="0;url=x">'
        b'<link rel="stylesheet" href="https://cdn/x.css"><script>alert(1)</script>'
        b"<style>body{background:url(https://t/x.png)}</style></head>"
        b'<body onload="x()"><h1 onclick="y()">Title</h1><img src="https://t/p.gif" alt="pic"'
        b' onerror="alert(1)"><iframe src="https://f"></iframe><object data="o"></object>'
        b'<embed src="e"><a href="javascript:alert(1)">j</a><a href="https://site/x">next</a>'
        b'<form action="https://p"><input name="a"></form><video poster="https://v"></video>'
        b"<svg><script>alert(2)</script></svg></body></html>"
    )
    html = inert_html(hostile, url="https://site/news").lower()
    for active in (
        "<script",
        "onload",
        "onclick",
        "onerror",
        "<iframe",
        "<object",
        "<embed",
        "<base",
        "refresh",
        "<link",
        "javascript:",
        "<form",
        "https://t/",
        "https://cdn",
        "poster",
        'src="',
    ):
        assert active not in html, active
    assert "title" in html and 'title="archived link: https://site/x"' in html
    assert 'alt="pic"' in html


def test_operator_sessions_expire_and_cannot_be_forged() -> None:
    now = [1_000_000.0]
    operator = Operator("a-long-enough-operator-token", lifetime=60, clock=lambda: now[0])
    cookie = operator.new_session()
    session = operator.session_id(cookie)
    assert session is not None
    assert operator.check_csrf(session, operator.csrf_token(session))
    assert not operator.check_csrf(session, "0" * 64)
    assert operator.session_id(cookie[:-1] + ("0" if cookie[-1] != "0" else "1")) is None
    other = Operator("a-long-enough-operator-token")  # another process: another key
    assert other.session_id(cookie) is None
    now[0] += 61
    assert operator.session_id(cookie) is None
    assert Operator(None).session_id(cookie) is None
    for _ in range(5):
        assert not operator.check_token("wrong")
    assert operator.locked_out()


# -- the command ---------------------------------------------------------------------------------


def test_archiver_web_serves_on_a_free_port(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    help_text = run_cli("web", "--help").stdout
    assert "archiver web --db sqlite:///data/demo/archive.db" in help_text
    assert "--operator-token" in help_text and "127.0.0.1" in help_text
    short = run_cli("web", "--db", sqlite_url, "--operator-token", "short")
    assert short.returncode == 2 and "at least 16 characters" in short.stderr
    missing = run_cli("web", "--db", "sqlite:////nonexistent/archive.db", "--port", "0")
    assert missing.returncode == 1 and "no archive" in missing.stderr

    with subprocess.Popen(
        [sys.executable, "-m", "archiver", "web", "--db", sqlite_url, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            assert match, line
            response = httpx.get(match.group(0), timeout=30)
            assert response.status_code == 200 and "Releases" in response.text
            assert sqlite_url not in response.text
        finally:
            process.terminate()
            process.wait(timeout=30)
