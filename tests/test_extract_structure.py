"""Fields and cards found by structure (archiver.extract.structure, docs/extraction.md).

Two kinds of proof: on every page of the local site, in both layouts, the structural reading
equals the selector reading field for field; and on generated cards under class names nobody
chose (hypothesis), the fallback reads back exactly the strings the card was built from.
"""

from __future__ import annotations

import calendar
import html
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from urllib.parse import urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from w3lib.url import safe_url_string

from archiver.extract import extract_listing
from archiver.extract.nodes import is_date_like
from archiver.extract.structure import absolute_url, is_credit_text, next_page_by_structure

FIELDS = (
    "url",
    "href",
    "title",
    "summary",
    "summary_html",
    "date",
    "label",
    "image_alt",
    "caption",
    "credit",
    "position",
)


def site_pages(layout: str) -> list[tuple[str, str]]:
    """(html, page URL) of every listing page of the bundled local site in `layout`."""
    root = Path(str(resources.files("archiver.demo") / "site" / layout))
    pages = []
    for path in sorted(root.rglob("page-*.html")):
        query = "" if path.parent.name == "_all" else "?" + path.parent.name
        number = path.stem.removeprefix("page-")
        url = f"https://www.amnestyusa.org/news/page/{number}/{query}"
        pages.append((path.read_text(encoding="utf-8"), url))
    return pages


@pytest.mark.parametrize("layout", ["current", "previous"])
def test_the_structural_reading_of_every_page_equals_the_selector_reading(layout: str) -> None:
    pages = site_pages(layout)
    assert len(pages) > 30
    cards = 0
    for page_html, url in pages:
        by_selectors = extract_listing(page_html, url)
        by_structure = extract_listing(page_html, url, layouts=())
        assert by_selectors.layout == layout and by_structure.layout == "fallback", url
        assert len(by_structure.cards) == len(by_selectors.cards), url
        for selected, structural in zip(by_selectors.cards, by_structure.cards, strict=True):
            for name in FIELDS:
                assert getattr(structural, name) == getattr(selected, name), (url, name)
            assert set(structural.found.values()) == {"structure"}
            # Where the selectors found a field, structure found the same one, and no other.
            assert structural.found.keys() == selected.found.keys(), url
        assert by_structure.next_url == by_selectors.next_url, url
        cards += len(by_selectors.cards)
    assert cards > 400


def test_on_the_site_every_shown_label_is_found_so_none_falls_back_to_the_url() -> None:
    for layout in ("current", "previous"):
        for page_html, url in site_pages(layout):
            for card in extract_listing(page_html, url).cards:
                assert bool(card.label) == ("label" in card.found)
                assert card.found.get("label", "selector") == "selector"


# -- generated cards under any class names ------------------------------------------------------

WORD = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzÀéüßABCXYZ0123456789'’&<>\"", min_size=1, max_size=10
)
CLASS = st.from_regex(r"[a-z][a-z0-9_-]{2,12}", fullmatch=True)
MONTHS = list(calendar.month_name)[1:]


def words(minimum: int, maximum: int) -> st.SearchStrategy[str]:
    return st.lists(WORD, min_size=minimum, max_size=maximum).map(" ".join)


@dataclass(frozen=True)
class Card:
    """One generated card: what it says, and how its markup is laid out."""

    slug: str
    title: str
    summary: str
    label: str
    day: date | None
    image_alt: str
    caption: str
    credit: str
    figure: bool  # figure/figcaption with the credit inside, or an image div with two p

    @property
    def date_text(self) -> str:
        return f"{MONTHS[self.day.month - 1]} {self.day.day}, {self.day.year}" if self.day else ""


cards = st.builds(
    Card,
    slug=st.from_regex(r"[a-z][a-z0-9-]{3,20}", fullmatch=True),
    title=words(2, 8),
    summary=words(6, 30),
    label=st.one_of(st.just(""), words(1, 3).filter(lambda text: len(text) <= 40)),
    day=st.one_of(st.none(), st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 1, 1))),
    image_alt=st.one_of(st.just(""), words(1, 6)),
    caption=st.one_of(st.just(""), words(3, 12)),
    credit=st.one_of(st.just(""), words(1, 4).map(lambda text: f"(Photo by {text})")),
    figure=st.booleans(),
)


