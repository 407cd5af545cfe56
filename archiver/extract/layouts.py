"""The two card layouts of amnestyusa.org listing pages, as data plus two small functions.

Current layout (2023 onward): cards are `div.card-md` (with `h-full relative` utilities) holding a
`figure` with the image and optional caption, a type tag (`.card-md--tag`), the title `h3` inside
`.hocus-headline`, the summary `p.body-xs` and the date `.card-md--tag--hocus`.
Previous layout (about 2019-2022): each card is a link `a.card-group` holding the image, a label
element (with icon text as `img[alt]` or a visually hidden span), `h4[role=heading]` title,
`p.body-3` summary and `h5[role=heading]` date.

Every field has an ordered list of fallback selectors: the first that matches wins. Selectors
are CSS, so classes match by token (`.card-md` also matches `class="card-md h-full x-new"`).
Where a field is missing on the card the raw value is "" (validation decides what that means).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from parsel.csstranslator import css2xpath
from w3lib.url import safe_url_string

from archiver.items import RawCard

Node = Any  # an lxml element of the parsed page
XPathFn = Callable[..., Any]

# Compiled once: lxml's own XPath objects cost a few microseconds a call where a Selector query
# (CSS translation, a new Selector per match) costs tens, and a page asks a hundred or more.
_TEXT = etree.XPath(".//text()[not(ancestor::script)][not(ancestor::style)]", smart_strings=False)
# Text of an element, leaving out what sits inside a credit line (kept separately).
_TEXT_OUTSIDE_CREDIT = etree.XPath(
    ".//text()[not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' credit ')])]"
    "[not(ancestor::script)][not(ancestor::style)]",
    smart_strings=False,
)
_LABEL_PIECES = etree.XPath(".//text()[not(ancestor::script)] | .//img/@alt", smart_strings=False)


@cache
def compiled(css: str) -> XPathFn:
    """A CSS selector (with parsel's `::text` and `::attr()`) as a compiled lxml XPath."""
    return etree.XPath(css2xpath(css), smart_strings=False)


def exact_text(node: Node | None) -> str:
    """All text of an element, exactly as on the page (no stripping, no collapsing)."""
    if node is None:
        return ""
    return "".join(_TEXT(node))


def first(node: Node, selectors: Sequence[str]) -> Node | None:
    """The first element matched by the first selector in `selectors` that matches anything."""
    for css in selectors:
        found = compiled(css)(node)
        if found:
            return found[0]
    return None


def label_text(node: Node | None) -> str:
    """A type label with its icon text, as a reader of the page hears it.

    Icons are `img[alt]` or visually hidden spans; both are read in document order and joined
    with single spaces, so `<img alt="Sheet of paper"> Report` reads `Sheet of paper Report`.
    """
    if node is None:
        return ""
    return " ".join(piece.strip() for piece in _LABEL_PIECES(node) if piece.strip())


NEXT_PAGE = (
    "div.next a.next::attr(href)",
    "a.next::attr(href)",
    "a[rel~=next]::attr(href)",
    "link[rel~=next]::attr(href)",
)


def next_page_url(root: Node, page_url: str) -> str | None:
    """The absolute URL of the next listing page, or None on the last page."""
    for css in NEXT_PAGE:
        found = compiled(css)(root)
        href = str(found[0]) if found else ""
        if href.strip():
            return safe_url_string(urljoin(page_url, href.strip()))
    return None


@dataclass(frozen=True, slots=True)
class Layout:
    """How one markup generation lays out a card: fallback selectors per field."""

    name: str
    card: tuple[str, ...]  # selectors for card elements; the first that matches is used
    link: tuple[str, ...]  # selectors for the release link; "" means the card itself is the link
    title: tuple[str, ...]
    summary: tuple[str, ...]
    date: tuple[str, ...]
    label: tuple[str, ...]
    image: tuple[str, ...]
    caption: tuple[str, ...]
    credit: tuple[str, ...]

    def card_nodes(self, root: Node) -> list[Node]:
        """The card elements of a page in document order (outermost only)."""
        for css in self.card:
            nodes = [node for node in compiled(css)(root) if _is_link(node) or _has_link(node)]
            if nodes:
                return nodes
        return []

    def read_card(self, node: Node, page_url: str, position: int) -> RawCard:
        """One card's raw strings. Never cleans: that is the normalisers' job."""
        href = self._href(node)
        summary = first(node, self.summary)
        caption = first(node, self.caption)
        image = first(node, self.image)
        return RawCard(
            url=safe_url_string(urljoin(page_url, href.strip())) if href.strip() else "",
            href=href,
            title=exact_text(first(node, self.title)),
            summary=exact_text(summary),
            summary_html=_inner_html(summary),
            date=exact_text(first(node, self.date)),
            label=label_text(first(node, self.label)),
            image_alt=image.get("alt", "") if image is not None else "",
            caption="".join(_TEXT_OUTSIDE_CREDIT(caption)) if caption is not None else "",
            credit=exact_text(first(node, self.credit)),
            position=position,
            page_url=page_url,
            layout=self.name,
        )

    def _href(self, node: Node) -> str:
        href = ""
        for css in self.link:
            if css == "":
                href = node.get("href", "") if _is_link(node) else ""
            else:
                found = compiled(css)(node)
                href = str(found[0]) if found else ""
            if href.strip():
                break
        return href


_HAS_LINK = etree.XPath("boolean(descendant-or-self::a[@href])")


def _is_link(node: Node) -> bool:
    return node.tag == "a" and bool(node.get("href"))


def _has_link(node: Node) -> bool:
    return bool(_HAS_LINK(node))


def _inner_html(node: Node | None) -> str:
    """The element's content as HTML, as on the page (its text, children and their tails)."""
    if node is None:
        return ""
    children = (
        etree.tostring(child, method="html", encoding="unicode", with_tail=True) for child in node
    )
    return (node.text or "") + "".join(children)


CURRENT = Layout(
    name="current",
    card=(".card-md",),
    link=(
        ".hocus-headline::attr(href)",
        ".hocus-headline a::attr(href)",
        "a:has(h3)::attr(href)",
        "a[href]::attr(href)",
    ),
    title=(".hocus-headline h3", "h3.utility-md", "h3", ".hocus-headline"),
    summary=("p.body-xs:not(.card-md--tag--hocus)", "p.body-xs"),
    date=(".card-md--tag--hocus", "time", ".text-gray-300"),
    label=(".card-md--tag", ".post-type"),
    image=("figure img", "img"),
    caption=("figcaption", ".wp-element-caption"),
    credit=("figcaption .credit", ".credit"),
)

PREVIOUS = Layout(
    name="previous",
    card=("a.card-group", ".card-group"),
    link=("", "h4 a::attr(href)", "a[href]::attr(href)"),
    title=("h4[role=heading]", "h4"),
    summary=("p.body-3",),
    date=("h5[role=heading]", "h5", "time"),
    label=(".post-type", ".card-label", ".label"),
    image=(".card-image img", "img:not(.icon)"),
    caption=(".card-image .caption", ".caption"),
    credit=(".card-image .credit", ".credit"),
)

LAYOUTS: tuple[Layout, ...] = (CURRENT, PREVIOUS)
