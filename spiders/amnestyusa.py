"""The amnestyusa.org newsroom spider: it only routes (start URL, filters, pagination).

    scrapy crawl amnestyusa -a country=syria -O syria.jsonl
    archiver crawl amnestyusa -a country=syria,iraq -a max_pages=3

Arguments: `country`, `issue` (comma-separated lists, sent in the site's own `%2C` form),
`start_page` (default 1), `max_pages` (default: until the last page), `base_url` (default
https://www.amnestyusa.org; tests and the demo point it at a local copy).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from archiver import __version__
from archiver.extract import extract_listing
from archiver.items import ReleaseItem
from archiver.listing import ArgumentError, parse_listing_args


class AmnestyUsaSpider(scrapy.Spider):
    """Reads amnestyusa.org `/news/` listing pages, following the next-page link to the end."""

    name = "amnestyusa"
    source = "amnestyusa"
    # 404 past the last page is an answer we want to see (and report), not an error to hide.
    handle_httpstatus_list: ClassVar[list[int]] = [404]

    arguments = ("country", "issue", "start_page", "max_pages", "base_url")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        listing_args = {key: kwargs.pop(key) for key in self.arguments if key in kwargs}
        super().__init__(*args, **kwargs)
        self.query = parse_listing_args(**listing_args)
        self.allowed_domains = [self.query.host]
        self.pages_seen = 0

    @classmethod
    def check_arguments(cls, **kwargs: str) -> None:
        """Refuse unknown or malformed arguments before a crawl starts (ArgumentError)."""
        unknown = sorted(set(kwargs) - set(cls.arguments))
        if unknown:
            known = ", ".join(cls.arguments)
            raise ArgumentError(f"unknown argument {unknown[0]!r} for {cls.name} (known: {known})")
        parse_listing_args(**kwargs)

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
        return scrapy.Request(url, callback=self.parse, cb_kwargs={"page": page})

    def parse(self, response: Response, page: int = 1) -> Iterator[Any]:
        """Yield the page's cards as items, then the next page while there is one."""
        stats = self.crawler.stats
        if response.status == 404:
            stats.inc_value("archiver/pages_not_found")
            self.logger.info("%s answered 404: past the last page of this listing", response.url)
            return
        self.pages_seen += 1
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
        for card in listing.cards:
            yield ReleaseItem.from_card(
                card, source=self.source, facet=facet, fetched_at=fetched_at
            )
        if listing.next_url is None:
            self.logger.info("%s has no next-page link: end of the listing", response.url)
            return
        if self.query.max_pages is not None and self.pages_seen >= self.query.max_pages:
            self.logger.info("max_pages=%d reached", self.query.max_pages)
            stats.set_value("archiver/stopped_by", "max_pages")
            return
        next_url = self.query.on_base(listing.next_url)
        if next_url != response.url:
            yield self._page_request(next_url, page + 1)
