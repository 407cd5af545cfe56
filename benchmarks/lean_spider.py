"""The lean baseline of the crawl benchmark: a plain Scrapy spider with its own ten-line `parse`.

    .venv/bin/python benchmarks/lean_spider.py http://127.0.0.1:PORT --feed out.jsonl \
        [--stats-file stats.json] [--log-file crawl.log]

What someone would write for this site without the archiver: parsel CSS selectors for the
current layout's cards (`div.card-md`: link, `h3` title, `p.body-xs` summary, the date
`.card-md--tag--hocus`, the label `.card-md--tag`), the `div.next a.next` link followed (moved
onto the crawled host with urllib), each card a dict into a JSONL feed. It imports nothing of
the archiver, on purpose: `bare_spider.py` uses the archiver's extractor, so it moves whenever
the archiver's code does; this baseline stays put while the archiver is refactored, and its
start-up is that of Scrapy alone (the `scrapy crawl`-like start-up the archiver is held to).

Same command-line shape, same speed settings (`crawlsettings.CRAWL_SETTINGS`) and same crawl
clock (`crawlclock.CrawlClock`) as `bare_spider.py`; the benchmark runs it as its own process.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from crawlsettings import CRAWL_SETTINGS  # benchmarks/ (this script's folder)
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.settings import Settings


class LeanListingSpider(scrapy.Spider):
    """Walks `/news/` page by page and yields every card as a dict."""

    name = "lean_listing"

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = urlsplit(base_url.rstrip("/"))
        self.allowed_domains = [self.base.hostname or ""]

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.base.geturl() + "/news/", callback=self.parse)

    def parse(self, response: Response) -> list[Any]:
        # A list, not a generator: Scrapy may re-read a generator callback's source for each
        # response (is_generator_with_return_value; its cache is keyed by bound method). The
        # archiver's spider avoids that too, so the lean baseline does not pay it (README.md).
        self.crawler.stats.inc_value("lean/listing_pages")
        found: list[Any] = [
            {
                "url": response.urljoin(card.css("a.hocus-headline::attr(href)").get("")),
                "title": "".join(card.css("h3 ::text").getall()).strip(),
                "summary": "".join(card.css("p.body-xs ::text").getall()).strip(),
                "date": card.css(".card-md--tag--hocus::text").get("").strip(),
                "label": "".join(card.css(".card-md--tag ::text").getall()).strip(),
            }
            for card in response.css("div.card-md")
        ]
        if href := response.css("div.next a.next::attr(href)").get():
            # The site's links name its canonical host; the crawl stays on the one it was given.
            parts = urlsplit(response.urljoin(href))
            url = parts._replace(scheme=self.base.scheme, netloc=self.base.netloc, fragment="")
            found.append(scrapy.Request(url.geturl(), callback=self.parse))
        return found


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
    crawler = process.create_crawler(LeanListingSpider)
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
