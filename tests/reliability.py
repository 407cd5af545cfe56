"""The reliability matrix: every way a listing page can fail, at the first, a middle and the last
page, crawled twice: once while the page misbehaves, once after it recovered.

Each case asserts what a user relies on: the run's status and exit code say what happened (never
`ok` while releases are missing), what was read is stored once, and the next plain crawl heals the
gap (no release missing). `tests/test_reliability.py` runs every case on SQLite and PostgreSQL;

    .venv/bin/python -m tests.reliability

runs them on SQLite files and prints the table quoted in the README.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from archiver.db import make_engine
from archiver.db.models import Release
from archiver.demo.dataset import SYRIA, Dataset, build_dataset
from archiver.demo.faults import Fault, FaultPlan, listing_path
from archiver.demo.server import DemoServer
from archiver.outcome import EXIT_EMPTY_FILTER, EXIT_ERROR, EXIT_OK, EXIT_PARTIAL
from archiver.process.crawl import LOCAL_SITE_SETTINGS, CrawlResult, run_crawl

PAGES = 7  # the syria listing of the local site
POSITIONS = {"first": 1, "middle": 4, "last": PAGES}
#: Short waits, so a page that never answers costs seconds, not minutes.
SETTINGS: dict[str, Any] = {**LOCAL_SITE_SETTINGS, "RETRY_TIMES": 2, "DOWNLOAD_TIMEOUT": 1.5}

#: Each fault as the local site serves it, and whether retrying gets past it.
FAULTS: dict[str, tuple[Fault, bool]] = {
    "5xx twice, then fine": (Fault("status", status=503, times=2), True),
    "5xx for ever": (Fault("status", status=500), False),
    "hang past the timeout": (Fault("hang", seconds=30), False),
    "connection reset": (Fault("reset"), False),
    "body cut short": (Fault("truncate"), False),
    "404 mid-listing": (Fault("status", status=404), False),
    "empty 200": (Fault("empty"), False),
    "maintenance page": (Fault("maintenance"), False),
    "redirect loop": (Fault("redirect_loop"), False),
    "binary garbage": (Fault("garbage"), False),
    "wrong encoding": (Fault("wrong_encoding"), True),
}


@dataclass(frozen=True)
class Expected:
    """What the crawl during the fault must report and store."""

    status: str
    exit_code: int
    stored: int


def expected(kind: str, position: str, dataset: Dataset) -> Expected:
    """The honest outcome of a fault at a position (hand-written from the rules, not measured):
    what the pages before the faulty one hold is stored, nothing after it."""
    _, recovers = FAULTS[kind]
    pages = dataset.pages(SYRIA)
    if recovers:
        return Expected("finished", EXIT_OK, sum(len(page) for page in pages))
    page = POSITIONS[position]
    before = sum(len(releases) for releases in pages[: page - 1])
    if page == 1:
        if kind == "maintenance page":
            # A whole page without cards, while the site's unfiltered listing has some: the
            # filter looks empty. Not ok either; the page is a gap the next run reads again.
            return Expected("finished", EXIT_EMPTY_FILTER, 0)
        return Expected("failed", EXIT_ERROR, 0)
    return Expected("partial", EXIT_PARTIAL, before)


@dataclass
class CaseResult:
    """What one case did: the faulty crawl, the healing crawl, and the archive after each."""

    kind: str
    position: str
    during: CrawlResult
    stored_during: int
    after: CrawlResult
    stored_after: int
    missing_after: int
    unexpected_after: int  # stored releases the site does not have (a URL spelt twice, say)
    garbled_titles: int  # titles with a replacement character (a page decoded wrongly)


def syria_urls(dataset: Dataset) -> set[str]:
    return {release.canonical_url for page in dataset.pages(SYRIA) for release in page}


def stored_urls(db_url: str) -> tuple[set[str], int, int]:
    """(distinct URLs, rows, titles with U+FFFD) of the releases in the archive."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            urls = set(connection.execute(select(Release.url)).scalars())
            rows = connection.execute(select(func.count(Release.id))).scalar_one()
            garbled = connection.execute(
                select(func.count(Release.id)).where(Release.title.contains("\ufffd"))
            ).scalar_one()
    finally:
        engine.dispose()
    return urls, rows, garbled


def run_case(kind: str, position: str, db_url: str, data: Path, dataset: Dataset) -> CaseResult:
    """Crawl with the fault, then again without it (a plain crawl: incremental when it may)."""
    fault, _ = FAULTS[kind]
    page = POSITIONS[position]
    expected_urls = syria_urls(dataset)
    with DemoServer() as server:
        server.faults = FaultPlan({listing_path(page, "country=syria"): fault})
        args = {"country": "syria", "base_url": server.base_url}
        during = run_crawl("amnestyusa", args, db_url=db_url, data_dir=data, settings=SETTINGS)
        urls, _, _ = stored_urls(db_url)
        server.faults = FaultPlan()
        after = run_crawl("amnestyusa", args, db_url=db_url, data_dir=data, settings=SETTINGS)
    healed, rows, garbled = stored_urls(db_url)
    return CaseResult(
        kind=kind,
        position=position,
        during=during,
        stored_during=len(urls),
        after=after,
        stored_after=rows,
        missing_after=len(expected_urls - healed),
        unexpected_after=len(healed - expected_urls) + (rows - len(healed)),
        garbled_titles=garbled,
    )


def main() -> None:
    """Run every case on fresh SQLite archives and print the matrix."""
    dataset = build_dataset()
    header = ("fault", "page", "during: status (exit)", "stored", "after: status", "missing")
    rows = [header]
    with tempfile.TemporaryDirectory() as tmp:
        for number, (kind, position) in enumerate(
            (kind, position) for kind in FAULTS for position in POSITIONS
        ):
            folder = Path(tmp) / str(number)
            db_url = f"sqlite:///{folder / 'archive.db'}"
            result = run_case(kind, position, db_url, folder / "data", dataset)
            rows.append(
                (
                    kind,
                    f"{POSITIONS[position]} ({position})",
                    f"{result.during.outcome.status} ({result.during.returncode})",
                    f"{result.stored_during}/{len(syria_urls(dataset))}",
                    f"{result.after.outcome.status} ({result.after.returncode})",
                    str(result.missing_after),
                )
            )
            print(" | ".join(rows[-1]), flush=True)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print()
    for index, row in enumerate(rows):
        print(
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            + " |"
        )
        if index == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")


if __name__ == "__main__":
    main()
