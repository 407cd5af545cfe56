"""Incremental crawls: stop paginating once a listing page holds nothing new or edited.

New releases appear on page 1 and push older ones down, so a scheduled run only needs to read
pages until one (`ARCHIVER_INCREMENTAL_PAGES`, default 1, consecutive) whose every valid item is
already stored with the same content hash. A page with one new or edited item lets the crawl go
on, so items pushed onto the next page are never missed and an edit on page 1 is stored.

Two Scrapy-style components, both built with `from_crawler`:

- `IncrementalState` (the spider holds it; the spider still decides what to fetch): loads, once,
  `url -> content_hash` of the releases the archive holds for the crawl's source and filter
  (read-only; ~10k rows is a few hundred kB) and judges each page. `ARCHIVER_INCREMENTAL`:
  `off` (every page, as `archiver crawl --full`), `on`, or `auto` (default): on when the archive
  holds items for that source and filter *and* an earlier run of that filter read the listing to
  its end, so the pages never read by an incremental run were read by a complete one.
- `ConditionalRequestsMiddleware` (downloader middleware): keeps each listing URL's ETag and
  Last-Modified in `listing_validators` and sends them back (`If-None-Match`,
  `If-Modified-Since`) on incremental runs. A 304 counts as an unchanged page without parsing.
  Validators are saved only when the run finished and every batch was stored: a validator saved
  for a page whose items were then lost would hide those items behind 304s forever.

Choice on 304: the items of a page answered 304 keep their `last_seen_at` (nothing was read, so
nothing is rewritten); `last_seen_at` means "last read on a listing page". The run record counts
such pages in its stats (`archiver/pages_not_modified`).

What incremental mode cannot see: an edit to a release deep in the listing (below the first
unchanged page). Run a `--full` crawl now and then (e.g. weekly) to catch those.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from sqlalchemy import Engine, delete, insert, select

from archiver.db.models import CrawlRun, ListingValidator, Release, ReleaseFacet, utcnow
from archiver.items import ReleaseItem
from archiver.listing import ArgumentError, parse_listing_args
from archiver.normalize import normalized_fields, validate_item
from archiver.sources import get_source

logger = logging.getLogger(__name__)

MODES = ("auto", "on", "off")


def check_mode(value: object) -> str:
    """An `ARCHIVER_INCREMENTAL` value, checked (booleans as from `-s` are accepted).

    >>> check_mode("AUTO"), check_mode(True), check_mode("0"), check_mode(None)
    ('auto', 'on', 'off', 'auto')
    """
    if value is None or value == "":
        return "auto"
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value).strip().lower()
    text = {"1": "on", "true": "on", "yes": "on", "0": "off", "false": "off", "no": "off"}.get(
        text, text
    )
    if text not in MODES:
        raise ArgumentError(f"incremental must be one of {', '.join(MODES)}, not {value!r}")
    return text


def facet_of_arguments(arguments: dict[str, Any] | None) -> str | None:
    """The facet a run's recorded arguments crawled (None: unfiltered or unreadable).

    >>> facet_of_arguments({"country": "Syria", "base_url": "http://127.0.0.1:1"})
    'country=syria'
    """
    filters = {k: v for k, v in (arguments or {}).items() if k in ("country", "issue")}
    try:
        return parse_listing_args(**filters).facet
    except ArgumentError:
        return None


def known_items(engine: Engine, source: str, facet: str | None) -> dict[str, str]:
    """`url -> content_hash` of the releases stored for `source` under `facet` (None: all)."""
    query = select(Release.url, Release.content_hash).where(Release.source == source)
    if facet is not None:
        query = query.join(ReleaseFacet, ReleaseFacet.release_id == Release.id).where(
            ReleaseFacet.facet == facet
        )
    with engine.connect() as connection:
        return {row.url: row.content_hash for row in connection.execute(query)}


def has_complete_run(engine: Engine, spider: str, facet: str | None) -> bool:
    """Whether an earlier run of `spider` read the `facet` listing from page 1 to its end.

    Runs stopped by the incremental rule count too: what they did not read, a complete run had.
    """
    query = (
        select(CrawlRun.arguments, CrawlRun.stats)
        .where(
            CrawlRun.spider == spider,
            CrawlRun.status == "finished",
            CrawlRun.finish_reason == "finished",
            CrawlRun.trigger != "reparse",
            CrawlRun.items_seen > 0,
        )
        .order_by(CrawlRun.id.desc())
    )
    with engine.connect() as connection:
        for arguments, stats in connection.execute(query):
            arguments = arguments or {}
            if str(arguments.get("start_page") or "1") != "1" or arguments.get("max_pages"):
                continue
            if (stats or {}).get("archiver/stopped_by") not in (None, "incremental"):
                continue
            if facet_of_arguments(arguments) == facet:
                return True
    return False


def page_fingerprints(items: Iterable[ReleaseItem], source: str) -> list[tuple[str, str]]:
    """(canonical url, content hash) of the page's items that validation would accept.

    The same pure normalisers and checks as the pipelines, so "known" means exactly "the store
    would count it unchanged". Refused items are left out: they are never stored, so they can
    never be known, and must not keep a crawl going forever.
    """
    found: list[tuple[str, str]] = []
    src = get_source(source)
    for item in items:
        fields = normalized_fields(asdict(item), src)
        clean = {**asdict(item), **fields}
        today = (item.fetched_at or datetime.now(UTC)).date()
        if not validate_item(clean, today):
            found.append((fields["url"], fields["content_hash"]))
    return found


class IncrementalState:
    """Per-crawl incremental decision and page judge (see the module docstring).

    The database is read lazily on first use (the spider's first request), after the store
    pipeline has prepared the schema.
    """

    def __init__(
        self,
        crawler: Crawler,
        *,
        mode: str,
        pages: int,
        db_url: str | None,
        source: str,
        spider: str,
        facet: str | None,
    ) -> None:
        self.crawler = crawler  # stats exist only once the crawl starts (after the spider)
        self.mode = mode
        self.pages = max(1, pages)
        self.db_url = db_url
        self.source = source
        self.spider = spider
        self.facet = facet
        self.known: dict[str, str] = {}
        self.streak = 0
        self._active: bool | None = None

    @classmethod
    def from_crawler(
        cls, crawler: Crawler, *, source: str, facet: str | None, mode: str | None = None
    ) -> IncrementalState:
        """Settings: `ARCHIVER_INCREMENTAL` (unless `mode`), `ARCHIVER_INCREMENTAL_PAGES`."""
        from archiver.warc import store_database_url_or_none

        settings = crawler.settings
        assert crawler.spidercls is not None
        return cls(
            crawler,
            mode=check_mode(mode if mode is not None else settings.get("ARCHIVER_INCREMENTAL")),
            pages=settings.getint("ARCHIVER_INCREMENTAL_PAGES", 1),
            db_url=store_database_url_or_none(settings),
            source=source,
            spider=crawler.spidercls.name,
            facet=facet,
        )

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    @property
    def active(self) -> bool:
        """Whether this crawl stops at unchanged pages (decided once, on first use)."""
        if self._active is None:
            self._active, reason = self._decide()
            self.stats.set_value("archiver/incremental", "on" if self._active else "off")
            self.stats.set_value("archiver/incremental/reason", reason)
            logger.info("Incremental mode %s: %s", "on" if self._active else "off", reason)
        return self._active

    def _decide(self) -> tuple[bool, str]:
        if self.mode == "off":
            return False, "full crawl asked for (ARCHIVER_INCREMENTAL=off / --full)"
        if self.db_url is None:
            return False, "no database (the store is off)"
        from archiver.db import make_engine, prepare

        prepare(self.db_url)
        engine = make_engine(self.db_url)
        try:
            self.known = known_items(engine, self.source, self.facet)
            complete = self.mode == "on" or has_complete_run(engine, self.spider, self.facet)
        finally:
            engine.dispose()
        self.stats.set_value("archiver/incremental/known_items", len(self.known))
        what = self.facet or "the unfiltered listing"
        if self.mode == "on":
            return True, f"asked for; {len(self.known)} items known under {what}"
        if not self.known:
            return False, f"no item stored yet under {what}"
        if not complete:
            return False, f"no earlier run read {what} to its end"
        return True, f"{len(self.known)} items known under {what}"

    def page_unchanged(self, items: Iterable[ReleaseItem]) -> bool:
        """Whether every valid item of a page is stored with the same content (and there is one)."""
        fingerprints = page_fingerprints(items, self.source)
        return bool(fingerprints) and all(self.known.get(url) == h for url, h in fingerprints)

    def should_stop(self, unchanged: bool, page_url: str) -> bool:
        """Record one judged page; True when pagination should stop after it."""
        if not self.active:
            return False
        if not unchanged:
            self.streak = 0
            return False
        self.streak += 1
        self.stats.inc_value("archiver/incremental/unchanged_pages")
        if self.streak < self.pages:
            return False
        self.stats.set_value("archiver/stopped_by", "incremental")
        logger.info(
            "%s: nothing new or edited on the last %d page(s): stopping here (incremental;"
            " use --full or -s ARCHIVER_INCREMENTAL=off for a complete crawl)",
            page_url,
            self.streak,
        )
        return True


class ConditionalRequestsMiddleware:
    """Sends stored ETag / Last-Modified back on listing requests marked conditional."""

    def __init__(self, crawler: Crawler, db_url: str) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_url = db_url
        self.validators: dict[str, tuple[str | None, str | None]] | None = None
        self.pending: dict[str, tuple[str | None, str | None]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestsMiddleware:
        """`ARCHIVER_CONDITIONAL_REQUESTS` (default True); needs the store's database."""
        from archiver.warc import store_database_url_or_none

        if not crawler.settings.getbool("ARCHIVER_CONDITIONAL_REQUESTS", True):
            raise NotConfigured("ARCHIVER_CONDITIONAL_REQUESTS is off")
        db_url = store_database_url_or_none(crawler.settings)
        if db_url is None:
            raise NotConfigured("conditional requests keep their validators in the database")
        middleware = cls(crawler, db_url)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def _load(self) -> dict[str, tuple[str | None, str | None]]:
        if self.validators is None:
            from archiver.db import make_engine, prepare

            prepare(self.db_url)
            engine = make_engine(self.db_url)
            try:
                with engine.connect() as connection:
                    rows = connection.execute(
                        select(
                            ListingValidator.url,
                            ListingValidator.etag,
                            ListingValidator.last_modified,
                        )
                    )
                    self.validators = {row.url: (row.etag, row.last_modified) for row in rows}
            finally:
                engine.dispose()
        return self.validators

    def process_request(self, request: Request) -> None:
        if not request.meta.get("archiver_conditional"):
            return
        etag, last_modified = self._load().get(request.url, (None, None))
        if etag:
            request.headers.setdefault("If-None-Match", etag)
        if last_modified:
            request.headers.setdefault("If-Modified-Since", last_modified)
        if etag or last_modified:
            self.stats.inc_value("archiver/conditional/sent")

    def process_response(self, request: Request, response: Response) -> Response:
        if "archiver_page" not in request.meta:
            return response
        if response.status == 304:
            self.stats.inc_value("archiver/conditional/not_modified")
        elif response.status == 200:
            etag = response.headers.get("ETag")
            last_modified = response.headers.get("Last-Modified")
            if etag or last_modified:
                self.pending[response.url] = (
                    etag.decode("latin-1") if etag else None,
                    last_modified.decode("latin-1") if last_modified else None,
                )
        return response

    def spider_closed(self, reason: str) -> None:
        """Save the validators seen, only if the run finished and stored every batch."""
        if not self.pending:
            return
        if reason != "finished" or self.stats.get_value("archiver/store/errors"):
            logger.info("Run did not finish cleanly: listing validators not saved")
            return
        from archiver.db import make_engine, write_transaction

        engine = make_engine(self.db_url)
        now = utcnow()
        rows = [
            {
                "url": url,
                "etag": etag,
                "last_modified": modified,
                "run_id": self.stats.get_value("archiver/run_id"),
                "updated_at": now,
            }
            for url, (etag, modified) in self.pending.items()
        ]
        try:
            with write_transaction(engine) as connection:
                urls = list(self.pending)
                for start in range(0, len(urls), 500):
                    chunk = urls[start : start + 500]
                    connection.execute(
                        delete(ListingValidator).where(ListingValidator.url.in_(chunk))
                    )
                connection.execute(insert(ListingValidator), rows)
            self.stats.set_value("archiver/conditional/saved", len(rows))
        except Exception:
            logger.exception("Could not save %d listing validators", len(rows))
        finally:
            engine.dispose()
