"""Extractor tests: fixture cases on disk, the seed page string for string, drift and failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archiver.demo.seed import SEED_CARDS
from archiver.extract import extract_listing

FIXTURES = Path(__file__).parent / "fixtures"
# Listing pages only: tests/fixtures/detail/ holds release pages (tests/test_extract_detail.py).
CASES = sorted(
    p.parent for p in FIXTURES.glob("*/*/input.html") if p.parent.parent.name != "detail"
)
FIELDS = ("url", "title", "summary", "date", "label", "caption", "credit", "image_alt")


def load(case: Path) -> tuple[str, str, dict]:
    meta = json.loads((case / "meta.json").read_text())
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return (case / "input.html").read_text(encoding="utf-8"), meta["page_url"], expected


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_case(case: Path) -> None:
    html, page_url, expected = load(case)
    listing = extract_listing(html, page_url)
    assert listing.layout == expected["layout"]
    assert listing.next_url == expected["next_url"]
    # "found" is checked where the case states it (the hand-written and the fallback cases).
    got = [
        {name: getattr(card, name) for name in FIELDS}
        | ({"found": card.found} if "found" in want else {})
        for card, want in zip(listing.cards, expected["cards"], strict=False)
    ]
    assert len(listing.cards) == len(expected["cards"])
    assert got == expected["cards"]
    assert [card.position for card in listing.cards] == list(range(1, len(got) + 1))
    assert all(card.page_url == page_url for card in listing.cards)


def test_fixture_cases_cover_both_layouts_the_fallback_and_no_listing() -> None:
    layouts = {case.parent.name for case in CASES}
    assert layouts == {"current", "previous", "fallback", "none"}
    assert {"seed", "drift"} <= {case.name for case in CASES if case.parent.name == "previous"}


@pytest.mark.parametrize("layout", ["current", "previous"])
def test_seed_page_strings_exact(layout: str) -> None:
    """All 12 seed cards come out with exactly the seed's strings, and no caption leaks."""
    html, page_url, _ = load(FIXTURES / layout / "seed")
    cards = extract_listing(html, page_url).cards
    assert len(cards) == 12
    for card, (caption, label, title, summary, date) in zip(cards, SEED_CARDS, strict=True):
        assert (card.label, card.title, card.summary, card.date) == (label, title, summary, date)
        assert card.caption == caption
        if caption:
            assert caption not in card.title and caption not in card.summary
    assert cards[1].caption == "No Ban No Wall protest at Grand Central Terminal"
    assert cards[5].label == "Sheet of paper Report"


def test_url_joined_against_page_url() -> None:
    html, _, _ = load(FIXTURES / "current" / "seed")
    cards = extract_listing(html, "http://127.0.0.1:8123/news/page/6/?country=syria").cards
    relative = [c for c in cards if c.href.startswith("/")]
    assert relative and all(c.url.startswith("http://127.0.0.1:8123/") for c in relative)
    assert any(c.url.startswith("https://amnestyusa.org/") for c in cards)  # bare host kept raw


def test_unknown_markup_yields_no_card_but_keeps_next_link() -> None:
    html, page_url, _ = load(FIXTURES / "none" / "no-listing")
    listing = extract_listing(html, page_url)
    assert listing.cards == [] and listing.layout is None
    assert listing.next_url is not None  # the crawl can see there was more to read


def test_chrome_is_never_a_card() -> None:
    """The newsroom header, the press e-mail line and navigation links never become items."""
    html, page_url, _ = load(FIXTURES / "current" / "quirks")
    for card in extract_listing(html, page_url).cards:
        assert "Members of the press" not in card.summary
        assert card.title and card.title != "Newsroom"


def test_bytes_input_and_missing_fields() -> None:
    html = (
        b'<div class="card-md extra"><a class="hocus-headline" href="/updates/x/">'
        b"<h3>Only a title</h3></a></div>"
    )
    (card,) = extract_listing(html, "https://www.amnestyusa.org/news/").cards
    assert card.url == "https://www.amnestyusa.org/updates/x/"
    assert (card.title, card.summary, card.date, card.label) == ("Only a title", "", "", "")


def test_exact_text_is_the_xpath_text_of_every_element() -> None:
    """`exact_text` serialises text in one libxml2 call unless scripts or styles are inside;
    on every element of every fixture page it equals the text nodes the XPath reads."""
    from parsel import Selector

    from archiver.extract.nodes import _TEXT, exact_text

    pages = [(case / "input.html").read_text(encoding="utf-8") for case in CASES]
    pages.append(
        "<div id=x>a<!-- note -->b<?pi x?>c &amp; <b>f</b>g<br>h&nbsp;i"
        "<script>var s = 1;</script>j<style>p {}</style>k<em>l<script>x</script></em></div>"
    )
    checked = 0
    for html in pages:
        for node in Selector(text=html).root.iter():
            if isinstance(node.tag, str):
                assert exact_text(node) == "".join(_TEXT(node)), node.tag
                checked += 1
    assert checked > 1000
