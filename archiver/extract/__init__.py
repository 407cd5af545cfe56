"""Extractors: one listing page's HTML in, raw cards out. Pure: no network, no database, no Scrapy.

Both of amnestyusa.org's layouts are supported and detected per page (see `layouts.py`). Classes
are matched by token (CSS class selectors), never by whole class strings, so an extra utility
class on a card does not break a field. The same functions re-parse archived pages later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parsel import Selector
from w3lib.encoding import html_body_declared_encoding

from archiver.extract.layouts import LAYOUTS, Layout, next_page_url
from archiver.items import RawCard

__all__ = ["LAYOUTS", "Layout", "Listing", "extract_listing"]


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
