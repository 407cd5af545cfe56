"""How a crawl ended: one function decides its status, exit code and message, for everyone.

The crawl process, its `crawl_runs` row, `archiver crawl`, `archiver reparse`, the scheduler, its
failure hook and `--stats-file` all report the `Outcome` that `decide` returns for the crawl's
`CrawlFacts`, so they can never disagree. The README's exit-code table is `EXIT_CODES`
(a test compares them).

The rules, in order (the first that applies wins):

1. stopped on purpose (Ctrl-C, SIGTERM, `--timeout`, the scheduler's stop, a spider that
   cancelled itself): `interrupted`, exit 4;
2. the archive could not be written: `failed`, exit 1;
3. Scrapy ended for another reason than finishing or a limit the operator set
   (`CLOSESPIDER_PAGECOUNT`, `max_pages`, ...): `failed`, exit 1;
4. a run that reads release pages only (`archiver enrich`): `partial`, exit 5, when some
   could not be read (they are due again next time), else `finished`, exit 0;
5. no listing page could be read (site unreachable, robots.txt forbids the listing): `failed`,
   exit 1, naming the cause;
6. pages answered but not one card was parsed: when the unfiltered listing still has cards,
   the filter value matched nothing (`finished`, exit 6, no alarm); otherwise the site's markup
   changed (`failed`, exit 3, the `no_items` alarm);
7. some listing pages could not be read (errors after retries, an unexpected 404, an empty or
   garbled page where the previous page linked to one, a cut-short page): `partial`, exit 5,
   naming the pages; what was read is kept and the next run heals the gap;
8. some pages matched no known layout and the structural fallback read them: `finished`,
   exit 7, flag `fallback_layout`: the items are archived, but the markup changed and a person
   should check them (docs/extraction.md);
9. otherwise `finished`, exit 0 (`ok`), saying why it stopped when it stopped early, and how
   many release pages (`--details`) could not be read: they never fail a listing run.

Pure: no Scrapy, no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from archiver.health import Extraction, Health, assess

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NO_ITEMS = 3
EXIT_INTERRUPTED = 4
EXIT_PARTIAL = 5
EXIT_EMPTY_FILTER = 6
EXIT_FALLBACK = 7

#: Every exit status of `archiver crawl` (and `reparse`, `schedule run`) with its meaning; the
#: README's table is checked against this.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "the crawl went well (also when nothing was new)",
    EXIT_ERROR: "the crawl failed: site unreachable, robots.txt forbids the listing, "
    "database error, crash",
    EXIT_USAGE: "bad arguments, options or settings (nothing was crawled)",
    EXIT_NO_ITEMS: "pages answered but no item could be parsed: the site's markup changed",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGTERM, --timeout, the scheduler stopping)",
    EXIT_PARTIAL: "partial: some listing pages could not be read; the next run heals the gap",
    EXIT_EMPTY_FILTER: "the filter value matched nothing (the unfiltered listing has releases)",
    EXIT_FALLBACK: "items archived, but no known layout matched some pages: the structural "
    "fallback read them; check them, then add a layout and reparse",
}

#: Values of `crawl_runs.status` (`running` while a crawl goes, `skipped` for a scheduled fire
#: that did not start one).
RUN_STATUSES = ("running", "finished", "partial", "failed", "interrupted", "skipped")

#: Scrapy finish reasons that are limits the operator set: the crawl did what was asked.
LIMIT_REASONS = frozenset(
    {
        "closespider_itemcount",
        "closespider_pagecount",
        "closespider_pagecount_no_item",
        "closespider_timeout",
        "closespider_timeout_no_item",
    }
)
#: Scrapy finish reasons of a crawl stopped on purpose before its end.
STOP_REASONS = frozenset({"shutdown", "cancelled"})


@dataclass(frozen=True, slots=True)
class MissedPage:
    """A listing page the run was due to read and could not."""

    page: int
    url: str
    cause: str  # "HTTP 500 after 4 tries", "empty page", "cut short", "connection refused", ...

    def describe(self) -> str:
        """`page 3 (HTTP 500 after 4 tries)`."""
        return f"page {self.page} ({self.cause})"


@dataclass(frozen=True, slots=True)
class CrawlFacts:
    """What a crawl did, as far as its outcome is concerned (collected by the crawl ledger)."""

    finish_reason: str | None
    listing_pages: int = 0  # listing pages that answered 200 and were parsed
    cards: int = 0
    pages_not_modified: int = 0  # 304 answers to conditional requests
    pages_without_cards: int = 0
    missed: tuple[MissedPage, ...] = ()
    store_error: str | None = None  # the archive could not be written
    stopped_by: str | None = None  # "incremental", "max_pages", a closespider reason, ...
    first_error: str | None = None  # the first error the crawl logged, for the message
    robots_forbidden: str | None = None  # a listing URL robots.txt forbade
    empty_filter: str | None = None  # the facet whose listing is empty while the site's is not
    interrupted_because: str | None = None  # said by whoever stopped the crawl
    previous_cards_per_page: float | None = None  # of the previous run of the same schedule
    extraction: Extraction = field(default_factory=Extraction)  # how fields were found
    detail_pages: int = 0  # release pages tried (`--details`, `archiver enrich`)
    detail_failed: int = 0  # of which gave no usable answer (retried by the next run)
    details_only: bool = False  # a run that reads release pages only (`archiver enrich`)

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any], **facts: Any) -> CrawlFacts:
        """Facts read from a crawl's final Scrapy stats (the archiver's counters), plus `facts`.

        >>> CrawlFacts.from_stats({"finish_reason": "finished", "archiver/cards": 3}).cards
        3
        """
        if "extraction" not in facts:
            facts["extraction"] = Extraction(
                by_selector=_int(stats.get("archiver/found/selector")),
                by_structure=_int(stats.get("archiver/found/structure")),
                fallback_pages=_int(stats.get("archiver/layout/fallback")),
                previous_share=facts.pop("previous_structure_share", None),
            )
        return cls(
            finish_reason=facts.pop("finish_reason", stats.get("finish_reason")),
            listing_pages=_int(stats.get("archiver/listing_pages")),
            cards=_int(stats.get("archiver/cards")),
            pages_not_modified=_int(stats.get("archiver/pages_not_modified")),
            pages_without_cards=_int(stats.get("archiver/pages_without_cards")),
            stopped_by=facts.pop("stopped_by", stats.get("archiver/stopped_by")),
            detail_pages=_int(stats.get("archiver/details/tried")),
            detail_failed=_int(stats.get("archiver/details/errors")),
            details_only=bool(stats.get("archiver/details/only")),
            **facts,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """Status, exit code and one message: how a crawl ended, as every report says it."""

    status: str  # finished, partial, failed, interrupted
    exit_code: int
    message: str  # "ok", "no items parsed: ...", "partial: page 3 (HTTP 500 ...)", ...
    health: Health = field(default_factory=lambda: Health(cards_per_page=None))

    @property
    def flags(self) -> tuple[str, ...]:
        """Health flags (no_items, pages_without_cards, cards_drop), for reports."""
        return self.health.flags

    @property
    def ok(self) -> bool:
        """Whether nothing needs a person's attention."""
        return self.exit_code == EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        """For `--stats-file`, the stats of the crawl process and hooks."""
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "message": self.message,
            "flags": list(self.flags),
        }


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _pages(missed: Sequence[MissedPage], limit: int = 5) -> str:
    shown = ", ".join(page.describe() for page in missed[:limit])
    more = f" and {len(missed) - limit} more" if len(missed) > limit else ""
    return shown + more


