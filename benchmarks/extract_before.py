"""The extractor as it was before issue 15 ("resilient extraction"), frozen: the baseline of
`bench_extract.py`.

Issue 15 rewrote `archiver/extract` (fields found by structure where a layout's selectors miss,
a structural fallback layout) and asked that reading a page with the known layouts, the selector
path, stay within 5 % of the speed it had before. Measuring "before" by checking out an old
commit would make the comparison depend on a second tree; importing `archiver.extract` would
make the baseline move with every later change, so the comparison would end up measuring the
extractor against itself. This module is therefore a copy, changed by nobody: the extractor of
commit f185935 (the parent of 88c47c3, "extract: fields found by structure ..."), i.e.

    git show f185935:archiver/extract/__init__.py   # Listing, decode_html, extract_listing
    git show f185935:archiver/extract/layouts.py    # Layout, CURRENT, PREVIOUS, helpers
    git show f185935:archiver/items.py              # RawCard (only the class)

inlined into one module, code unchanged apart from the imports (their docstrings are kept as
section comments). It imports lxml, parsel and w3lib, and nothing of the archiver: `RawCard`
has gained a field since, so even `archiver.items` is copied. Do not "fix" or speed up anything
here; a change belongs in `archiver/extract`, and the benchmark tells whether it helped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from parsel import Selector
from parsel.csstranslator import css2xpath
from w3lib.encoding import html_body_declared_encoding
from w3lib.url import safe_url_string

# ------------------------------------------------------------ archiver/items.py (RawCard) -----


@dataclass(slots=True)
class RawCard:
    """One card of a listing page, as the extractor found it (no cleaning at all)."""

    url: str  # absolute release URL: the card's href joined with the page URL
    href: str  # the href attribute exactly as in the markup
    title: str
    summary: str
    summary_html: str  # inner HTML of the summary (keeps Cloudflare e-mail markup for decoding)
    date: str
    label: str  # type label with any icon text ("Sheet of paper Report"); "" when absent
    image_alt: str
    caption: str
    credit: str
    position: int  # 1-based position of the card on its page
    page_url: str
    layout: str  # which markup layout matched: "current" or "previous"


# --------------------------------------------------------------- archiver/extract/layouts.py -----
# The two card layouts of amnestyusa.org listing pages, as data plus two small functions.
# Every field has an ordered list of fallback selectors: the first that matches wins. Selectors
# are CSS, so classes match by token (`.card-md` also matches `class="card-md h-full x-new"`).
# Where a field is missing on the card the raw value is "" (validation decides what that means).

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


# -------------------------------------------------------------- archiver/extract/__init__.py -----
# Extractors: one listing page's HTML in, raw cards out. Both of amnestyusa.org's layouts are
# supported and detected per page.


@dataclass(slots=True)
class Listing:
    """What one listing page holds: its cards, the next page's URL and the layout that matched."""

    page_url: str
    cards: list[RawCard] = field(default_factory=list)
    next_url: str | None = None
    layout: str | None = None  # None when no known layout matched any card
    decoded_as: str | None = None  # the encoding used when the declared one was wrong


#: What a page in a Western language most often really is when its declared encoding is wrong.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")


def decode_html(body: bytes, declared: str | None = None) -> tuple[str, str | None]:
    """The page's text, and the encoding used when the declared one does not fit (else None).

    A server that says UTF-8 and sends Windows-1252 would otherwise give every accented title a
    replacement character, stored for good. The encoding the page itself declares comes next,
    then Windows-1252 (which reads nearly any byte), then Latin-1 (which reads every byte).

    >>> decode_html("Café".encode("utf-8"), "utf-8")
    ('Café', None)
    >>> decode_html("Café".encode("cp1252"), "utf-8")
    ('Café', 'cp1252')
    """
    declared = declared or "utf-8"
    try:
        return body.decode(declared), None
    except (UnicodeDecodeError, LookupError):
        pass
    in_page = html_body_declared_encoding(body)
    candidates = (in_page, *FALLBACK_ENCODINGS) if in_page else FALLBACK_ENCODINGS
    for encoding in candidates:
        if encoding.lower().replace("-", "") == declared.lower().replace("-", ""):
            continue
        try:
            return body.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode(declared, "replace"), None  # pragma: no cover - latin-1 reads all bytes


def extract_listing(
    html: str | bytes,
    page_url: str,
    layouts: tuple[Layout, ...] = LAYOUTS,
    *,
    encoding: str | None = None,
) -> Listing:
    """Read every card of a listing page (`html` as text, or bytes in `encoding`).

    The layout whose card selector matches the most cards wins, so a page is never read with the
    wrong layout's field selectors. An empty `cards` list on a page that answered 200 means the
    markup changed: callers must report it, not treat it as the end of the listing.
    """
    decoded_as = None
    if isinstance(html, bytes):
        text, decoded_as = decode_html(html, encoding)
    else:
        text = html
    root = Selector(text=text, base_url=page_url).root
    best: tuple[Layout, list[Any]] | None = None
    for layout in layouts:
        nodes = layout.card_nodes(root)
        if nodes and (best is None or len(nodes) > len(best[1])):
            best = (layout, nodes)
    listing = Listing(
        page_url=page_url, next_url=next_page_url(root, page_url), decoded_as=decoded_as
    )
    if best is None:
        return listing
    layout, nodes = best
    listing.layout = layout.name
    listing.cards = [
        card
        for position, node in enumerate(nodes, start=1)
        if (card := layout.read_card(node, page_url, position)) is not None
    ]
    return listing
