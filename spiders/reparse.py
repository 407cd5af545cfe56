"""Re-parse archived pages, without the network: the spider behind `archiver reparse`.

Listing pages give release items as in a crawl; release pages (`kind = detail`, fetched by a
crawl with `--details`) give `DetailItem`s read with the current detail extractor.

When the site's markup changes, a run fails with "no items parsed" but its pages are in the WARC
archive. Once the extractor is fixed, `archiver reparse` (archiver.process.reparse) selects the
pages in the archive's index and hands this spider the list as a file (`-a selection=PATH`, one
JSON object per page: record id, URL, status, WARC file and offset, source, facet, fetch time).
The spider reads each record back (`archiver.warcfile`), runs the *current* extractors over it
and yields the items, which go through the same pipelines as a crawl: `fetched_at` is the page's
fetch time (validation and `first_seen_at` use it) and provenance points at the archived record.
It never makes a request and never reads the database.

`ARCHIVER_EXTRACT_LAYOUTS` (import path of a tuple of `archiver.extract.Layout`) parses with
other layouts than the shipped ones: a candidate selector can be tried on archived pages first.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import scrapy

from archiver.errors import ArgumentError
from archiver.items import DetailItem, ReleaseItem
from archiver.sites import get_source
from archiver.warcfile import read_record
from spiders.listing import ListingReader, count_listing

NAME = "reparse"


class ReparseSpider(scrapy.Spider):
    """Yields the items of the archived listing pages a selection file names."""

    name = NAME

    def __init__(self, selection: str | None = None, **kwargs: Any) -> None:
        self.check_arguments(**({"selection": selection} if selection is not None else {}))
        super().__init__(**kwargs)
        self.selection = Path(str(selection))

    @classmethod
    def check_arguments(cls, **kwargs: str) -> None:
        """Refuse a missing or unknown argument before the process starts (ArgumentError)."""
        unknown = sorted(set(kwargs) - {"selection"})
        if unknown:
            raise ArgumentError(f"unknown argument {unknown[0]!r} for reparse (known: selection)")
        if not kwargs.get("selection"):
            raise ArgumentError("reparse needs -a selection=FILE (use `archiver reparse`)")

    def _pages(self) -> Iterator[dict[str, Any]]:
        with self.selection.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)

    async def start(self) -> AsyncIterator[Any]:
        """Every item of every selected archived page, page by page."""
        stats = self.crawler.stats
        reader = ListingReader(self.settings)
        for page in self._pages():
            stats.inc_value("archiver/reparse/pages_selected")
            if page["status"] != 200:
                stats.inc_value(f"archiver/reparse/skipped_status/{page['status']}")
                continue
            archived = read_record(Path(page["warc_file"]), page["offset"])
            if page.get("kind") == "detail":
                if page.get("release_id") is not None:
                    yield self._detail(page, archived.body)
                continue
            for item in self._items(page, archived.body, reader):
                yield item

    def _detail(self, page: dict[str, Any], body: bytes) -> DetailItem:
        """A release page read again with the current extractor (`release_texts` updated)."""
        from archiver.extract.detail import extract_detail

        self.crawler.stats.inc_value("archiver/details/tried")
        return DetailItem(
            release_id=page["release_id"],
            source=page["source"],
            release_url=page["url"],
            requested_url=page["url"],
            fetched_at=datetime.fromisoformat(page["fetched_at"]),
            http_status=200,
            final_url=page["url"],
            page=extract_detail(body, page["url"]),
            warc_record=page["record_id"],
        )

    def _items(self, page: dict[str, Any], body: bytes, reader: ListingReader) -> list[ReleaseItem]:
        # The same counters as the site spiders, so health and the outcome read the same.
        stats = self.crawler.stats
        stats.inc_value("archiver/listing_pages")
        listing = reader.read(body, page["url"], get_source(page["source"]))
        count_listing(stats, listing)
        if not listing.cards:
            self.logger.warning("%s (archived) still has no card any layout matches", page["url"])
            return []
        if listing.fallback:
            self.logger.warning(
                "%s (archived) matched no known layout: %d cards found by structure",
                page["url"],
                len(listing.cards),
            )
        # The index keeps the fetch time to the microsecond (WARC 1.0 dates are seconds).
        fetched_at = datetime.fromisoformat(page["fetched_at"])
        items = []
        for card in listing.cards:
            item = ReleaseItem.from_card(
                card, source=page["source"], facet=page["facet"], fetched_at=fetched_at
            )
            item.warc_record = page["record_id"]
            items.append(item)
        return items
