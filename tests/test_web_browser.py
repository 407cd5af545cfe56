"""The web view in a real browser: `archiver web` over a crawled archive, driven by headless
Chromium through Playwright.

One archive for the module (SQLite): the local copy of the site crawled for `country=syria`
with its release pages, then again after the site edited one release's title and page (a
version diff) and planted script, frames and external loads in that release's page and in the
first listing page (archived pages to serve inert), then `issue=death-penalty` (listing only),
plus a release whose stored title and summary are script and event-handler attacks. The view
runs as `archiver web --port 0` in a child process; the browser loads its pages the way a user
does: the list, a filter chosen in the form, the next rows through htmx, a release's diffs, the
charts of the runs and coverage pages, archived pages. Every step leaves a screenshot in
`tests/artifacts/screenshots/` (git-ignored). One test takes the README's picture of the list,
`10-readme-releases.png` there; only with `ARCHIVER_README_SCREENSHOT=1` does it also write it
to `docs/img/web-releases.png` (the crawl times in it change each run, and `make test` must not
leave the working tree changed):

    ARCHIVER_README_SCREENSHOT=1 .venv/bin/pytest tests/test_web_browser.py

Chromium is Debian's (`make test` installs it: `make browser`); Playwright cannot download its
own browsers here. Without it the module is skipped, except under `CI=true`, where that is a
failure, as for PostgreSQL (`tests/plugins/db.py`): CI must never pass by not testing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from archiver.db import make_engine
from archiver.db.tables import FACETS, RELEASES, RUNS
from archiver.demo.dataset import DEATH_PENALTY, SYRIA, build_dataset, with_body, with_title
from archiver.demo.render import render_site
from archiver.demo.server import DemoServer
from archiver.process.crawl import LOCAL_SITE_SETTINGS, run_crawl
from tests.plugins.db import BatchWriter, _in_ci, release_item

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "tests" / "artifacts" / "screenshots"
README_IMAGE = REPO / "docs" / "img" / "web-releases.png"
VIEWPORT = {"width": 1280, "height": 800}

HOSTILE_TITLE = '<script>window.__xss=1</script> Aleppo <img src=x onerror="window.__xss=2">'
HOSTILE_SUMMARY = '"><svg onload="window.__xss=3"><img src=x onerror="window.__xss=4"> Aleppo'
ADDED_PARAGRAPH = "Update: the authorities have since responded."
#: Planted in an archived release page and listing page: what the inert view must neutralise.
PLANTED = (
    b"<script>window.__xss=5</script>"
    b'<script src="https://cdn.example.com/tracker.js"></script>'
    b'<link rel="stylesheet" href="https://cdn.example.com/site.css">'
    b"<style>body { background: url(https://pixel.example.com/bg.png) }</style>"
)
PLANTED_BODY = (
    b'<img src="https://pixel.example.com/p.gif" onerror="window.__xss=6">'
    b'<iframe src="https://frame.example.com/"></iframe>'
    b'<svg onload="window.__xss=7"></svg>'
)
#: Records what the page itself could not: CSP violations (none is expected on the view's own
#: pages, where escaping keeps attacks from ever becoming markup).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def chromium_path() -> str | None:
    """Debian's Chromium, where `make browser` (apt-get) puts it, or on PATH."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    """The browser's executable; skipped without it, but a failure under CI=true."""
    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (`make browser`, or apt-get install chromium)"
        if _in_ci():
            pytest.fail(f"CI=true requires the browser tests: {message}")
        pytest.skip(message)
    return path


# -- the archive and the server ------------------------------------------------------------------


@dataclass
class Archive:
    url: str
    data_dir: Path
    engine: Engine
    edited_id: int
    edited_title: str
    hostile_id: int


def _crawl(server: DemoServer, url: str, data_dir: Path, facet: str, **settings: Any) -> None:
    key, value = facet.split("=", 1)
    result = run_crawl(
        "amnestyusa",
        {key: value, "base_url": server.base_url},
        db_url=url,
        data_dir=data_dir,
        settings={**LOCAL_SITE_SETTINGS, **settings},
        timeout=180,
    )
    assert result.returncode == 0, result.message


def _plant(body: bytes) -> bytes:
    """`body` with script, frames and external loads added to its head and body."""
    body = body.replace(b"</head>", PLANTED + b"</head>", 1)
    return re.sub(rb"(<body[^>]*>)", lambda m: m.group(1) + PLANTED_BODY, body, count=1)


@pytest.fixture(scope="module")
def archive(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    tmp = tmp_path_factory.mktemp("web-browser")
    data_dir = tmp / "data"
    url = f"sqlite:///{tmp / 'archive.db'}"
    dataset = build_dataset()
    with DemoServer(render_site(dataset, "current")) as server:
        _crawl(server, url, data_dir, SYRIA, ARCHIVER_DETAILS=True, ARCHIVER_INCREMENTAL="off")
        release = next(
            r for r in dataset.listing(SYRIA) if not r.detail.gone and not r.detail.moved_to
        )
        new_title = release.title.strip() + " (updated)"
        edited = with_title(
            with_body(dataset, release.slug, ADDED_PARAGRAPH), release.slug, new_title
        )
        site = render_site(edited, "current")
        site.details[release.path] = _plant(site.details[release.path])
        site.pages[(SYRIA, 1)] = _plant(site.pages[(SYRIA, 1)])
        server.site = site
        _crawl(server, url, data_dir, SYRIA, ARCHIVER_DETAILS=True)
        _crawl(server, url, data_dir, DEATH_PENALTY)
    engine = make_engine(url)
    BatchWriter(engine).write_batch(
        [
            release_item(
                9001,
                title=HOSTILE_TITLE,
                summary=HOSTILE_SUMMARY,
                url="javascript:window.__xss=8//aleppo",
                published_on=date(2016, 3, 1),
            )
        ]
    )
    with engine.connect() as connection:
        ids = dict(
            connection.execute(
                select(RELEASES.c.title, RELEASES.c.id).where(
                    RELEASES.c.title.in_([new_title, HOSTILE_TITLE])
                )
            ).all()
        )
    yield Archive(url, data_dir, engine, ids[new_title], new_title, ids[HOSTILE_TITLE])
    engine.dispose()


@pytest.fixture(scope="module")
def base_url(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`archiver web --port 0` over the archive, as a user starts it; its URL."""
    log = tmp_path_factory.mktemp("web-log") / "web.log"
    command = [sys.executable, "-m", "archiver", "web", "--db", archive.url, "--port", "0"]
    command += ["--data-dir", str(archive.data_dir)]
    with (
        log.open("w") as errors,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=REPO
        ) as process,
    ):
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+", line)
            assert match, f"archiver web said {line!r}; log: {log.read_text()[-2000:]}"
            yield match.group(0)
        finally:
            process.terminate()
            process.wait(timeout=30)


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--headless=new"]
        )
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class Tab:
    """A page of the browser, with what it was asked to do behind the user's back."""

    page: Any
    base_url: str
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path, wait_until="load")
        assert response is not None and response.status == 200, path
        return response

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def evaluate(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def counted(self) -> tuple[int, dict[str, int]]:
        """The total and the counts per type, once htmx loaded them into the list (or the
        page came with them)."""
        self.page.locator("p.summary[data-total]").wait_for()
        self.page.locator("aside#counts li[data-count]").first.wait_for()
        assert self.page.locator("aside#counts[hx-get]").count() == 0  # the placeholder is gone
        total = int(self.page.locator("p.summary[data-total]").get_attribute("data-total"))
        types = self.page.locator("li[data-type]").evaluate_all(_COUNTS)
        return total, {kind: int(count) for kind, count in types}

    def listed(self) -> list[int]:
        return [int(n) for n in self.page.locator("tr[data-release]").evaluate_all(_IDS)]

    def assert_untouched(self) -> None:
        """No script of an attack ran: no dialog, no `window.__xss`, no CSP violation."""
        assert self.dialogs == []
        assert self.evaluate("typeof window.__xss") == "undefined"
        assert self.evaluate("window.__violations") == []


_IDS = "rows => rows.map(row => row.dataset.release)"
_COUNTS = "items => items.map(item => [item.dataset.type, item.dataset.count])"


@pytest.fixture
def tab(browser: Any, base_url: str) -> Iterator[Tab]:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="en-US")
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    found = Tab(page, base_url)

    def dialog(opened: Any) -> None:
        found.dialogs.append(f"{opened.type}: {opened.message}")
        opened.dismiss()

    page.on("dialog", dialog)
    page.on("request", lambda request: found.requests.append(request.url))
    try:
        yield found
    finally:
        context.close()