def render(card: Card, classes: list[str], section: str) -> str:
    """The card as a redesign might write it: every class name generated."""
    c = iter(classes)
    e = html.escape
    parts = [f'<article class="{next(c)}">']
    if card.caption or card.image_alt:
        image = f'<img class="{next(c)}" src="/x.jpg" alt="{e(card.image_alt)}">'
        if card.figure:
            credit = f' <small class="{next(c)}">{e(card.credit)}</small>' if card.credit else ""
            caption = (
                f'<figcaption class="{next(c)}">{e(card.caption)}{credit}</figcaption>'
                if card.caption
                else ""
            )
            parts.append(f'<figure class="{next(c)}">{image}{caption}</figure>')
        else:
            caption = f'<p class="{next(c)}">{e(card.caption)}</p>' if card.caption else ""
            credit = f'<p class="{next(c)}">{e(card.credit)}</p>' if card.credit else ""
            parts.append(f'<div class="{next(c)}">{image}{caption}{credit}</div>')
    if card.label:
        parts.append(f'<div class="{next(c)}">{e(card.label)}</div>')
    parts.append(
        f'<h2 class="{next(c)}"><a href="/{section}/{card.slug}/">{e(card.title)}</a></h2>'
        f'<p class="{next(c)}">{e(card.summary)}</p>'
    )
    if card.day:
        parts.append(f'<time class="{next(c)}" datetime="{card.day}">{card.date_text}</time>')
    parts.append("</article>")
    return "".join(parts)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(cards, min_size=2, max_size=6, unique_by=lambda card: card.slug).filter(
        lambda generated: sum(1 for card in generated if card.day) >= 2
    ),
    st.lists(CLASS, min_size=12, max_size=12),
    st.sampled_from(["press-releases", "reports", "updates", "urgent-actions", "news"]),
)
def test_the_fallback_reads_back_any_redesigned_card(
    generated: list[Card], classes: list[str], section: str
) -> None:
    grid = "\n".join(render(card, classes, section) for card in generated)
    page = (
        '<html><body><nav><a href="/">Home</a> <a href="/donate/">Donate</a></nav><main>'
        f'<section class="{classes[0]}-list">{grid}'
        '<div class="promo"><h3>Stand with us</h3><a href="/donate/">Give</a></div></section>'
        '<a href="/news/page/2/">Older releases</a></main></body></html>'
    )
    listing = extract_listing(page, "https://www.amnestyusa.org/news/")
    assert listing.layout == "fallback"
    assert listing.next_url == "https://www.amnestyusa.org/news/page/2/"
    assert len(listing.cards) == len(generated)
    for card, read in zip(generated, listing.cards, strict=True):
        assert read.url == f"https://www.amnestyusa.org/{section}/{card.slug}/"
        assert (read.title, read.summary, read.label) == (card.title, card.summary, card.label)
        assert read.date == card.date_text
        assert read.image_alt == card.image_alt
        figure_credit = card.figure and card.caption and card.credit
        assert read.caption == card.caption + (" " if figure_credit else "")
        shown_credit = card.credit if (card.caption or not card.figure) else ""
        if card.caption or card.image_alt:
            assert read.credit == shown_credit
        assert set(read.found.values()) == {"structure"}


@given(st.dates(min_value=date(1961, 1, 1), max_value=date(2100, 12, 31)))
def test_every_date_shape_the_site_uses_is_date_like(day: date) -> None:
    month = MONTHS[day.month - 1]
    for text in (
        f"{month} {day.day}, {day.year}",
        f"{month[:3]}. {day.day}, {day.year}",
        f"{day.day} {month} {day.year}",
        day.isoformat(),
        f"{day.month}/{day.day}/{day.year}",
        f"  {month} {day.day},\n {day.year} ",
    ):
        assert is_date_like(text), text


@given(words(1, 8))
def test_text_around_a_date_is_not_date_like(text: str) -> None:
    assert not is_date_like(f"{text} June 16, 2017")
    assert not is_date_like(f"June 16, 2017 {text}")


