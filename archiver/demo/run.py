"""`archiver demo`: the whole chain against the bundled copy of the site, start to finish.

It serves the shipped copy on 127.0.0.1, crawls the whole newsroom and each bundled filter with
the real spider and pipelines (each crawl in its own process, as in production), reads the page
of every release it finds (`--details`: full text, dates, tags, attachments), stores into its
own archive (`data/demo/archive.db`, never the configured production one), searches the bodies
once, and returns what a person wants to see.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.demo.dataset import FILTERS
from archiver.demo.server import DemoServer
from archiver.outcome import EXIT_FALLBACK
from archiver.process.crawl import LOCAL_SITE_SETTINGS, CrawlResult, run_crawl
from archiver.sites import arguments_of_facet

#: The demo layout only the structural fallback reads: its crawls are meant to exit 7, flagged.
FALLBACK_DEMO_LAYOUT = "redesign"
DEMO_FACETS: tuple[str | None, ...] = (None, *FILTERS)
#: Where the demo keeps its archive, logs and feeds unless told otherwise: its own folder.
DEMO_DATA_DIR = Path("data") / "demo"
#: What the demo searches for once the release pages are read (words of bodies, not titles).
DEMO_SEARCH = '"independent investigation"'


@dataclass
class DemoReport:
    """What the demo did: one crawl result per facet, and the items each produced."""

    db_url: str
    data_dir: Path
    layout: str = "current"
    crawls: list[tuple[str | None, CrawlResult]] = field(default_factory=list)
    types: Counter[str] = field(default_factory=Counter)
    items: int = 0
    snapshot: Path | None = None
    search: list[Any] = field(default_factory=list)  # archiver.db.search.Hit, best first

    def total(self, key: str) -> int:
        """A stat summed over every crawl."""
        return sum(result.stat(key) for _, result in self.crawls)

    @property
    def ok(self) -> bool:
        """Every crawl archived what it should: ok, or, on the made-up redesign that no shipped
        layout reads, archived by the structural fallback and flagged (exit 7) as designed."""
        return all(self.as_expected(result) for _, result in self.crawls)

    def as_expected(self, result: CrawlResult) -> bool:
        """Whether one crawl ended as this layout of the demo site should make it end."""
        if self.layout == FALLBACK_DEMO_LAYOUT:
            return result.returncode == EXIT_FALLBACK
        return result.ok


def run_demo(
    *,
    data_dir: str | Path | None = None,
    db_url: str | None = None,
    layout: str = "current",
    on_crawl: Callable[[str | None, CrawlResult], None] | None = None,
) -> DemoReport:
    """Serve the bundled site, crawl it fully, store it; see DemoReport."""
    # Its own folder, never $ARCHIVER_DATA_DIR: made-up releases must stay out of real archives.
    data = Path(data_dir or DEMO_DATA_DIR).expanduser().absolute()
    url = db_url or f"sqlite:///{data / 'archive.db'}"
    report = DemoReport(db_url=url, data_dir=data, layout=layout)
    feeds = data / "feeds"
    feeds.mkdir(parents=True, exist_ok=True)
    with DemoServer(layout=layout) as server:
        for facet in DEMO_FACETS:
            feed = feeds / f"{(facet or 'all-news').replace('&', '+')}.jsonl"
            settings = {
                **LOCAL_SITE_SETTINGS,
                "ARCHIVER_DETAILS": True,
                "FEEDS": {
                    str(feed): {
                        "format": "jsonlines",
                        "overwrite": True,
                        "item_classes": ["archiver.items.ReleaseItem"],  # cards, not pages
                    }
                },
            }
            args = {**arguments_of_facet(facet), "base_url": server.base_url}
            result = run_crawl("amnestyusa", args, db_url=url, data_dir=data, settings=settings)
            report.crawls.append((facet, result))
            if on_crawl is not None:
                on_crawl(facet, result)
    report.types, report.items = _archive_types(url)
    report.search = _search(url, DEMO_SEARCH)
    if report.ok:
        from archiver.export import write_snapshot

        report.snapshot = write_snapshot(url, data)
    return report


def _search(url: str, words: str) -> list[Any]:
    """The best hits for `words` over titles, summaries and the bodies just read."""
    from archiver.db import open_archive
    from archiver.db.search import search_releases

    engine = open_archive(url)
    try:
        with engine.connect() as connection:
            return search_releases(connection, words, limit=3)
    finally:
        engine.dispose()


def _archive_types(url: str) -> tuple[Counter[str], int]:
    """Releases of the source in the archive by type: what the demo has archived so far
    (the feeds of an incremental second run hold only the pages it read)."""
    from archiver.db import open_archive
    from archiver.db.stats import archive_stats

    engine = open_archive(url)
    try:
        stats = archive_stats(engine, source="amnestyusa")
    finally:
        engine.dispose()
    return Counter({kind or "(none)": count for kind, count in stats.by_type}), stats.releases
