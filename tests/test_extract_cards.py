"""The card index answers each simple selector exactly as lxml's XPath does (extract.cards)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from parsel import Selector

from archiver.demo.dataset import build_dataset
from archiver.demo.render import LAYOUT_NAMES, render_site
from archiver.extract.cards import CardIndex, PageIndex, simple_selector
from archiver.extract.layouts import LAYOUTS, NEXT_PAGE
from archiver.extract.nodes import compiled

FIXTURES = Path(__file__).parent / "fixtures"

# Every selector of the shipped layouts, and the shapes a layout file may use.
SELECTORS = sorted(
    {
        css
        for layout in LAYOUTS
        for role in ("card", "link", "title", "summary", "date", "label", "image", "caption")
        for css in (*getattr(layout, role), *layout.credit)
        if css
    }
    | set(NEXT_PAGE)
    | {
        "p",
        "*",
        ".a",
        ".a.b",
        "div .a",
        "div.a span.b",
        ".a .b .c",
        "span:not(.a)",
        "*:not(.a):not(.b)",
        "p:not(div)",
        "[rel~=next]",
        "a[rel~=next]::attr(href)",
        "[role=heading]",
        "[data-x]",
        "a[HREF]::attr(href)",
        "H3.a",
        "a::attr(HREF)",
        "div a::attr(title)",
        "[rel~='']",
        "span:not(.a b)",
    }
)


def test_the_page_index_answers_the_card_and_next_page_selectors() -> None:
    answered = {
        css
        for css in (*NEXT_PAGE, *(css for layout in LAYOUTS for css in layout.card))
        if (simple := simple_selector(css)) is not None and simple.compounds[-1].classes
    }
    assert answered == {
        ".card-md",
        "a.card-group",
        ".card-group",
        "div.next a.next::attr(href)",
        "a.next::attr(href)",
    }


def test_the_shipped_selectors_are_answered_by_the_index() -> None:
    """Every field and link selector of the shipped layouts but `:has()` is simple (else the
    index would not be what reads a card)."""
    not_simple = {
        css
        for layout in LAYOUTS
        for role in ("link", "title", "summary", "date", "label", "image", "caption", "credit")
        for css in getattr(layout, role)
        if css and simple_selector(css) is None
    }
    assert not_simple == {"a:has(h3)::attr(href)"}


def _same_everywhere(html: str) -> int:
    """Compare the indexes with the XPath for every selector: the card index with every
    element as the card, the page index on the whole page (where it answers)."""
    compared = 0
    root = Selector(text=html).root
    page = PageIndex(root)
    for css in SELECTORS:
        found = page.select(simple_selector(css))
        if found is not None:
            assert found == compiled(css)(root), css
            compared += 1
    for node in root.iter(etree.Element):
        index = CardIndex(node)
        for css in SELECTORS:
            simple = simple_selector(css)
            if simple is None:
                continue
            assert index.select(simple) == compiled(css)(node), (css, etree.tostring(node)[:200])
            compared += 1
    return compared


FIXTURE_PAGES = sorted(FIXTURES.glob("*/*/input.html"))


@pytest.mark.parametrize(
    "path", FIXTURE_PAGES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}"
)
def test_index_equals_xpath_on_fixture_pages(path: Path) -> None:
    assert _same_everywhere(path.read_text(encoding="utf-8")) > 0


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
def test_index_equals_xpath_on_demo_pages(layout: str) -> None:
    site = render_site(build_dataset(), layout)
    for key in sorted(site.pages, key=str)[:3]:
        assert _same_everywhere(site.pages[key].decode("utf-8")) > 0


TAGS = st.sampled_from(["div", "a", "span", "p", "h3", "figure", "img", "DIV"])
TOKENS = st.sampled_from(["a", "b", "c", "next", "a\tb", " a", "b  ", "\na\r", "c\fd", "a\xa0b"])
ATTRIBUTES = st.sampled_from(['rel="next prev"', 'rel="nextx"', 'role="heading"', "data-x", ""])


@st.composite
def markup(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(TAGS)
    classes = "".join(draw(st.lists(TOKENS, max_size=3)))
    attribute = draw(ATTRIBUTES)
    href = draw(st.sampled_from(["", ' href="/x"', ' href=""', ' title="t"']))
    children = draw(st.lists(markup(depth + 1), max_size=3)) if depth < 3 else []
    comment = "<!-- c -->" if draw(st.booleans()) else ""
    body = comment + "text" + "".join(children)
    return f'<{tag} class="{classes}" {attribute}{href}>{body}</{tag}>'


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markup())
def test_index_equals_xpath_on_generated_markup(html: str) -> None:
    _same_everywhere(f"<html><body>{html}</body></html>")
