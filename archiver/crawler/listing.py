"""Two watchers that tell the crawl ledger what became of every listing page.

- `ListingAnswersMiddleware` (downloader middleware, below RetryMiddleware so it sees the last
  try): the final HTTP status of each listing request, or the error it failed with after its
  retries (a timeout, a reset connection, a body cut short, robots.txt forbidding it).
- `ListingPagesMiddleware` (spider middleware, next to the spider): for each listing page the
  spider read, how many cards it held, whether it linked to a next page, and whether its HTML was
  cut short.

Neither decides anything: the ledger does, once the crawl is over (see archiver.crawler.ledger).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from archiver.crawler.ledger import CrawlLedger
from archiver.items import NEXT_PAGE_META, PAGE_META


def _ledger(crawler: Crawler) -> CrawlLedger:
    ledger = crawler.get_extension(CrawlLedger)
    if ledger is None:
        raise NotConfigured("the listing watchers report to the crawl ledger, which is off")
    return ledger


class ListingAnswersMiddleware:
    """Reports each listing request's final answer or error to the ledger."""

    def __init__(self, ledger: CrawlLedger) -> None:
        self.ledger = ledger

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ListingAnswersMiddleware:
        return cls(_ledger(crawler))

    def process_response(self, request: Request, response: Response) -> Response:
        if PAGE_META in request.meta:
            self.ledger.answered(request, response.status)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        if PAGE_META in request.meta:
            self.ledger.failed(request, exception)


def garbled(response: Response) -> str | None:
    """Why an answer is not a whole HTML page (None when it is one).

    >>> from scrapy.http import HtmlResponse
    >>> garbled(HtmlResponse("http://x/", body=b"<html><body>cards</body></html>\\n")) is None
    True
    >>> garbled(HtmlResponse("http://x/", body=b"<html><body><div class="))
    'an incomplete or garbled page (no closing </html>)'
    >>> garbled(HtmlResponse("http://x/", body=b""))
    'an empty answer'
    """
    if response.status != 200:
        return None
    if not response.body.strip():
        return "an empty answer"
    if b"</html>" not in response.body[-4096:].lower():
        return "an incomplete or garbled page (no closing </html>)"
    return None


class ListingPagesMiddleware:
    """Counts the cards of each listing page as the spider yields them, for the ledger."""

    def __init__(self, ledger: CrawlLedger) -> None:
        self.ledger = ledger

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ListingPagesMiddleware:
        return cls(_ledger(crawler))

    async def process_spider_output(
        self, response: Response | None, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        if response is None or PAGE_META not in response.meta:
            async for output in result:
                yield output
            return
        cards = 0
        has_next = False
        async for output in result:
            if isinstance(output, Request):
                has_next = has_next or bool(output.meta.get(NEXT_PAGE_META))
            else:
                cards += 1
            yield output
        self.ledger.parsed(response.request, response.status, cards, has_next, garbled(response))
