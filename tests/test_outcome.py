"""The one decision of how a crawl ended: every rule, and the README's exit-status table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archiver.health import Extraction
from archiver.outcome import (
    EXIT_CODES,
    EXIT_EMPTY_FILTER,
    EXIT_ERROR,
    EXIT_FALLBACK,
    EXIT_INTERRUPTED,
    EXIT_NO_ITEMS,
    EXIT_OK,
    EXIT_PARTIAL,
    CrawlFacts,
    MissedPage,
    decide,
    for_exit_code,
)

ROOT = Path(__file__).resolve().parents[1]
READ = {"listing_pages": 7, "cards": 70}
MISSED = (MissedPage(3, "http://x/news/page/3/", "HTTP 500 after 4 tries"),)
FALLBACK_PAGES = Extraction(by_structure=120, by_selector=230, fallback_pages=2)


@pytest.mark.parametrize(
    ("facts", "status", "code", "message"),
    [
        (CrawlFacts("finished", **READ), "finished", EXIT_OK, "ok"),
        (
            CrawlFacts("finished", stopped_by="incremental", **READ),
            "finished",
            EXIT_OK,
            "ok; stopped after 7 page(s): nothing new or edited (incremental)",
        ),
        (CrawlFacts("finished", pages_not_modified=1), "finished", EXIT_OK, "ok"),
        # A release page that could not be read never fails the listing run, but it is no "ok".
        (
            CrawlFacts("finished", detail_pages=70, detail_failed=1, **READ),
            "finished",
            EXIT_OK,
            "listing ok; 1 of 70 release page(s) could not be read (tried again next run)",
        ),
        # A run that reads release pages only: partial when one could not be read.
        (
            CrawlFacts("finished", detail_pages=10, detail_failed=2, details_only=True),
            "partial",
            EXIT_PARTIAL,
            "partial: 2 of 10 release page(s) could not be read",
        ),
        (
            CrawlFacts("finished", detail_pages=10, details_only=True),
            "finished",
            EXIT_OK,
            "ok; 10 release page(s) read",
        ),
        (CrawlFacts("closespider_pagecount", **READ), "finished", EXIT_OK, "ok"),
        (CrawlFacts("closespider_timeout", **READ), "finished", EXIT_OK, "ok"),
        # Stopped on purpose: the same answer whoever stopped it.
        (CrawlFacts("shutdown", **READ), "interrupted", EXIT_INTERRUPTED, "interrupted: stopped"),
        (CrawlFacts("cancelled", **READ), "interrupted", EXIT_INTERRUPTED, "interrupted: cancel"),
        (
            CrawlFacts("finished", interrupted_because="max run time 2h reached", **READ),
            "interrupted",
            EXIT_INTERRUPTED,
            "interrupted: max run time 2h reached",
        ),
        (
            CrawlFacts("store_error", store_error="disk full", **READ),
            "failed",
            EXIT_ERROR,
            "the archive could not be written: disk full",
        ),
        (CrawlFacts("closespider_errorcount", **READ), "failed", EXIT_ERROR, "crawl ended:"),
        (CrawlFacts("memusage_exceeded", **READ), "failed", EXIT_ERROR, "crawl ended:"),
        (CrawlFacts(None), "failed", EXIT_ERROR, "crawl ended: unknown reason"),
        (
            CrawlFacts("finished", first_error="Connection refused"),
            "failed",
            EXIT_ERROR,
            "no listing page could be read: Connection refused",
        ),
        (
            CrawlFacts("finished", robots_forbidden="http://x/news/"),
            "failed",
            EXIT_ERROR,
            "robots.txt forbids the listing (http://x/news/)",
        ),
        (
            CrawlFacts("finished", listing_pages=2, pages_without_cards=2),
            "failed",
            EXIT_NO_ITEMS,
            "no items parsed",
        ),
        (
            CrawlFacts(
                "finished", listing_pages=1, pages_without_cards=1, empty_filter="country=x"
            ),
            "finished",
            EXIT_EMPTY_FILTER,
            "the filter country=x matched nothing",
        ),
        (
            CrawlFacts("finished", missed=MISSED, listing_pages=2, cards=20),
            "partial",
            EXIT_PARTIAL,
            "partial: 1 listing page could not be read: page 3 (HTTP 500 after 4 tries)",
        ),
        (
            CrawlFacts("finished", extraction=FALLBACK_PAGES, **READ),
            "finished",
            EXIT_FALLBACK,
            "markup changed: 2 page(s) matched no known layout and were read by structure",
        ),
        # A gap is the more urgent news: the run is partial, and flagged.
        (
            CrawlFacts("finished", missed=MISSED, extraction=FALLBACK_PAGES, **READ),
            "partial",
            EXIT_PARTIAL,
            "partial: 1 listing page could not be read",
        ),
    ],
)
def test_every_rule(facts: CrawlFacts, status: str, code: int, message: str) -> None:
    outcome = decide(facts)
    assert (outcome.status, outcome.exit_code) == (status, code)
    assert outcome.message.startswith(message), outcome.message


def test_health_flags_come_with_the_outcome() -> None:
    broken = decide(CrawlFacts("finished", listing_pages=2, pages_without_cards=2))
    assert broken.flags == ("no_items", "pages_without_cards")
    dropped = decide(CrawlFacts("finished", previous_cards_per_page=10.0, listing_pages=4, cards=8))
    assert dropped.flags == ("cards_drop",) and dropped.exit_code == EXIT_OK
    empty = decide(
        CrawlFacts("finished", listing_pages=1, pages_without_cards=1, empty_filter="country=x")
    )
    assert empty.flags == ()  # a mistyped filter is not a redesign: no alarm


@pytest.mark.parametrize(
    ("returncode", "status", "code"),
    [
        (0, "finished", EXIT_OK),
        (1, "failed", EXIT_ERROR),
        (2, "failed", 2),
        (3, "failed", EXIT_NO_ITEMS),
        (4, "interrupted", EXIT_INTERRUPTED),
        (5, "partial", EXIT_PARTIAL),
        (6, "finished", EXIT_EMPTY_FILTER),
        (7, "finished", EXIT_FALLBACK),
        (-15, "interrupted", EXIT_INTERRUPTED),
        (-2, "interrupted", EXIT_INTERRUPTED),
        (-9, "failed", EXIT_ERROR),
        (241, "failed", EXIT_ERROR),
    ],
)
def test_a_process_that_could_not_report_is_judged_by_its_exit_status(
    returncode: int, status: str, code: int
) -> None:
    outcome = for_exit_code(returncode)
    assert (outcome.status, outcome.exit_code) == (status, code)


def test_the_readme_exit_status_table_is_the_one_in_the_code() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- exit-codes:begin -->", 1)[1].split("<!-- exit-codes:end -->")[0]
    rows = re.findall(r"^\| `(\d+)` +\| (.+?) +\|$", section, flags=re.MULTILINE)
    assert {int(code): meaning for code, meaning in rows} == EXIT_CODES