def sql_ids(engine: Engine, query: Any) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def newest_first(query: Any) -> Any:
    return query.order_by(RELEASES.c.published_on.desc().nulls_last(), RELEASES.c.id.desc())


# -- the tests -----------------------------------------------------------------------------------


def test_the_list_filters_through_its_form(tab: Tab, archive: Archive) -> None:
    releases = RELEASES.c
    tab.open("/")
    everything = sql_ids(archive.engine, newest_first(select(releases.id)))
    assert len(everything) > 50
    assert tab.listed() == everything[:50]
    # Not counted yet: the rows came first, htmx loads the counts from /counts after them.
    total, types = tab.counted()
    assert any("/counts" in url for url in tab.requests)
    with archive.engine.connect() as connection:
        per_type = connection.execute(
            select(releases.type, func.count()).group_by(releases.type)
        ).all()
    assert total == len(everything)
    assert types == {kind or "": count for kind, count in per_type}
    tab.shot("01-releases")

    # A type chosen in the form, then a country typed in: each submit narrows the rows.
    tab.page.select_option("select[name=type]", "Report")
    with tab.page.expect_navigation():
        tab.page.click("form.filters button[type=submit]")
    assert "type=Report" in tab.page.url
    reports = sql_ids(
        archive.engine, newest_first(select(releases.id)).where(releases.type == "Report")
    )
    assert 0 < len(reports) < len(everything)
    assert tab.listed() == reports[:50]
    shown = tab.page.locator("tr[data-release] td:nth-child(3)").all_inner_texts()
    assert set(shown) == {"Report"}
    assert tab.counted() == (len(reports), {"Report": len(reports)})
    tab.shot("02-filtered-type")

    tab.page.fill("input[name=country]", "syria")
    with tab.page.expect_navigation():
        tab.page.click("form.filters button[type=submit]")
    assert "country=syria" in tab.page.url and "type=Report" in tab.page.url
    syria_reports = sql_ids(
        archive.engine,
        newest_first(select(releases.id))
        .join(FACETS, FACETS.c.release_id == releases.id)
        .where(releases.type == "Report", FACETS.c.facet == SYRIA),
    )
    assert 0 < len(syria_reports) < len(reports)
    assert tab.listed() == syria_reports
    assert tab.counted() == (len(syria_reports), {"Report": len(syria_reports)})
    syria = tab.page.locator(f'li[data-facet="{SYRIA}"]').get_attribute("data-count")
    assert syria == str(len(syria_reports))
    assert tab.page.locator("p.chips a.chip").count() == 2  # the two filters, each removable
    assert tab.page.locator("select[name=type]").input_value() == "Report"
    tab.shot("03-filtered-type-and-country")
    tab.assert_untouched()


