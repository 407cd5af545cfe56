"""The bundled copy of the site: deterministic, complete, and served like the real one."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import fields
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import html as lxml_html

from archiver.demo.build import SITE_DIR, load_site, site_files
from archiver.demo.dataset import FILTERS, SYRIA, build_dataset
from archiver.demo.render import listing_path, render_no_results, render_not_found
from archiver.demo.seed import SEED_CARDS
from archiver.demo.server import DemoServer
from archiver.extract import extract_listing
from archiver.extract.layout_file import load_layouts
from archiver.extract.layouts import CURRENT, NEXT_PAGE, PREVIOUS
from archiver.items import RawCard
from tests.plugins.demo import REDESIGN_LAYOUT_TOML


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


@pytest.mark.parametrize("layout", ["current", "previous", "redesign"])
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


#: Every class name the shipped layouts' selectors know (cards, fields, next-page links).
SHIPPED_SELECTORS = NEXT_PAGE + tuple(
    css
    for layout in (CURRENT, PREVIOUS)
    for field in fields(layout)
    if field.name != "name"
    for css in getattr(layout, field.name)
)
KNOWN_CLASSES = frozenset(
    name for css in SHIPPED_SELECTORS for name in re.findall(r"\.([\w-]+)", css)
)
#: What a card says, whichever layout read it (not how it was found, nor by which layout).
CARD_VALUES = tuple(f.name for f in fields(RawCard) if f.name not in ("layout", "found"))


def values(cards: list[RawCard]) -> list[tuple[object, ...]]:
    return [tuple(getattr(card, name) for name in CARD_VALUES) for card in cards]


def test_the_redesign_keeps_no_class_a_shipped_layout_knows() -> None:
    assert {"card-md", "card-group", "credit", "next"} <= KNOWN_CLASSES
    site = load_site("redesign")
    for body in site.pages.values():
        root = lxml_html.fromstring(body)
        classes = {name for node in root.iter() for name in node.classes}
        assert "news-teaser" in classes and not classes & KNOWN_CLASSES
        assert CURRENT.card_nodes(root) == PREVIOUS.card_nodes(root) == []


def docs_example_layout() -> str:
    """The example layout file of docs/extraction.md ("Adding a layout")."""
    text = (Path(__file__).parents[1] / "docs" / "extraction.md").read_text(encoding="utf-8")
    match = re.search(r"```toml\n(.*?)```", text, re.DOTALL)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize(
    ("layout_file", "name", "by_selector"),
    [
        (
            REDESIGN_LAYOUT_TOML,
            "redesign-2027",
            {"title", "date", "label", "link", "summary", "image", "caption", "credit"},
        ),
        # The example leaves image, caption and credit out: found by structure.
        (docs_example_layout(), "2027", {"title", "date", "label", "link", "summary"}),
    ],
    ids=["all-fields", "docs-example"],
)
def test_the_redesign_is_read_by_the_fallback_then_by_its_layout_alike(
    layout_file: str, name: str, by_selector: set[str], tmp_path: Path
) -> None:
    """Every page of the shipped redesign: the fallback reads exactly the page's releases, with
    the values the current layout's markup gives; a layout written for it reads the same."""
    dataset = build_dataset()
    redesign, current = load_site("redesign"), load_site("current")
    path = tmp_path / "redesign.toml"
    path.write_text(layout_file, encoding="utf-8")
    layouts = load_layouts(str(path))
    assert redesign.pages.keys() == current.pages.keys()
    found_by: set[tuple[str, str]] = set()
    for (facet, page), body in redesign.pages.items():
        url = "http://127.0.0.1:8000" + listing_path(facet, page)
        fallback = extract_listing(body, url, encoding="utf-8")
        assert fallback.layout == "fallback", (facet, page)
        releases = dataset.pages(facet)[page - 1]
        assert [urlsplit(card.url).path for card in fallback.cards] == [r.path for r in releases]
        assert [(card.title, card.date) for card in fallback.cards] == [
            (r.title, r.date_text) for r in releases
        ]
        assert {how for card in fallback.cards for how in card.found.values()} == {"structure"}
        as_current = extract_listing(current.pages[(facet, page)], url, encoding="utf-8")
        assert values(fallback.cards) == values(as_current.cards)
        assert (fallback.next_url, fallback.next_found) == (
            as_current.next_url,
            "structure" if as_current.next_url else None,
        )
        by_layout = extract_listing(body, url, layouts, encoding="utf-8")
        assert by_layout.layout == name
        found_by.update((role, how) for card in by_layout.cards for role, how in card.found.items())
        assert values(by_layout.cards) == values(fallback.cards)
    assert {role for role, how in found_by if how == "selector"} == by_selector


def test_the_redesign_without_a_listing_has_no_card() -> None:
    for body in (render_no_results("redesign", "country=narnia"), render_not_found("redesign")):
        listing = extract_listing(body, "http://127.0.0.1:8000/news/?country=narnia")
        assert (listing.layout, listing.cards, listing.next_url) == (None, [], None)
