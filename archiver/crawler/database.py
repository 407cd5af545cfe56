"""The crawl's one engine on the archive, for every component that reads or writes it.

Opened when the crawler is built (`open_archive`: schema current, dead runs marked, so a
database that cannot be opened stops the crawl before a page is fetched, with one line that says
why) and disposed when the engine stops. Off (NotConfigured) with `ARCHIVER_STORE_ENABLED = 0`:
a plain `scrapy crawl -O out.jsonl` needs no database.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import Engine

from archiver.config import crawl_database_url, mask_url
from archiver.db import open_archive
from archiver.settings_catalog import setting

logger = logging.getLogger(__name__)


class ArchiveDatabase:
    """Holds `engine` and `url` (never print it: `mask_url`) for the crawl."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveDatabase:
        settings = crawler.settings
        if not setting(settings, "ARCHIVER_STORE_ENABLED"):
            raise NotConfigured("ARCHIVER_STORE_ENABLED is off")
        url = crawl_database_url(settings)
        database = cls(url, open_archive(url, create=True))
        crawler.signals.connect(database.engine_stopped, signal=signals.engine_stopped)
        logger.info("Archive: %s", mask_url(url))
        return database

    def engine_stopped(self) -> None:
        self.engine.dispose()


def archive_database(crawler: Crawler) -> ArchiveDatabase | None:
    """The crawl's archive database, or None when the store is off."""
    return crawler.get_extension(ArchiveDatabase)
