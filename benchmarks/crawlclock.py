"""A Scrapy extension for the crawl benchmark: the crawl's own CPU time, and when it ran.

On a shared, noisy machine wall-clock rates move with whatever else runs; the CPU the crawl
process spent between `spider_opened` and `spider_closed` does not (much), and it leaves out
interpreter start-up and one-off set-up, as Scrapy's `elapsed_time_seconds` does. Every crawl
of the benchmark loads it (`EXTENSIONS`), so it costs them the same: four clock reads.

Stats:
- `bench/cpu_seconds`: CPU time of the crawl process from `spider_opened` to `spider_closed`;
- `bench/opened_at`, `bench/closed_at`: `time.time()` at those two signals, so the benchmark
  can subtract the moment it launched the process (start-up: imports, settings, database
  set-up, the engine starting) and the moment the process ended (shutdown) from the outside.
  The wall clock is shared by every process on the machine, which `perf_counter` is not
  guaranteed to be.
"""

from __future__ import annotations

import time

from scrapy import Spider, signals
from scrapy.crawler import Crawler


class CrawlClock:
    """Sets `bench/cpu_seconds`, `bench/opened_at` and `bench/closed_at`."""

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
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("bench/opened_at", time.time())
        self.started = time.process_time()

    def spider_closed(self, spider: Spider) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("bench/cpu_seconds", time.process_time() - self.started)
        self.crawler.stats.set_value("bench/closed_at", time.time())