def _stopped_early(facts: CrawlFacts) -> str:
    pages = facts.listing_pages + facts.pages_not_modified
    if facts.stopped_by == "incremental":
        return f"ok; stopped after {pages} page(s): nothing new or edited (incremental)"
    if facts.stopped_by:
        return f"ok; stopped after {pages} page(s) by {facts.stopped_by}"
    return "ok"


def decide(facts: CrawlFacts) -> Outcome:
    """The outcome a crawl's facts deserve (the rules are in the module docstring; every rule
    has its row in tests/test_outcome.py).

    >>> decide(CrawlFacts("finished", listing_pages=3, cards=30)).message
    'ok'
    """
    health = assess(
        facts.listing_pages,
        facts.pages_without_cards,
        facts.cards,
        facts.previous_cards_per_page,
        facts.extraction,
    )
    if facts.pages_not_modified and "no_items" in health.flags:
        # Pages answered 304 hold their cards from the last run: nothing was lost.
        health = replace(health, flags=(), notes=())
    reason = facts.finish_reason or "unknown reason"
    if facts.interrupted_because or reason in STOP_REASONS:
        why = facts.interrupted_because or (
            "stopped (Ctrl-C or SIGTERM)" if reason == "shutdown" else "cancelled by the spider"
        )
        return Outcome("interrupted", EXIT_INTERRUPTED, f"interrupted: {why}", health)
    if facts.store_error:
        return Outcome(
            "failed", EXIT_ERROR, f"the archive could not be written: {facts.store_error}", health
        )
    if reason != "finished" and reason not in LIMIT_REASONS:
        detail = f" ({facts.first_error})" if facts.first_error else ""
        return Outcome("failed", EXIT_ERROR, f"crawl ended: {reason}{detail}", health)
    if facts.details_only:
        return _details_outcome(facts)
    if facts.listing_pages == 0 and facts.pages_not_modified == 0:
        return Outcome("failed", EXIT_ERROR, _unread(facts), health)
    if "no_items" in health.flags:
        if facts.empty_filter:
            return Outcome(
                "finished",
                EXIT_EMPTY_FILTER,
                f"the filter {facts.empty_filter} matched nothing: the site's unfiltered listing"
                " has releases (check the value, e.g. with `archiver facets`)",
                replace(health, flags=(), notes=()),  # no redesign alarm
            )
        return Outcome(
            "failed",
            EXIT_NO_ITEMS,
            "no items parsed: pages answered but no card matched; the site's markup may have"
            " changed",
            health,
        )
    if facts.missed:
        count = len(facts.missed)
        noun = "page could" if count == 1 else "pages could"
        return Outcome(
            "partial",
            EXIT_PARTIAL,
            f"partial: {count} listing {noun} not be read: {_pages(facts.missed)}",
            health,
        )
    if "fallback_layout" in health.flags:
        pages = facts.extraction.fallback_pages
        return Outcome(
            "finished",
            EXIT_FALLBACK,
            f"markup changed: {pages} page(s) matched no known layout and were read by"
            " structure (layout fallback); their cards are archived: check them, then add a"
            " layout and reparse",
            health,
        )
    message = _stopped_early(facts)
    if facts.detail_failed:
        # Not "ok": a page the run was due to read is missing, even if only a release's own.
        message = "listing " + message + _details_note(facts)
    return Outcome("finished", EXIT_OK, message, health)


