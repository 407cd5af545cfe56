"""The spider behind `archiver enrich`: read the pages of releases already in the archive.

    archiver enrich --since 2024-01-01 --facet country=syria --limit 100

It fetches no listing. Once it starts idle, the release-page component
(archiver.crawler.details) asks the archive which releases are due among those the arguments
select (never read, failed last time, or edited on the listing since they were read) and
schedules their pages through this spider's routing, so they get the same politeness, retries,
conditional requests and WARC archive as a crawl with `--details`.

Arguments: `source` (default amnestyusa), `facet` (comma-free facet strings joined with `;`,
e.g. `country=syria;issue=death-penalty`), `since` (YYYY-MM-DD, by publication date), `limit`,
`refresh` (1: every selected page that is not gone, due or not; unchanged ones answer 304),
`base_url` (the host to fetch from; tests and the demo use the local copy).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any, ClassVar

import scrapy

from archiver.errors import ArgumentError
from archiver.settings_catalog import is_on
from archiver.sites import DEFAULT_BASE_URL, decode_facet, get_source, parse_listing_args
from spiders.release_pages import ReleasePagesMixin

ARGUMENTS = ("source", "facet", "since", "limit", "refresh", "base_url")


class EnrichSpider(ReleasePagesMixin, scrapy.Spider):
    """Reads the due release pages of the archive (see the module docstring)."""

    name = "enrich"
    custom_settings: ClassVar[dict[str, Any]] = {"ARCHIVER_DETAILS": True}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        chosen = {key: kwargs.pop(key) for key in ARGUMENTS if key in kwargs}
        self.check_arguments(**chosen)
        super().__init__(*args, **kwargs)
        self.source = chosen.get("source") or "amnestyusa"
        self.query = parse_listing_args(base_url=chosen.get("base_url") or DEFAULT_BASE_URL)
        self.allowed_domains = [self.query.host]
        facets = [f for f in (chosen.get("facet") or "").split(";") if f]
        self.archiver_enrich = {
            "source": self.source,
            "facets": facets,
            "since": date.fromisoformat(chosen["since"]) if chosen.get("since") else None,
            "limit": int(chosen["limit"]) if chosen.get("limit") else None,
            "refresh": is_on(chosen.get("refresh")),
        }
        self.archiver_arguments = dict(chosen)

    @classmethod
    def check_arguments(cls, **kwargs: str) -> None:
        """Refuse unknown or malformed arguments before a crawl starts (ArgumentError)."""
        unknown = sorted(set(kwargs) - set(ARGUMENTS))
        if unknown:
            known = ", ".join(ARGUMENTS)
            raise ArgumentError(f"unknown argument {unknown[0]!r} for enrich (known: {known})")
        if kwargs.get("source"):
            get_source(kwargs["source"])
        for facet in (kwargs.get("facet") or "").split(";"):
            if facet and not decode_facet(facet):
                raise ArgumentError(f"facet must look like country=syria, not {facet!r}")
        if kwargs.get("since"):
            try:
                date.fromisoformat(kwargs["since"])
            except ValueError:
                raise ArgumentError(f"since must be YYYY-MM-DD, not {kwargs['since']!r}") from None
        limit = kwargs.get("limit")
        if limit and (not str(limit).isdigit() or int(limit) < 1):
            raise ArgumentError(f"limit must be 1 or more, not {kwargs['limit']!r}")
        if kwargs.get("base_url"):
            parse_listing_args(base_url=kwargs["base_url"])

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Nothing to start with: the release-page component schedules the due pages."""
        self.crawler.stats.set_value("archiver/details/only", True)
        return
        yield  # an async generator that yields nothing
