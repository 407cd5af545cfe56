"""The baseline of the crawl benchmark: plain Scrapy with the archiver's extractor, nothing else.

    .venv/bin/python benchmarks/bare_spider.py http://127.0.0.1:PORT --feed out.jsonl \
        [--stats-file stats.json] [--log-file crawl.log]

It reads the same listing the archiver's spider reads, with the same `extract_listing`, follows
the same next-page links, and yields each card as a plain dict into a JSONL feed: what a user
would write without the archiver. No item pipelines, no extensions of ours, a clean `Settings`
(not `archiver.settings`). `crawlsettings.CRAWL_SETTINGS` are the settings that decide speed;
the benchmark gives the archiver's crawl exactly the same, so only the archiver's own work differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import scrapy
from crawlsettings import CRAWL_SETTINGS  # benchmarks/ (this script's folder)
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.settings import Settings

from archiver.extract import extract_listing
from archiver.items import RawCard
from archiver.sites import parse_listing_args

CARD_FIELDS = tuple(f.name for f in fields(RawCard))


class BareListingSpider(scrapy.Spider):
    """Walks `/news/` page by page and yields every card as a dict."""

    name = "bare_listing"

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The archiver's own URL helpers: the site's pagination names its canonical host.
        self.query = parse_listing_args(base_url=base_url)
        self.allowed_domains = [self.query.host]

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.query.page_url(1), callback=self.parse)

    def parse(self, response: Response) -> Iterator[Any]:
        listing = extract_listing(response.text, response.url)
        self.crawler.stats.inc_value("bare/listing_pages")
        for card in listing.cards:
            yield {name: getattr(card, name) for name in CARD_FIELDS}
        if listing.next_url is not None:
            yield scrapy.Request(self.query.on_base(listing.next_url), callback=self.parse)


def run(
    base_url: str, feed: Path, stats_file: Path | None = None, log_file: Path | None = None
) -> dict[str, Any]:
    """Crawl `base_url` into `feed` (JSONL, overwritten); returns Scrapy's final stats."""
    settings = Settings(
        {
            **CRAWL_SETTINGS,
            "FEEDS": {str(feed): {"format": "jsonlines", "overwrite": True}},
            "FEED_EXPORT_ENCODING": "utf-8",
        }
    )
    if log_file is not None:
        settings.set("LOG_FILE", str(log_file))
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareListingSpider)
    process.crawl(crawler, base_url=base_url)
    process.start()
    stats = {
        key: value if isinstance(value, int | float) else str(value)
        for key, value in (crawler.stats.get_stats() if crawler.stats else {}).items()
    }
    if stats_file is not None:
        stats_file.write_text(json.dumps(stats))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="origin of the local site, e.g. http://127.0.0.1:8000")
    parser.add_argument("--feed", type=Path, required=True, help="JSONL output (overwritten)")
    parser.add_argument("--stats-file", type=Path, help="write the final Scrapy stats here")
    parser.add_argument("--log-file", type=Path, help="log here instead of stderr")
    options = parser.parse_args(argv)
    stats = run(options.base_url, options.feed, options.stats_file, options.log_file)
    return 0 if stats.get("finish_reason") == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
