"""The crawl ledger: what a crawl did that decides how it ended, kept in one place.

Components report to it (the store that could not write, the incremental stop, the spider's
counters in the stats) and it keeps the first error the crawl logged, so that at the end
`archiver.outcome.decide` gets every fact at once. The run record writes that outcome to the
crawl's row, the crawl process turns it into its exit status and stats file: one decision.
Always on; it needs no database.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from archiver.config import scrub_secrets
from archiver.outcome import CrawlFacts, Outcome, decide


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


class CrawlLedger:
    """The facts of one crawl; `outcome(reason)` decides once and remembers."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.store_error: str | None = None
        self.previous_cards_per_page: float | None = None
        self._first_error = _FirstError()
        self._outcome: Outcome | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlLedger:
        ledger = cls(crawler)
        # From now on: an error while the other components are built counts too.
        logging.getLogger().addHandler(ledger._first_error)
        crawler.signals.connect(ledger.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ledger.engine_stopped, signal=signals.engine_stopped)
        return ledger

    def engine_stopped(self) -> None:
        logging.getLogger().removeHandler(self._first_error)

    # -- what components report --------------------------------------------------------------

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
        return CrawlFacts.from_stats(
            stats,
            finish_reason=reason,
            store_error=self.store_error,
            first_error=self._first_error.message,
            previous_cards_per_page=self.previous_cards_per_page,
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
