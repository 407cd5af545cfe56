"""What every spider does with a release's own page (`--details`, `archiver enrich`).

The crawler component `archiver.crawler.details.ReleasePages` decides which pages are due and
asks the spider for each request (`release_page_request`): the spider routes (the page on the
host it crawls), reads the answer with the pure extractor (`archiver.extract.detail`) and yields
one `DetailItem` per try, whatever the answer: a 200 page read, a 304, a 404/410 (gone), an
error after retries (the item says so, and the release is due again next run). Redirects are
followed; the item says where the page went.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from archiver.items import DetailItem

#: Answers the spider wants to see rather than have Scrapy drop: unchanged, gone.
HANDLED = [304, 404, 410]


class ReleasePagesMixin:
    """Release-page routing for a spider with a `query` (archiver.sites.ListingQuery)."""

    query: Any
    crawler: Any
    logger: Any

    def release_page_request(self, url: str, release: dict[str, Any]) -> scrapy.Request:
        """The request for a release's page (`url` as archived, moved onto the crawled host)."""
        return scrapy.Request(
            self.query.on_base(url),
            callback=self.parse_release_page,
            errback=self.release_page_failed,
            meta={"handle_httpstatus_list": HANDLED},
            cb_kwargs={"release": release},
            priority=-1,  # after any listing page still queued
        )

    def parse_release_page(self, response: Response, release: dict[str, Any]) -> Iterator[Any]:
        """One DetailItem: the page read (200), unchanged (304) or gone (404/410)."""
        item = _item(release, response.request.url if response.request else response.url)
        item.http_status = response.status
        item.final_url = response.url
        item.redirected = bool(response.meta.get("redirect_urls"))
        item.warc_record = response.meta.get("warc_record")
        stats = self.crawler.stats
        stats.inc_value("archiver/details/tried")
        stats.inc_value(f"archiver/details/status/{response.status}")
        if response.status == 200:
            from archiver.extract.detail import extract_detail

            item.page = extract_detail(response.body, response.url, encoding=response.encoding)
            item.etag = _header(response, b"ETag")
            item.last_modified = _header(response, b"Last-Modified")
            if item.redirected:
                stats.inc_value("archiver/details/moved")
        elif response.status in (404, 410):
            self.logger.info("%s answered %d: release marked gone", response.url, response.status)
        yield item

    def release_page_failed(self, failure: Failure) -> Iterator[Any]:
        """A release page with no usable answer: counted, kept as failed, retried next run."""
        request = failure.request  # type: ignore[attr-defined]
        release = request.cb_kwargs["release"]
        item = _item(release, request.url)
        response = getattr(failure.value, "response", None)
        item.http_status = response.status if response is not None else None
        item.error = (
            f"HTTP {response.status}"
            if response is not None
            else f"{type(failure.value).__name__}: {' '.join(str(failure.value).split())}"
        )[:300]
        stats = self.crawler.stats
        stats.inc_value("archiver/details/tried")
        stats.inc_value("archiver/details/errors")
        self.logger.warning(
            "Release page %s could not be read (%s): tried again next run", request.url, item.error
        )
        yield item


def _item(release: dict[str, Any], requested: str) -> DetailItem:
    return DetailItem(
        release_id=release["release_id"],
        source=release["source"],
        release_url=release["url"],
        requested_url=requested,
        fetched_at=datetime.now(UTC),
    )


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
