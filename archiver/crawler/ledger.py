"""The crawl ledger: what a crawl did that decides how it ended, kept in one place.

Components report to it and it keeps, for every listing page the crawl was due to read (every
listing request scheduled), what became of it: read with its cards, answered 304, or missed and
why (an error after retries, an unexpected 404, an empty or garbled page, a page cut short, a
request dropped, no answer at all). It also keeps the store's failure and the first error the
crawl logged. At the end `archiver.outcome.decide` gets every fact at once; the run record writes
that outcome (and what the run did to the listing's coverage), the crawl process turns it into
its exit status and stats file: one decision. Always on; it needs no database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler

from archiver.config import scrub_secrets
from archiver.coverage import ListingRead
from archiver.db.runs import PreviousHealth
from archiver.items import PAGE_META
from archiver.outcome import EXIT_EMPTY_FILTER, CrawlFacts, MissedPage, Outcome, decide


class _FirstError(logging.Handler):
    """Remembers the first ERROR (or worse) record logged while the crawl runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.message is None:
            try:
                text = record.getMessage()
            except Exception:  # a record with bad arguments: its template says enough
                text = str(record.msg)
            if record.exc_info and record.exc_info[1] is not None:
                text = f"{text}: {record.exc_info[1]}"
            self.message = " ".join(scrub_secrets(text).split())[:300]


@dataclass(slots=True)
class PageRecord:
    """One listing page the crawl was due to read, and what became of it."""

    page: int
    url: str
    status: int | None = None  # the final HTTP status, once answered
    cards: int | None = None  # cards parsed, once the spider read it
    has_next: bool = False  # the page linked to a next page
    cause: str | None = None  # why it could not be read (an error, an empty or garbled answer)

    @property
    def readable(self) -> bool:
        """Answered 200 with a whole HTML page (cards or not)."""
        return self.status == 200 and self.cause is None and self.cards is not None

    def missed_cause(self) -> str | None:
        """Why this page counts as not read (None: it was read)."""
        if self.status == 304 or (self.readable and self.cards):
            return None
        if self.cause:
            return self.cause
        if self.readable:
            return "no listing card on the page (a maintenance or changed page)"
        if self.status is not None and self.status != 200:
            return f"HTTP {self.status}"
        return "no answer"


