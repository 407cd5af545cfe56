"""The amnestyusa.org newsroom spider: it only routes (start URL, filters, pagination).

    scrapy crawl amnestyusa -a country=syria -O syria.jsonl
    archiver crawl amnestyusa -a country=syria,iraq -a max_pages=3

Arguments: `country`, `issue` (comma-separated lists, sent in the site's own `%2C` form),
`start_page` (default 1), `max_pages` (default: until the last page), `base_url` (default
https://www.amnestyusa.org; tests and the demo point it at a local copy), `incremental`
(auto|on|off, default the `ARCHIVER_INCREMENTAL` setting: see archiver.incremental).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from archiver import __version__
from archiver.extract import extract_listing
from archiver.incremental import IncrementalState, check_mode
from archiver.items import ReleaseItem
from archiver.listing import ArgumentError, parse_listing_args


class AmnestyUsaSpider(scrapy.Spider):
    """Reads amnestyusa.org `/news/` listing pages, following the next-page link to the end."""

    name = "amnestyusa"
    source = "amnestyusa"
    # 404 past the last page is an answer we want to see (and report), not an error to hide;
    # 304 answers a conditional request (archiver.incremental): the page did not change.
    handle_httpstatus_list: ClassVar[list[int]] = [404, 304]

    arguments = ("country", "issue", "start_page", "max_pages", "base_url")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.incremental_mode: str | None = kwargs.pop("incremental", None)
        listing_args = {key: kwargs.pop(key) for key in self.arguments if key in kwargs}
        super().__init__(*args, **kwargs)
        self.query = parse_listing_args(**listing_args)
        # Recorded with the run (pipelines.store.run_arguments); incremental mode reads them.
        self.archiver_arguments = dict(listing_args)
        self.incremental: IncrementalState | None = None
        self.allowed_domains = [self.query.host]
        self.pages_seen = 0

    @classmethod
    def check_arguments(cls, **kwargs: str) -> None:
        """Refuse unknown or malformed arguments before a crawl starts (ArgumentError)."""
        unknown = sorted(set(kwargs) - {*cls.arguments, "incremental"})
        if unknown:
            known = ", ".join((*cls.arguments, "incremental"))
            raise ArgumentError(f"unknown argument {unknown[0]!r} for {cls.name} (known: {known})")
        if "incremental" in kwargs:
            check_mode(kwargs.pop("incremental"))
        parse_listing_args(**kwargs)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> AmnestyUsaSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.incremental = IncrementalState.from_crawler(
            crawler, source=spider.source, facet=spider.query.facet, mode=spider.incremental_mode
        )
        return spider

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Build the User-Agent from ARCHIVER_CONTACT_URL unless the user set USER_AGENT."""
        super().update_settings(settings)
        if settings.getpriority("USER_AGENT") <= SETTINGS_PRIORITIES["project"]:
            contact = settings.get("ARCHIVER_CONTACT_URL")
            settings.set("USER_AGENT", f"archiver/{__version__} (+{contact})", priority="spider")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """The first listing page asked for (page 1 unless `start_page`)."""
        yield self._page_request(self.query.page_url(self.query.start_page), self.query.start_page)

    def _page_request(self, url: str, page: int) -> scrapy.Request:
        # `archiver_page` marks a listing page for the WARC archive; `archiver_conditional` asks
        # for If-None-Match / If-Modified-Since (only when the crawl is incremental).
        meta = {
            "archiver_page": {"source": self.source, "facet": self.query.facet, "page": page},
            "archiver_conditional": self.incremental is not None and self.incremental.active,
        }
        return scrapy.Request(url, callback=self.parse, cb_kwargs={"page": page}, meta=meta)

    def parse(self, response: Response, page: int = 1) -> Iterator[Any]:
        """The page's cards as items, then the next page while there is one.

        Not a generator itself: Scrapy checks a generator callback for `return value` by reading
        and parsing its source, and its cache is keyed on the bound method, new for every
        response, so a generator `parse` was parsed again on every page (~3.5 ms of CPU each).
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
            if not self._stop_here(True, response.url):
                yield from self._next_page(self.query.page_url(page + 1), response.url, page)
            return
        stats.inc_value("archiver/listing_pages")
        listing = extract_listing(response.text, response.url)
        if not listing.cards:
            stats.inc_value("archiver/pages_without_cards")
            self.logger.warning(
                "%s answered %s but no card matched any known layout: the markup may have changed",
                response.url,
                response.status,
            )
        else:
            stats.inc_value("archiver/cards", len(listing.cards))
            stats.inc_value(f"archiver/layout/{listing.layout}")
        fetched_at = datetime.now(UTC)
        facet = self.query.facet
        items = [
            ReleaseItem.from_card(card, source=self.source, facet=facet, fetched_at=fetched_at)
            for card in listing.cards
        ]
        warc_record = response.meta.get("warc_record")
        for item in items:
            item.warc_record = warc_record
            yield item
        if listing.next_url is None:
            self.logger.info("%s has no next-page link: end of the listing", response.url)
            return
        # Judged before the next page is asked for: an incremental crawl stops here.
        if self.incremental is not None and self.incremental.active:
            unchanged = self.incremental.page_unchanged(items)
            if self._stop_here(unchanged, response.url):
                return
        yield from self._next_page(self.query.on_base(listing.next_url), response.url, page)

    def _stop_here(self, unchanged: bool, page_url: str) -> bool:
        return self.incremental is not None and self.incremental.should_stop(unchanged, page_url)

    def _next_page(self, next_url: str, page_url: str, page: int) -> Iterator[scrapy.Request]:
        if self.query.max_pages is not None and self.pages_seen >= self.query.max_pages:
            self.logger.info("max_pages=%d reached", self.query.max_pages)
            self.crawler.stats.set_value("archiver/stopped_by", "max_pages")
            return
        if next_url != page_url:
            yield self._page_request(next_url, page + 1)
