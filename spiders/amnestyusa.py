"""The amnestyusa.org newsroom spider: it only routes (start URL, filters, pagination).

    scrapy crawl amnestyusa -a country=syria -O syria.jsonl
    archiver crawl amnestyusa -a country=syria,iraq -a max_pages=3

Arguments: `country`, `issue` (comma-separated lists, sent in the site's own `%2C` form),
`start_page` (default 1), `max_pages` (default: until the last page), `base_url` (default
https://www.amnestyusa.org; tests and the demo point it at a local copy), `incremental`
(auto|on|off, default the `ARCHIVER_INCREMENTAL` setting; see archiver.crawler.incremental).

Each page's cards come from the pure extractor (`archiver.extract`); the items go through the
pipelines; whether to stop early is the incremental middleware's business, not the spider's.
With `--details` (`ARCHIVER_DETAILS`), the release pages that are due are fetched once the
listing is read (archiver.crawler.details; the routing is spiders.release_pages).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from archiver import __version__
from archiver.errors import ArgumentError
from archiver.items import NEXT_PAGE_META, PAGE_META, ReleaseItem
from archiver.settings_catalog import BY_NAME, check_choice
from archiver.sites import AMNESTYUSA, parse_listing_args
from spiders.listing import ListingReader, count_listing
from spiders.release_pages import ReleasePagesMixin

LISTING_ARGUMENTS = ("country", "issue", "start_page", "max_pages", "base_url")
ARGUMENTS = (*LISTING_ARGUMENTS, "incremental")


class AmnestyUsaSpider(ReleasePagesMixin, scrapy.Spider):
    """Reads amnestyusa.org `/news/` listing pages, following the next-page link to the end."""

    name = "amnestyusa"
    source = "amnestyusa"
    # 404 past the last page is an answer we want to see (and report), not an error to hide;
    # 304 answers a conditional request (archiver.crawler.conditional): the page did not change.
    handle_httpstatus_list: ClassVar[list[int]] = [404, 304]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.check_arguments(**{key: kwargs[key] for key in ARGUMENTS if key in kwargs})
        self.incremental: str | None = kwargs.pop("incremental", None)
        listing_args = {key: kwargs.pop(key) for key in LISTING_ARGUMENTS if key in kwargs}
        super().__init__(*args, **kwargs)
        self.query = parse_listing_args(**listing_args)
        # Recorded with the run, and the listing whose coverage it keeps
        # (archiver.crawler.run_record).
        self.archiver_arguments = dict(listing_args)
        self.archiver_listing = {
            "source": self.source,
            "facet": self.query.facet,
            "start_page": self.query.start_page,
        }
        self.allowed_domains = [self.query.host]
        self.pages_seen = 0

    @classmethod
    def check_arguments(cls, **kwargs: str) -> None:
        """Refuse unknown or malformed arguments before a crawl starts (ArgumentError)."""
        unknown = sorted(set(kwargs) - set(ARGUMENTS))
        if unknown:
            known = ", ".join(ARGUMENTS)
            raise ArgumentError(f"unknown argument {unknown[0]!r} for {cls.name} (known: {known})")
        if "incremental" in kwargs:
            check_choice(BY_NAME["ARCHIVER_INCREMENTAL"], kwargs["incremental"])
        parse_listing_args(**{key: kwargs[key] for key in LISTING_ARGUMENTS if key in kwargs})

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Build the User-Agent from ARCHIVER_CONTACT_URL unless the user set USER_AGENT."""
        super().update_settings(settings)
        if settings.getpriority("USER_AGENT") <= SETTINGS_PRIORITIES["project"]:
            contact = (
                settings.get("ARCHIVER_CONTACT_URL") or BY_NAME["ARCHIVER_CONTACT_URL"].default
            )
            settings.set("USER_AGENT", f"archiver/{__version__} (+{contact})", priority="spider")

    @cached_property
    def reader(self) -> ListingReader:
        """Reads listing pages with the crawl's layouts (read once the settings are known)."""
        return ListingReader(self.settings)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """The first listing page asked for (page 1 unless `start_page`)."""
        yield self._page_request(self.query.page_url(self.query.start_page), self.query.start_page)

    def _page_request(self, url: str, page: int, *, next_page: bool = False) -> scrapy.Request:
        meta = {
            PAGE_META: {"source": self.source, "facet": self.query.facet, "page": page},
            NEXT_PAGE_META: next_page,
        }
        return scrapy.Request(url, callback=self.parse, cb_kwargs={"page": page}, meta=meta)

    def parse(self, response: Response, page: int = 1) -> Iterator[Any]:
        """The page's cards as items, then the next page while there is one.

        Not a generator itself: Scrapy checks a generator callback for `return value` by reading
        its source, and its cache is keyed on the bound method, new for every response, so a
        generator `parse` had its source parsed again on every page.
        """
        return self._parse_page(response, page)

    def _parse_page(self, response: Response, page: int) -> Iterator[Any]:
        stats = self.crawler.stats
        if response.status == 404:
            stats.inc_value("archiver/pages_not_found")
            self.logger.info("%s answered 404: past the last page of this listing", response.url)
            return
        self.pages_seen += 1
        if response.status == 304:
            # Unchanged since the last run: nothing to parse. Its items keep their last_seen.
            stats.inc_value("archiver/pages_not_modified")
            yield from self._next_page(self.query.page_url(page + 1), response.url, page)
            return
        stats.inc_value("archiver/listing_pages")
        listing = self.reader.read(response.body, response.url, AMNESTYUSA, response.encoding)
        if listing.decoded_as:
            stats.inc_value("archiver/pages_misdeclared_encoding")
            self.logger.warning(
                "%s is not valid %s as it says: read as %s",
                response.url,
                response.encoding,
                listing.decoded_as,
            )
        count_listing(stats, listing)
        if not listing.cards:
            self.logger.warning(
                "%s answered %s but no card matched any known layout or the structural fallback:"
                " the markup may have changed",
                response.url,
                response.status,
            )
            if page == self.query.start_page and self.query.filters:
                yield self._control_request()
        elif listing.fallback:
            self.logger.warning(
                "%s matched no known layout: %d cards found by structure (layout fallback);"
                " check them, then add a layout (docs/extraction.md)",
                response.url,
                len(listing.cards),
            )
        fetched_at = datetime.now(UTC)
        warc_record = response.meta.get("warc_record")
        for card in listing.cards:
            item = ReleaseItem.from_card(
                card, source=self.source, facet=self.query.facet, fetched_at=fetched_at
            )
            item.warc_record = warc_record
            yield item
        if listing.next_url is None:
            self.logger.info("%s has no next-page link: end of the listing", response.url)
            return
        yield from self._next_page(self.query.on_base(listing.next_url), response.url, page)

    def _control_request(self) -> scrapy.Request:
        """The unfiltered listing's first page: cards there mean the filter matched nothing,
        none mean the site's markup changed."""
        return scrapy.Request(
            self.query.unfiltered().page_url(1),
            callback=self.parse_control,
            dont_filter=True,
        )

    def parse_control(self, response: Response) -> None:
        """Count the cards of the unfiltered listing (the ledger tells a filter from a redesign)."""
        listing = self.reader.read(response.body, response.url, AMNESTYUSA, response.encoding)
        stats = self.crawler.stats
        stats.set_value("archiver/control_facet", self.query.facet)
        stats.set_value("archiver/control_cards", len(listing.cards))
        self.logger.info(
            "%s (the unfiltered listing) has %d cards: %s",
            response.url,
            len(listing.cards),
            "the filter matched nothing" if listing.cards else "the markup may have changed",
        )

    def _next_page(self, next_url: str, page_url: str, page: int) -> Iterator[scrapy.Request]:
        if self.query.max_pages is not None and self.pages_seen >= self.query.max_pages:
            self.logger.info("max_pages=%d reached", self.query.max_pages)
            self.crawler.stats.set_value("archiver/stopped_by", "max_pages")
            return
        if next_url != page_url:
            yield self._page_request(next_url, page + 1, next_page=True)
