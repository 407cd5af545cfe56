"""Scrapy settings for the archiver (scrapy.cfg points here).

Defaults are polite, as a server operator expects from a crawler that runs for months: robots.txt
obeyed, AutoThrottle on, an identifying User-Agent with a contact URL, retries, no offsite requests.
Archiver components read their own `ARCHIVER_*` settings; every one of them can be overridden
with `-s NAME=VALUE` or, for the database and data folder, the environment (see archiver.config).
"""

from archiver import __version__

BOT_NAME = "archiver"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# Who we are and how to reach us: site operators read this in their logs.
ARCHIVER_CONTACT_URL = "https://github.com/archiver-project/archiver"
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

# The spider relies on Scrapy's OffsiteMiddleware (allowed_domains from base_url), on by default.
SPIDER_MIDDLEWARES: dict[str, int] = {}

ITEM_PIPELINES: dict[str, int] = {
    "pipelines.normalize.NormalizePipeline": 300,
    "pipelines.validate.ValidatePipeline": 400,
    "pipelines.store.StorePipeline": 500,
}

# Conditional requests (ETag / Last-Modified) and the raw page archive (WARC): see
# archiver.incremental and archiver.warc. The archive sits after HttpCompression (590) on the
# way back, so it keeps the decoded body.
DOWNLOADER_MIDDLEWARES: dict[str, int] = {
    "archiver.incremental.ConditionalRequestsMiddleware": 575,
    "archiver.warc.WarcArchiveMiddleware": 585,
}

EXTENSIONS: dict[str, int] = {
    "archiver.quarantine.JsonlQuarantine": 500,
    # Live counters for the process that launched the crawl; off unless ARCHIVER_STATUS_FILE.
    "archiver.status.StatusFile": 0,
}

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# Where data goes; None means "ask archiver.config" (environment, then defaults).
ARCHIVER_DATABASE_URL = None
ARCHIVER_DATA_DIR = None
# Refused items go to the store's invalid_items table; None = the JSONL quarantine only when the
# store is off (`-s ARCHIVER_STORE_ENABLED=0`), see archiver.quarantine.jsonl_enabled.
ARCHIVER_QUARANTINE_JSONL = None

# Incremental crawls (archiver.incremental): auto = on when the archive holds items for the
# source and filter and an earlier run read that listing to its end; `archiver crawl --full`
# sets off. Pagination stops after this many consecutive pages with nothing new or edited.
ARCHIVER_INCREMENTAL = "auto"
ARCHIVER_INCREMENTAL_PAGES = 1
ARCHIVER_CONDITIONAL_REQUESTS = True
# Raw page archive (archiver.warc): gzip WARC files under <data>/warc/, rotated by size.
ARCHIVER_WARC_ENABLED = True
ARCHIVER_WARC_DIR = None
ARCHIVER_WARC_MAX_BYTES = 100 * 1024 * 1024
