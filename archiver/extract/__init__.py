"""Extractors: one listing page's HTML in, raw cards out. Pure: no network, no database, no Scrapy.

Both of amnestyusa.org's layouts are known and detected per page (`layouts.py`); classes are
matched by token, so an extra utility class on a card does not break a field. A field none of a
layout's selectors finds is looked for by its role in the card (`structure.py`), and a page no
layout matches is searched for its listing by structure alone (`layout = fallback`). Every card
says how each field was found. docs/extraction.md has the rules; the same functions re-parse
archived pages later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parsel import Selector
from w3lib.encoding import html_body_declared_encoding

from archiver.extract.cards import PageIndex
from archiver.extract.layouts import (
    FALLBACK,
    LAYOUTS,
    SELECTOR,
    STRUCTURE,
    Layout,
    next_page_url,
)
from archiver.extract.structure import fallback_card_nodes, release_link_test
from archiver.items import RawCard
from archiver.sites import AMNESTYUSA, Source

# The release-page extractor is `archiver.extract.detail`, imported by name where it is used:
# re-exporting it here would make the package and its submodule import each other.
__all__ = ["FALLBACK", "LAYOUTS", "SELECTOR", "STRUCTURE", "Layout", "Listing", "extract_listing"]


@dataclass(slots=True)
class Listing:
    """What one listing page holds: its cards, the next page's URL and the layout that matched."""

    page_url: str
    cards: list[RawCard] = field(default_factory=list)
    next_url: str | None = None
    layout: str | None = None  # None when neither a known layout nor the fallback found a card
    decoded_as: str | None = None  # the encoding used when the declared one was wrong
    next_found: str | None = None  # how the next-page link was found ("selector", "structure")

    @property
    def fallback(self) -> bool:
        """Whether the structural fallback read this page (no known layout matched)."""
        return self.layout == FALLBACK.name

    def found_counts(self) -> dict[str, int]:
        """How the page's fields were found: {"selector": 48, "structure": 2,
        "structure/label": 2, ...} over every card and the next-page link."""
        counts: dict[str, int] = {}
        pairs = [(how, name) for card in self.cards for name, how in card.found.items()]
        if self.next_found:
            pairs.append((self.next_found, "next_page"))
        for how, name in pairs:
            counts[how] = counts.get(how, 0) + 1
            if how == STRUCTURE:
                key = f"{how}/{name}"
                counts[key] = counts.get(key, 0) + 1
        return counts


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
    source: Source = AMNESTYUSA,
    fallback: bool = True,
) -> Listing:
    """Read every card of a listing page (`html` as text, or bytes in `encoding`).

    The layout whose card selector matches the most cards wins, so a page is never read with the
    wrong layout's field selectors; when none matches, the structural fallback looks for the
    listing (`layout = "fallback"`). An empty `cards` list on a page that answered 200 means
    the page holds no listing the archiver can see: callers must report it, not treat it as the
    end of the listing. `fallback=False` leaves such a page without cards.
    """
    decoded_as = None
    if isinstance(html, bytes):
        text, decoded_as = decode_html(html, encoding)
    else:
        text = html
    root = Selector(text=text, base_url=page_url).root
    index = PageIndex(root)
    best: tuple[Layout, list[Any]] | None = None
    for layout in layouts:
        nodes = layout.card_nodes(root, index)
        if nodes and (best is None or len(nodes) > len(best[1])):
            best = (layout, nodes)
    is_release = release_link_test(source, page_url)
    if best is None and fallback and (nodes := fallback_card_nodes(root, is_release)):
        best = (FALLBACK, nodes)
    next_url, next_found = next_page_url(root, page_url, index)
    listing = Listing(
        page_url=page_url, next_url=next_url, decoded_as=decoded_as, next_found=next_found
    )
    if best is None:
        return listing
    layout, nodes = best
    listing.layout = layout.name
    listing.cards = [
        layout.read_card(node, page_url, position, is_release)
        for position, node in enumerate(nodes, start=1)
    ]
    return listing