def test_more_loads_the_next_rows_in_place_with_htmx(tab: Tab, archive: Archive) -> None:
    everything = sql_ids(archive.engine, newest_first(select(RELEASES.c.id)))
    tab.open("/?limit=20")
    assert tab.listed() == everything[:20]
    before = tab.page.url
    more = tab.page.locator("tr#more a")
    assert more.get_attribute("hx-get") == more.get_attribute("href")
    with tab.page.expect_request(lambda request: "after=" in request.url) as asked:
        more.click()
    assert asked.value.headers.get("hx-request") == "true"  # htmx asked, not a navigation
    tab.page.locator("tr[data-release]").nth(39).wait_for()
    assert tab.page.url == before  # the rows came into this page
    assert tab.listed() == everything[:40]
    assert tab.page.locator("tr#more").count() == 1  # with the next link after them
    assert tab.page.locator("h1").count() == 1  # a fragment, not a page inside the page
    tab.page.locator("tr#more").scroll_into_view_if_needed()
    tab.shot("04-more-rows")
    tab.assert_untouched()


def test_a_release_shows_its_versions_as_word_diffs(tab: Tab, archive: Archive) -> None:
    tab.open(f"/release/{archive.edited_id}")
    assert tab.page.locator("h1").inner_text() == archive.edited_title
    inserted = tab.page.locator("section.change ins")
    deleted = tab.page.locator("section.change del")
    assert inserted.count() >= 2 and deleted.count() >= 1
    assert inserted.first.is_visible() and deleted.first.is_visible()
    texts = inserted.all_inner_texts()
    assert any("(updated)" in text for text in texts) and ADDED_PARAGRAPH in texts
    # Marked as changes on screen, not only in markup.
    assert tab.page.locator("section.change ins").first.evaluate(
        "node => getComputedStyle(node).textDecorationLine"
    ) != tab.page.locator("section.change del").first.evaluate(
        "node => getComputedStyle(node).textDecorationLine"
    )
    tab.page.locator("section.change").first.scroll_into_view_if_needed()
    tab.shot("05-release-diff")
    tab.assert_untouched()


