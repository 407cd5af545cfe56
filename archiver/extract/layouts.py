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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from archiver.extract.cards import CardIndex, PageIndex, simple_selector
from archiver.extract.nodes import (
    Node,
    compiled,
    exact_text,
    inner_html,
    inside,
    is_link,
    label_text,
    text_outside,
)
from archiver.extract.structure import (
    CardStructure,
    absolute_url,
    has_picture,
    next_page_by_structure,
)
from archiver.items import RawCard

XPathFn = Callable[..., Any]

#: How a field was found (RawCard.found): by one of the layout's selectors, or by the rules of
#: archiver.extract.structure.
SELECTOR = "selector"
STRUCTURE = "structure"

# Text of an element, leaving out what sits inside a credit line (kept separately).
_TEXT_OUTSIDE_CREDIT = etree.XPath(
    ".//text()[not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' credit ')])]"
    "[not(ancestor::script)][not(ancestor::style)]",
    smart_strings=False,
)
_HAS_CREDIT_CLASS = etree.XPath(
    "boolean(self::*[contains(concat(' ', normalize-space(@class), ' '), ' credit ')])"
)


NEXT_PAGE = (
    "div.next a.next::attr(href)",
    "a.next::attr(href)",
    "a[rel~=next]::attr(href)",
    "link[rel~=next]::attr(href)",
)


def next_page_url(
    root: Node, page_url: str, index: PageIndex | None = None
) -> tuple[str | None, str | None]:
    """The absolute URL of the next listing page (None on the last page) and how it was found.

    `index` (the page's `PageIndex`) answers the selectors it can without an XPath walk."""
    for css in NEXT_PAGE:
        found = _page_select(css, root, index)
        href = str(found[0]) if found else ""
        if href.strip():
            return absolute_url(page_url, href), SELECTOR
    by_structure = next_page_by_structure(root, page_url)
    return by_structure, STRUCTURE if by_structure else None


#: The card fields a layout has selectors for (besides `card` and `link`).
CARD_FIELDS = ("title", "date", "label", "image", "caption", "credit", "summary")


@dataclass(frozen=True)
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

    def __post_init__(self) -> None:
        # (role, selectors) per field, in the order `read_card` tries them, each as the card
        # index's simple form (None: not simple) and compiled XPath; attributes, not fields, so
        # that `dataclasses.fields`/`replace` see the selectors only.
        xpaths = tuple(
            (role, tuple(_both(css) for css in getattr(self, role))) for role in CARD_FIELDS
        )
        object.__setattr__(self, "_field_xpaths", xpaths)
        # One per link selector, None for "" (the card itself is the link).
        object.__setattr__(
            self, "_link_xpaths", tuple(_both(css) if css else None for css in self.link)
        )

    def card_nodes(self, root: Node, index: PageIndex | None = None) -> list[Node]:
        """The card elements of a page in document order (outermost only); `index` (the page's
        `PageIndex`) answers the selectors it can without an XPath walk."""
        for css in self.card:
            hits = _page_select(css, root, index)
            nodes = [node for node in hits if is_link(node) or _has_link(node)]
            if nodes:
                return nodes
        return []

    def read_card(
        self, node: Node, page_url: str, position: int, is_release: Callable[[str], bool]
    ) -> RawCard:
        """One card's raw strings: each field by the layout's selectors, and by structure where
        none of them matches. Never cleans: that is the normalisers' job."""
        # Every field by selector first, then the misses by structure: the structural rules
        # build on everything the selectors found (`CardStructure.known`).
        known: dict[str, Node | None] = {}
        found: dict[str, str] = {}
        missed = []
        index = CardIndex(node)
        for role, xpaths in self._field_xpaths:
            for simple, xpath in xpaths:
                hits = index.select(simple) if simple is not None else xpath(node)
                if hits:
                    known[role] = hits[0]
                    found[role] = SELECTOR
                    break
            else:
                missed.append(role)
        href = self._href(node, index)
        if href.strip():
            found["link"] = SELECTOR
        if missed and _nothing_pictured(node, missed, known):
            known.update(dict.fromkeys(missed))
            missed = []
        if missed or "link" not in found:
            structure = CardStructure(node, is_release, known)
            elements = {role: getattr(structure, role) for role in missed}
            for role, element in elements.items():
                if element is not None:
                    found[role] = STRUCTURE
            known = {**known, **elements}
            if "link" not in found and structure.link:
                href, found["link"] = structure.link, STRUCTURE
        title, date, label = known["title"], known["date"], known["label"]
        image, caption, credit = known["image"], known["caption"], known["credit"]
        summary = known["summary"]
        # Caption text leaves out the credit: every `.credit` in a caption found by selector, else
        # the credit element found (also one a layout file names by another class inside it).
        if caption is None:
            caption_text = ""
        elif (
            found["caption"] == SELECTOR
            and found.get("credit") != STRUCTURE
            and not (inside(credit, caption) and not _HAS_CREDIT_CLASS(credit))
        ):
            caption_text = "".join(_TEXT_OUTSIDE_CREDIT(caption))
        else:
            caption_text = text_outside(caption, credit if inside(credit, caption) else None)
        return RawCard(
            url=absolute_url(page_url, href),
            href=href,
            title=exact_text(title),
            summary=exact_text(summary),
            summary_html=inner_html(summary),
            date=exact_text(date),
            label=label_text(label),
            image_alt=image.get("alt", "") if image is not None else "",
            caption=caption_text,
            credit=exact_text(credit),
            position=position,
            page_url=page_url,
            layout=self.name,
            found=found,
        )

    def _href(self, node: Node, index: CardIndex) -> str:
        href = ""
        for selector in self._link_xpaths:
            if selector is None:
                href = node.get("href", "") if is_link(node) else ""
            else:
                simple, xpath = selector
                found = index.select(simple) if simple is not None else xpath(node)
                href = str(found[0]) if found else ""
            if href.strip():
                break
        return href


def _page_select(css: str, root: Node, index: PageIndex | None) -> list[Any]:
    found = index.select(simple_selector(css)) if index is not None else None
    return found if found is not None else compiled(css)(root)


def _both(css: str) -> tuple[Any, Any]:
    """A card selector as the card index answers it (None when it cannot) and as XPath."""
    return simple_selector(css), compiled(css)


_PICTURE_ROLES = frozenset({"image", "caption", "credit"})


def _nothing_pictured(node: Node, missed: list[str], known: dict[str, Node | None]) -> bool:
    """Whether the structural rules cannot find the missed fields: only image, caption and
    credit are missing, no caption was found, and the card has no picture (what those rules
    start from). Most cards of a listing have none: this saves them building a CardStructure."""
    return (
        _PICTURE_ROLES.issuperset(missed) and known.get("caption") is None and not has_picture(node)
    )


#: The structural fallback: cards found by `structure.fallback_card_nodes`, every field by the
#: structural rules (no selector at all).
FALLBACK = Layout(
    name="fallback",
    card=(),
    link=(),
    title=(),
    summary=(),
    date=(),
    label=(),
    image=(),
    caption=(),
    credit=(),
)


def _has_link(node: Node) -> bool:
    # `descendant-or-self::a[@href]`, without an XPath call per card.
    return any(link.get("href") is not None for link in node.iter("a"))


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
