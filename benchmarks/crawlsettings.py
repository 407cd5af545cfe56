"""The settings that decide a crawl's speed, given to every crawl of the crawl benchmark.

A module of its own, importing nothing but the standard library, so that `lean_spider.py` can
use them without importing the archiver (`bare_spider.py` imports the archiver's extractor).
Robots.txt is obeyed by every crawl (one extra request each); the archiver's polite delays and
AutoThrottle are off, as for any local site.
"""

from __future__ import annotations

from typing import Any

CRAWL_SETTINGS: dict[str, Any] = {
    "CONCURRENT_REQUESTS": 8,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "ROBOTSTXT_OBEY": True,
    "COOKIES_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "RETRY_TIMES": 3,
    "DOWNLOAD_TIMEOUT": 30,
    "LOG_LEVEL": "INFO",
    # The crawl's own CPU time as a stat (benchmarks/crawlclock.py); needs benchmarks/ on the path.
    "EXTENSIONS": {"crawlclock.CrawlClock": 0},
}
