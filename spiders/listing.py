"""What every spider does with a listing page: read it with the configured layouts, and keep
the same counters, so the crawl ledger, health and the outcome read a live crawl and a reparse
of archived pages the same way."""

from __future__ import annotations

from typing import Any

from archiver.extract import LAYOUTS, Layout, Listing, extract_listing
from archiver.extract.layout_file import load_layouts
from archiver.settings_catalog import setting
from archiver.sites import Source


class ListingReader:
    """`extract_listing` with the crawl's settings: `ARCHIVER_EXTRACT_LAYOUTS` (the layouts to
    try: a TOML file, see archiver.extract.layout_file, or the import path of a tuple of
    `Layout`) and `ARCHIVER_STRUCTURAL_FALLBACK` (whether a page no layout matches is searched)."""

    def __init__(self, settings: Any) -> None:
        path = setting(settings, "ARCHIVER_EXTRACT_LAYOUTS")
        self.layouts: tuple[Layout, ...] = load_layouts(str(path)) if path else LAYOUTS
        self.fallback: bool = setting(settings, "ARCHIVER_STRUCTURAL_FALLBACK")

    def read(self, body: bytes, url: str, source: Source, encoding: str | None = None) -> Listing:
        """The page's cards and next-page link (see archiver.extract.extract_listing)."""
        return extract_listing(
            body, url, self.layouts, encoding=encoding, source=source, fallback=self.fallback
        )


def count_listing(stats: Any, listing: Listing) -> None:
    """Cards, the layout that read them, and how every field was found (`archiver/found/...`)."""
    if listing.cards:
        stats.inc_value("archiver/cards", len(listing.cards))
        stats.inc_value(f"archiver/layout/{listing.layout}")
    else:
        stats.inc_value("archiver/pages_without_cards")
    for key, count in listing.found_counts().items():
        stats.inc_value(f"archiver/found/{key}", count)
