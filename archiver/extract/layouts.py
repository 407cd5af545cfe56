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

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

from parsel import Selector, SelectorList
from w3lib.url import safe_url_string

from archiver.items import RawCard

# Text nodes of an element, leaving out what sits inside a credit line (kept separately).
_TEXT_OUTSIDE_CREDIT = (
    ".//text()[not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' credit ')])]"
    "[not(ancestor::script)][not(ancestor::style)]"
)


def exact_text(node: Selector | SelectorList | None) -> str:
    """All text of an element, exactly as on the page (no stripping, no collapsing)."""
    if node is None:
        return ""
    return "".join(node.xpath(".//text()[not(ancestor::script)][not(ancestor::style)]").getall())


def first(node: Selector, selectors: Sequence[str]) -> Selector | None:
    """The first element matched by the first selector in `selectors` that matches anything."""
    for css in selectors:
        found = node.css(css)
        if found:
            return found[0]
    return None


def label_text(node: Selector | None) -> str:
    """A type label with its icon text, as a reader of the page hears it.

    Icons are `img[alt]` or visually hidden spans; both are read in document order and joined
    with single spaces, so `<img alt="Sheet of paper"> Report` reads `Sheet of paper Report`.
    """
    if node is None:
        return ""
    pieces = node.xpath(".//text()[not(ancestor::script)] | .//img/@alt").getall()
    return " ".join(piece.strip() for piece in pieces if piece.strip())


def next_page_url(selector: Selector, page_url: str) -> str | None:
    """The absolute URL of the next listing page, or None on the last page."""
    for css in (
        "div.next a.next::attr(href)",
        "a.next::attr(href)",
        "a[rel~=next]::attr(href)",
        "link[rel~=next]::attr(href)",
    ):
        href = selector.css(css).get()
        if href and href.strip():
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

    def card_nodes(self, selector: Selector) -> list[Selector]:
        """The card elements of a page in document order (outermost only)."""
        for css in self.card:
            nodes = [node for node in selector.css(css) if node.css("a[href]") or _is_link(node)]
            if nodes:
                return nodes
        return []

    def read_card(self, node: Selector, page_url: str, position: int) -> RawCard:
        """One card's raw strings. Never cleans: that is the normalisers' job."""
        href = ""
        for css in self.link:
            if css == "" and _is_link(node):
                href = node.attrib.get("href", "")
            else:
                href = node.css(css).get("") if css else ""
            if href.strip():
                break
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
            image_alt=image.attrib.get("alt", "") if image is not None else "",
            caption="".join(caption.xpath(_TEXT_OUTSIDE_CREDIT).getall()) if caption else "",
            credit=exact_text(first(node, self.credit)),
            position=position,
            page_url=page_url,
            layout=self.name,
        )


def _is_link(node: Selector) -> bool:
    return node.root.tag == "a" and bool(node.attrib.get("href"))


def _inner_html(node: Selector | None) -> str:
    if node is None:
        return ""
    return "".join(child for child in node.xpath("./node()").getall())


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