class CrawlLedger:
    """The facts of one crawl; `outcome(reason)` decides once and remembers."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.store_error: str | None = None
        self.robots_forbidden: str | None = None
        # What the previous run of the same schedule measured (set by the run record).
        self.previous = PreviousHealth()
        self.pages: dict[int, PageRecord] = {}
        self._first_error = _FirstError()
        self._outcome: Outcome | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlLedger:
        ledger = cls(crawler)
        # From now on: an error while the other components are built counts too.
        logging.getLogger().addHandler(ledger._first_error)
        crawler.signals.connect(ledger.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(ledger.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(ledger.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ledger.engine_stopped, signal=signals.engine_stopped)
        return ledger

    def engine_stopped(self) -> None:
        logging.getLogger().removeHandler(self._first_error)

    # -- listing pages -----------------------------------------------------------------------

    def _record(self, request: Request) -> PageRecord | None:
        page = request.meta.get(PAGE_META)
        if not page or page.get("page") is None:
            return None
        number = int(page["page"])
        if number not in self.pages:
            self.pages[number] = PageRecord(number, request.url)
        return self.pages[number]

    def request_scheduled(self, request: Request) -> None:
        """A listing page the crawl is now due to read."""
        self._record(request)

    def request_dropped(self, request: Request) -> None:
        """The scheduler refused a listing request: a redirect back to a page already asked for."""
        record = self._record(request)
        if record is not None and record.status is None:
            record.cause = "the request was dropped (the page redirects in a loop)"

    def answered(self, request: Request, status: int) -> None:
        """The final HTTP answer for a listing page (after retries and redirects)."""
        record = self._record(request)
        if record is None:
            return
        record.status = status
        if status >= 500 or status == 429:
            record.cause = f"HTTP {status} after {_tries(request)}"

    def failed(self, request: Request, error: BaseException) -> None:
        """A listing page that could not be downloaded (after retries)."""
        record = self._record(request)
        if record is None:
            return
        text = " ".join(str(error).split())
        if "robots.txt" in text:
            self.robots_forbidden = self.robots_forbidden or request.url
            record.cause = "forbidden by robots.txt"
            return
        kind = type(error).__name__
        detail = f"{kind}: {text[:120]}" if text and text != kind else kind
        record.cause = f"{detail} after {_tries(request)}"

    def parsed(
        self, request: Request, status: int, cards: int, has_next: bool, garbled: str | None
    ) -> None:
        """What the spider found on a listing page it read (`garbled`: why the answer is not a
        whole HTML page, e.g. empty or cut short)."""
        record = self._record(request)
        if record is None:
            return
        record.status = status
        record.cards = cards
        record.has_next = has_next
        if garbled:
            record.cause = garbled

    def readable_pages(self) -> int | None:
        """Listing pages answered with a whole HTML page (None when no listing was tracked)."""
        if not self.pages:
            return None
        return sum(1 for record in self.pages.values() if record.readable)

    def missed(self) -> tuple[MissedPage, ...]:
        """The listing pages the crawl was due to read and could not, in page order."""
        missed = []
        for number in sorted(self.pages):
            record = self.pages[number]
            cause = record.missed_cause()
            if cause is not None:
                missed.append(MissedPage(number, record.url, cause))
        return tuple(missed)

    def listing_read(self, start_page: int, stopped_by: str | None) -> ListingRead:
        """What the crawl did to its listing (for the listing's coverage)."""
        if self.outcome().exit_code == EXIT_EMPTY_FILTER:
            return ListingRead(start_page)  # an empty listing: nothing to read, nothing missed
        missed = self.missed()
        read = [n for n, record in self.pages.items() if record.missed_cause() is None]
        last = max(read, default=None)
        reached_end = any(
            record.readable and record.cards and not record.has_next
            for record in self.pages.values()
        )
        return ListingRead(
            start_page=start_page,
            last_page_read=last,
            first_missed=missed[0].page if missed else None,
            missed_cause=missed[0].cause if missed else None,
            # A page without a next-page request is the last one, unless the spider was told to
            # stop there (max_pages); the incremental stop drops a request the spider made.
            reached_end=reached_end and not missed and stopped_by in (None, "incremental"),
            stopped_by=stopped_by,
        )

    # -- what other components report ----------------------------------------------------------

    def store_failed(self, message: str) -> None:
        """The archive could not be written (the first failure is the one that matters)."""
        self.store_error = self.store_error or message

    def stopped_early(self, why: str) -> None:
        """Pagination stopped before the listing's end on purpose (incremental, max_pages)."""
        if self.crawler.stats is not None:
            self.crawler.stats.set_value("archiver/stopped_by", why)

    # -- the decision ------------------------------------------------------------------------

    def facts(self, reason: str | None) -> CrawlFacts:
        """Everything the outcome depends on, as of now."""
        stats: dict[str, Any] = self.crawler.stats.get_stats() if self.crawler.stats else {}
        control = stats.get("archiver/control_cards")
        readable = self.readable_pages()
        if readable is not None:
            # Pages that answered 200 with an empty or garbled body were not read.
            empty = sum(1 for r in self.pages.values() if r.readable and not r.cards)
            stats = {**stats, "archiver/listing_pages": readable}
            stats["archiver/pages_without_cards"] = empty
        return CrawlFacts.from_stats(
            stats,
            finish_reason=reason,
            missed=self.missed(),
            store_error=self.store_error,
            first_error=self._first_error.message,
            robots_forbidden=self.robots_forbidden,
            empty_filter=stats.get("archiver/control_facet") if control else None,
            previous_cards_per_page=self.previous.cards_per_page,
            previous_structure_share=self.previous.structure_share,
        )

    def outcome(self, reason: str | None = None) -> Outcome:
        """The crawl's outcome, decided on the first call once the spider closed."""
        if self._outcome is None:
            stats = self.crawler.stats
            if reason is None and stats is not None:
                reason = stats.get_value("finish_reason")
            self._outcome = decide(self.facts(reason))
        return self._outcome

    def spider_closed(self, reason: str) -> None:
        outcome = self.outcome(reason)
        if self.crawler.stats is not None:
            self.crawler.stats.set_value("archiver/outcome", outcome.message)


def _tries(request: Request) -> str:
    tries = int(request.meta.get("retry_times", 0)) + 1
    return f"{tries} tr{'y' if tries == 1 else 'ies'}"
