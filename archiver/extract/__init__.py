"""Extractors: one listing page's HTML in, raw cards out. Pure: no network, no database, no Scrapy.

Both of amnestyusa.org's layouts are supported and detected per page (see `layouts.py`). Classes
are matched by token (CSS class selectors), never by whole class strings, so an extra utility
class on a card does not break a field. The same functions re-parse archived pages later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parsel import Selector

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


def extract_listing(
    html: str | bytes, page_url: str, layouts: tuple[Layout, ...] = LAYOUTS
) -> Listing:
    """Read every card of a listing page.

    The layout whose card selector matches the most cards wins, so a page is never read with the
    wrong layout's field selectors. An empty `cards` list on a page that answered 200 means the
    markup changed: callers must report it, not treat it as the end of the listing.
    """
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    root = Selector(text=text, base_url=page_url).root
    best: tuple[Layout, list[Any]] | None = None
    for layout in layouts:
        nodes = layout.card_nodes(root)
        if nodes and (best is None or len(nodes) > len(best[1])):
            best = (layout, nodes)
    listing = Listing(page_url=page_url, next_url=next_page_url(root, page_url))
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