def _details_outcome(facts: CrawlFacts) -> Outcome:
    """A run that read release pages only: partial when some could not be read (they are due
    again next time), never a listing verdict (it read no listing)."""
    healthy = Health(cards_per_page=None)
    if facts.detail_failed:
        return Outcome(
            "partial",
            EXIT_PARTIAL,
            f"partial: {facts.detail_failed} of {facts.detail_pages} release page(s) could not"
            " be read (tried again next time)",
            healthy,
        )
    if not facts.detail_pages:
        return Outcome("finished", EXIT_OK, "ok; no release page was due", healthy)
    return Outcome("finished", EXIT_OK, f"ok; {facts.detail_pages} release page(s) read", healthy)


def _details_note(facts: CrawlFacts) -> str:
    """What the release pages of a listing crawl came to: their failures never fail the run
    (the listing was read), but they are said, and tried again by the next run."""
    return (
        f"; {facts.detail_failed} of {facts.detail_pages} release page(s) could not be read"
        " (tried again next run)"
    )


def _unread(facts: CrawlFacts) -> str:
    if facts.robots_forbidden:
        return f"robots.txt forbids the listing ({facts.robots_forbidden}): nothing was read"
    if facts.missed:
        return f"no listing page could be read: {_pages(facts.missed)}"
    detail = f": {facts.first_error}" if facts.first_error else ""
    return f"no listing page could be read{detail}"


def for_exit_code(returncode: int, message: str | None = None) -> Outcome:
    """The outcome of a crawl process that could not report one itself (it died, or failed
    before its crawl started): what its exit status says, with the best message known.

    >>> for_exit_code(-9).status, for_exit_code(2, "error: bad setting").status
    ('failed', 'failed')
    >>> for_exit_code(-15).status
    'interrupted'
    """
    if returncode in (EXIT_INTERRUPTED, -2, -15):
        return Outcome("interrupted", EXIT_INTERRUPTED, message or "interrupted")
    if returncode < 0:
        return Outcome(
            "failed", EXIT_ERROR, message or f"crawl process killed by signal {-returncode}"
        )
    code = returncode if returncode in EXIT_CODES and returncode != EXIT_OK else EXIT_ERROR
    if returncode == EXIT_OK:
        return Outcome("finished", EXIT_OK, message or "ok")
    status = {
        EXIT_PARTIAL: "partial",
        EXIT_EMPTY_FILTER: "finished",
        EXIT_FALLBACK: "finished",
    }.get(code, "failed")
    return Outcome(status, code, message or f"crawl process exited with status {returncode}")