def test_credit_shapes() -> None:
    assert is_credit_text("(Photo by Mandel Ngan/AFP via Getty Images)")
    assert is_credit_text("Photo: Amnesty International") and is_credit_text("© AFP")
    assert not is_credit_text("Candles at a vigil (in Geneva) last year.")


@pytest.mark.parametrize(
    ("page_url", "href", "expected"),
    [
        ("https://x.org/news/", "/news/page/2/", "https://x.org/news/page/2/"),
        ("https://x.org/news/", "https://www.x.org/news/page/2", "https://www.x.org/news/page/2"),
        ("https://x.org/news/page/6/?country=syria", "/news/page/7/?country=syria", "x"),
        ("https://x.org/news/page/6/?country=syria", "/news/page/7/", None),  # another listing
        ("https://x.org/news/page/6/", "/news/page/8/", None),
        ("https://x.org/news/page/6/", "/news/page/5/", None),
    ],
)
def test_the_next_page_by_structure_is_page_n_plus_one_of_the_same_listing(
    page_url: str, href: str, expected: str | None
) -> None:
    from lxml import html as lxml_html

    root = lxml_html.fromstring(f'<p><a href="/reports/x/">r</a> <a href="{href}">more</a></p>')
    found = next_page_by_structure(root, page_url)
    if expected == "x":
        assert found == "https://x.org" + href
    else:
        assert found == expected


def _joined_and_made_safe(page_url: str, href: str) -> str:
    """What `absolute_url` must equal: the full way, without its shortcut for plain links."""
    href = href.strip()
    return safe_url_string(urljoin(page_url, href)) if href else ""


PAGE_URLS = (
    "https://www.amnestyusa.org/news/page/2/",
    "http://127.0.0.1:8000/news/?country=syria",
    "https://www.amnestyusa.org",
    "https://WWW.Amnestyusa.org/news/",
    "https://xn--bcher-kva.ch:443/news/",
    "http://user:pw@127.0.0.1:08000/news/",
)
#: Links built like plain ones, with near misses in every part: upper-case, punycode, over-long
#: or hyphen-edged hosts, odd ports, protocol-relative links, dot segments, characters to quote,
#: empty segments, queries and fragments.
ORIGINS = st.sampled_from(
    [
        "",
        "https://www.amnestyusa.org",
        "http://127.0.0.1:8000",
        "https://WWW.x.org",
        "https://xn--bcher-kva.ch",
        "https://a--b.org",
        "https://x.org:0",
        "https://x.org:080",
        "https://x.org:65536",
        "https://x.org:8080",
        "https://-x.org",
        "https://x-.org",
        "https://" + "a" * 64 + ".org",
        "https://" + "a" * 63 + ".org",
        "//x.org",
        "HTTPS://x.org",
    ]
)
SEGMENTS = st.lists(
    st.sampled_from(
        ["news", "a-b", "a.b", ".", "..", ".a", "a.", "~x", "a b", "é", "%20", "%41", "_", "X", ""]
    ),
    max_size=4,
)
SUFFIXES = st.sampled_from(["", "/", "?utm_source=x", "#top", "?", "/#"])


@settings(max_examples=800, deadline=None)
@given(
    page_url=st.sampled_from(PAGE_URLS),
    origin=ORIGINS,
    segments=SEGMENTS,
    suffix=SUFFIXES,
    padding=st.sampled_from(["", " ", "\n\t"]),
)
def test_the_plain_link_shortcut_gives_what_joining_and_making_safe_gives(
    page_url: str, origin: str, segments: list[str], suffix: str, padding: str
) -> None:
    href = padding + origin + "/" + "/".join(segments) + suffix + padding
    try:
        expected = _joined_and_made_safe(page_url, href)
    except ValueError:
        with pytest.raises(ValueError):
            absolute_url(page_url, href)
        return
    assert absolute_url(page_url, href) == expected


@pytest.mark.parametrize(
    "href",
    ["/news/a-b/", "https://www.amnestyusa.org/reports/a-b/", "/reports/a.b/c", "/"],
)
def test_plain_links_are_joined_as_the_full_way_joins_them(href: str) -> None:
    for page_url in PAGE_URLS:
        assert absolute_url(page_url, href) == _joined_and_made_safe(page_url, href)