def test_the_runs_page_draws_its_charts(tab: Tab, archive: Archive) -> None:
    runs = sql_ids(archive.engine, select(RUNS.c.id))
    tab.open("/runs")
    charts = tab.page.locator("svg.chart")
    assert charts.count() == 2
    for index in range(2):
        box = charts.nth(index).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 50
    dots = tab.page.locator("svg.chart").first.locator("circle.dot")
    assert dots.count() == len(runs)
    chart_box = charts.first.bounding_box()
    for index in range(dots.count()):
        dot = dots.nth(index).bounding_box()
        assert dot is not None and dot["width"] > 0
        assert chart_box["x"] <= dot["x"] <= chart_box["x"] + chart_box["width"]
    bars = tab.page.locator("svg.chart").nth(1).locator("rect.bar, circle.dot")
    assert bars.count() >= len(runs)
    tab.shot("06-runs")

    tab.open("/coverage")
    stacked = tab.page.locator("svg.chart rect:not(.gap)")
    assert stacked.count() > 0
    assert tab.page.locator("svg.chart").bounding_box()["height"] > 50
    tab.shot("07-coverage")
    tab.assert_untouched()


def test_stored_attacks_render_as_text_and_never_run(tab: Tab, archive: Archive) -> None:
    for path in ("/?limit=500", "/?q=Aleppo", f"/release/{archive.hostile_id}"):
        tab.open(path)
        tab.page.wait_for_timeout(200)  # an onerror fires after the failed load
        tab.assert_untouched()
        assert tab.page.locator("main img, main svg:not(.chart), main iframe").count() == 0
        if path.startswith("/release/"):
            assert tab.page.locator("h1").inner_text() == HOSTILE_TITLE
            assert tab.page.get_by_text(HOSTILE_SUMMARY.strip()).first.is_visible()
            # The javascript: URL is shown, never a link.
            assert tab.page.locator('a[href^="javascript:"]').count() == 0
        else:
            row = tab.page.locator(f'tr[data-release="{archive.hostile_id}"]')
            title = row.locator("a.title")
            title.scroll_into_view_if_needed()
            assert title.is_visible() and title.inner_text() == HOSTILE_TITLE
    tab.shot("08-hostile-release")
    # The broken images of an attack would have asked this server for `x`: none was asked for.
    assert not [url for url in tab.requests if url.rstrip("/").endswith("/x")]


def test_archived_pages_run_nothing_and_load_nothing_from_elsewhere(
    tab: Tab, archive: Archive
) -> None:
    tab.open(f"/release/{archive.edited_id}")
    links = tab.page.locator('a[href^="/archive/"]').evaluate_all("a => a.map(x => x.href)")
    links = sorted(set(links))
    assert len(links) >= 3  # listing pages it was first and last seen on, its own page twice
    planted = 0
    for number, link in enumerate(links):
        raw = _archived_body(archive, link.rsplit("/", 1)[1])
        planted += b"window.__xss=5" in raw and b"cdn.example.com" in raw
        tab.requests.clear()
        response = tab.page.goto(link, wait_until="load")
        assert response is not None and response.status == 200
        assert "sandbox" in response.headers["content-security-policy"]
        tab.page.wait_for_timeout(200)  # an onerror or onload would have fired by now
        assert tab.dialogs == []
        # Nothing ran, and nothing was even left for the page's policy to block.
        assert tab.evaluate("typeof window.__xss") == "undefined"
        assert tab.evaluate("window.__violations") == []
        assert tab.page.locator("script, iframe, link[rel=stylesheet], img[src]").count() == 0
        assert tab.requests == [link], tab.requests  # the page itself, nothing else
        assert "archived copy of" in tab.page.locator("body").inner_text().lower()
        tab.shot(f"09-archived-page-{number + 1}")
    # The second crawl archived the pages with the planted script and loads (listing, release).
    assert planted == 2


def _archived_body(archive: Archive, key: str) -> bytes:
    """The bytes the crawl archived for the record `key` (the WARC file, not the view)."""
    from archiver.db.tables import WARC_PAGES
    from archiver.warcfile import read_record

    with archive.engine.connect() as connection:
        row = connection.execute(
            select(WARC_PAGES).where(WARC_PAGES.c.record_id == f"<urn:uuid:{key}>")
        ).one()
    path = Path(row.warc_file)
    return read_record(path if path.is_absolute() else archive.data_dir / path, row.offset).body


def test_readme_picture_of_the_release_list(tab: Tab, archive: Archive) -> None:
    """The README's picture: the list at 1280x800, its counts loaded, in the screenshots folder;
    also `docs/img/web-releases.png` with `ARCHIVER_README_SCREENSHOT=1` (see the module)."""
    tab.open("/")
    tab.counted()
    tab.page.wait_for_load_state("networkidle")
    path = tab.shot("10-readme-releases", full_page=False)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
    assert len(data) < 300_000
    if os.environ.get("ARCHIVER_README_SCREENSHOT") == "1":
        README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_IMAGE)
