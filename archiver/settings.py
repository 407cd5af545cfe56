"""Scrapy settings for the archiver (scrapy.cfg points here).

Defaults are polite, as a server operator expects from a crawler that runs for months: robots.txt
obeyed, AutoThrottle on, an identifying User-Agent with a contact URL, retries, no offsite requests.
The archiver's own `ARCHIVER_*` settings are declared once, with their meaning, in
`archiver.settings_catalog` (and listed in docs/settings.md); every one can be overridden with
`-s NAME=VALUE` or, for the database and data folder, the environment (see archiver.config).
"""

import os

from archiver import __version__
from archiver.settings_catalog import defaults

BOT_NAME = "archiver"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# The archiver's settings with their declared defaults (ARCHIVER_DATABASE_URL, ...).
globals().update(defaults())
# A node's contact URL comes from its environment, like its database and data folder (which
# archiver.config reads): a Scrapyd node runs every job with the environment it was started with.
ARCHIVER_CONTACT_URL = os.environ.get("ARCHIVER_CONTACT_URL") or defaults()["ARCHIVER_CONTACT_URL"]

# Who we are and how to reach us: site operators read this in their logs. The spider rebuilds it
# from ARCHIVER_CONTACT_URL unless USER_AGENT is set explicitly.
USER_AGENT = f"archiver/{__version__} (+{ARCHIVER_CONTACT_URL})"

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_TIMEOUT = 30
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Every pipeline is synchronous: an item runs to the store without yielding, so more item workers
# only cost asyncio tasks, started for every page (Scrapy's 100 start 100). Four (a queue of
# eight) cost fewest instructions per page, measured against 1, 2 and 16 (benchmarks/README.md).
CONCURRENT_ITEMS = 4

# The spider relies on Scrapy's OffsiteMiddleware (allowed_domains from base_url), on by default.
# The incremental stop filters the spider's output the way Scrapy's DepthMiddleware does.
SPIDER_MIDDLEWARES: dict[str, int] = {
    "archiver.crawler.incremental.IncrementalStopMiddleware": 850,
    # Next to the spider, so it sees the next-page request before the incremental stop may drop it.
    "archiver.crawler.listing.ListingPagesMiddleware": 880,
}

ITEM_PIPELINES: dict[str, int] = {
    "pipelines.normalize.NormalizePipeline": 300,
    "pipelines.validate.ValidatePipeline": 400,
    "pipelines.store.StorePipeline": 500,
    # Release pages (--details): off unless ARCHIVER_DETAILS.
    "pipelines.details.DetailPipeline": 550,
}

# Conditional requests (ETag / Last-Modified) and the raw page archive (WARC). The archive sits
# after HttpCompression (590) on the way back, so it keeps the decoded body.
DOWNLOADER_MIDDLEWARES: dict[str, int] = {
    # Below RetryMiddleware (550): it sees the last try's answer or error of each listing page.
    "archiver.crawler.listing.ListingAnswersMiddleware": 540,
    "archiver.crawler.conditional.ConditionalRequestsMiddleware": 575,
    "archiver.crawler.warc.WarcArchiveMiddleware": 585,
}

# Components that hold the crawl's state, each with one job (see docs/architecture.md).
EXTENSIONS: dict[str, int | None] = {
    # Scrapy's remote control runs Python sent over HTTP inside the crawl, with a token written to
    # the user's profile folder. A scheduled crawl on a server has no use for it; off, like telnet.
    "scrapy.extensions.remote_control.RemoteControl": None,
    # Passwords out of the log also under plain `scrapy crawl`, as Scrapyd runs jobs.
    "archiver.crawler.secrets.LogScrubber": 10,
    "archiver.crawler.ledger.CrawlLedger": 50,
    "archiver.crawler.database.ArchiveDatabase": 100,
    "archiver.crawler.run_record.RunRecord": 110,
    # Release pages (--details, archiver enrich): off unless ARCHIVER_DETAILS.
    "archiver.crawler.details.ReleasePages": 120,
    "archiver.crawler.quarantine.JsonlQuarantine": 500,
    # Live counters for the process that launched the crawl; off unless ARCHIVER_STATUS_FILE.
    "archiver.crawler.status.StatusFile": 900,
}

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
