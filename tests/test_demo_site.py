"""The bundled copy of the site: deterministic, complete, and served like the real one."""

from __future__ import annotations

import urllib.error
import urllib.request
from itertools import pairwise
from pathlib import Path

import pytest

from archiver.demo.build import SITE_DIR, site_files
from archiver.demo.dataset import FILTERS, SYRIA, build_dataset
from archiver.demo.seed import SEED_CARDS
from archiver.demo.server import DemoServer


def test_shipped_copy_equals_a_fresh_build() -> None:
    """`python -m archiver.demo.build` was run after the last change to dataset or renderer."""
    fresh = site_files(build_dataset())
    shipped = {
        str(path.relative_to(SITE_DIR)): path.read_bytes()
        for path in SITE_DIR.rglob("*")
        if path.is_file()
    }
    assert sorted(shipped) == sorted(fresh)
    stale = [name for name in fresh if fresh[name] != shipped[name]]
    assert stale == []


def test_build_is_deterministic() -> None:
    assert site_files(build_dataset()) == site_files(build_dataset())


def test_site_shape() -> None:
    dataset = build_dataset()
    assert len(FILTERS) >= 3 and SYRIA in FILTERS
    for facet in FILTERS[:3]:
        pages = dataset.pages(facet)
        assert len(pages) >= 6 and all(len(page) >= 10 for page in pages[:6])
    seed_page = dataset.pages(SYRIA)[5]
    assert [(r.title, r.date_text) for r in seed_page] == [(c[2], c[4]) for c in SEED_CARDS]
    assert sum(1 for r in dataset.releases if len(r.facets) > 1) >= 5


def test_generated_items_carry_the_site_quirks() -> None:
    releases = build_dataset().releases
    summaries = [r.summary for r in releases]
    assert any(s.endswith("...") for s in summaries)
    assert any(s.endswith("  …") or s.endswith("\u00a0…") for s in summaries)
    assert any(s.endswith("…") and not s.endswith(" …") for s in summaries)
    assert any("June 17, 2018" in s for s in summaries)  # decoy dates
    assert any(r.title != r.title.rstrip() for r in releases)  # trailing spaces
    assert any("’" in r.title for r in releases) and any("ô" in r.title for r in releases)
    assert any(r.title.startswith("Report:") for r in releases)
    assert any(r.title.startswith("#") for r in releases)
    assert any(r.icon for r in releases) and any(not r.label for r in releases)
    assert {r.link for r in releases} >= {"relative", "www", "bare", "tracking"}
    assert any(r.email for r in releases)
    assert any(not r.date_text for r in releases)
    captions = [r.caption for r in releases]
    assert any(len(c) > 200 for c in captions)
    assert any(a and a == b for a, b in pairwise(captions))


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize("layout", ["current", "previous"])
def test_server_answers_like_the_site(layout: str) -> None:
    with DemoServer(layout=layout) as server:
        base = server.base_url
        assert base.startswith("http://127.0.0.1:")
        status, body = fetch(base + "/robots.txt")
        assert status == 200 and b"User-agent" in body
        assert fetch(base + "/news/page/6/?country=syria")[0] == 200
        assert fetch(base + "/news/page/8/?country=syria")[0] == 404
        status, body = fetch(base + "/news/?country=syria&lang=e&rss=recentnews")
        assert status == 200 and b"Newsroom" in body  # legacy parameters are ignored
        assert fetch(base + "/news/page/2/?country=russian-federation%2Cukraine")[0] == 200
        assert fetch(base + "/news/?country=narnia")[0] == 200  # an empty filter: no cards
    assert "/robots.txt" in server.requests


def test_server_supports_conditional_requests() -> None:
    with DemoServer() as server:
        with urllib.request.urlopen(server.base_url + "/news/", timeout=5) as answer:
            etag = answer.headers["ETag"]
        request = urllib.request.Request(
            server.base_url + "/news/", headers={"If-None-Match": etag}
        )
        assert fetch_request(request) == 304


def fetch_request(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_site_dir_is_package_data() -> None:
    assert (SITE_DIR / "manifest.json").exists()
    assert Path(SITE_DIR / "current" / "country=syria" / "page-6.html").exists()
