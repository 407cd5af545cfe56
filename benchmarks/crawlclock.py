"""A Scrapy extension for the crawl benchmark: the crawl's own CPU time, as a stat.

On a shared, noisy machine wall-clock rates move with whatever else runs; the CPU the crawl
process spent between `spider_opened` and `spider_closed` does not (much), and it leaves out
interpreter start-up and one-off set-up, as Scrapy's `elapsed_time_seconds` does. Both crawls
of the benchmark load it (`EXTENSIONS`), so it costs them the same: two clock reads.
Stat: `bench/cpu_seconds`.
"""

from __future__ import annotations

import time

from scrapy import Spider, signals
from scrapy.crawler import Crawler


class CrawlClock:
    """Sets `bench/cpu_seconds` when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.started = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlClock:
        clock = cls(crawler)
        crawler.signals.connect(clock.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(clock.spider_closed, signal=signals.spider_closed)
        return clock

    def spider_opened(self, spider: Spider) -> None:
        self.started = time.process_time()

    def spider_closed(self, spider: Spider) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("bench/cpu_seconds", time.process_time() - self.started)
