"""Run one crawl in this process and exit: the child side of archiver.crawl.run_crawl.

    python -m archiver.crawl_worker SPIDER --arg country=syria --set DOWNLOAD_DELAY=0 \
        --stats-file /tmp/stats.json

Twisted's reactor cannot be restarted, so every crawl gets a fresh process; the parent reads the
final stats from `--stats-file` and the exit status (see archiver.crawl for the codes).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NO_ITEMS = 3
EXIT_INTERRUPTED = 4


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: {what} {value!r} is not KEY=VALUE")
        pairs[key] = rest
    return pairs


def outcome(stats: dict[str, object]) -> tuple[int, str]:
    """The exit status and status word a crawl's final stats deserve.

    A crawl whose pages answered but yielded no card at all means the site changed: that is a
    failure somebody must look at, unlike a crawl that simply found nothing new.

    >>> outcome({"finish_reason": "finished", "archiver/listing_pages": 3, "archiver/cards": 30})
    (0, 'ok')
    >>> outcome({"finish_reason": "finished", "archiver/listing_pages": 3})
    (3, 'no items parsed')
    >>> outcome({"finish_reason": "shutdown", "archiver/cards": 5})
    (4, 'interrupted')
    >>> outcome({"finish_reason": "finished", "archiver/pages_not_modified": 1})
    (0, 'ok')
    """
    reason = str(stats.get("finish_reason", ""))
    if reason in ("shutdown", "cancelled"):
        return EXIT_INTERRUPTED, "interrupted"
    if reason not in (
        "finished",
        "closespider_itemcount",
        "closespider_pagecount",
        "incremental_stop",
    ):
        return EXIT_ERROR, f"crawl ended: {reason or 'unknown reason'}"
    if int(stats.get("archiver/listing_pages", 0) or 0) > 0 and not stats.get("archiver/cards"):
        return EXIT_NO_ITEMS, "no items parsed"
    if not stats.get("archiver/listing_pages"):
        if stats.get("archiver/pages_not_modified"):
            return EXIT_OK, "ok"  # incremental run answered 304: nothing changed
        return EXIT_ERROR, "no listing page could be read"
    return EXIT_OK, "ok"


def freeze_heap() -> None:
    """Hide every object alive once the crawl is set up from the cyclic garbage collector.

    Imports and set-up (Scrapy, Twisted, SQLAlchemy, the migration check) leave a heap of
    objects that live until the process exits, and each full collection during the crawl walked
    all of them again: ~140 ms each, a few times per thousand pages. `gc.freeze()` moves them
    to a permanent generation, so collections only look at what the crawl itself allocates.
    Connected to `spider_opened`, when every component has opened.
    """
    gc.freeze()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m archiver.crawl_worker", description=__doc__)
    parser.add_argument("spider")
    parser.add_argument("--arg", action="append", default=[], help="spider argument KEY=VALUE")
    parser.add_argument("--set", action="append", default=[], help="Scrapy setting KEY=VALUE")
    parser.add_argument("--settings-json", help="Scrapy settings as a JSON object")
    parser.add_argument("--stats-file", type=Path, help="write the final stats here as JSON")
    options = parser.parse_args(argv)

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "archiver.settings")
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from archiver.listing import ArgumentError
    from archiver.status import jsonable, write_json_atomic

    settings = get_project_settings()
    if options.settings_json:
        settings.setdict(json.loads(options.settings_json), priority="cmdline")
    settings.setdict(_pairs(options.set, "setting"), priority="cmdline")
    process = CrawlerProcess(settings)
    spider_args = _pairs(options.arg, "spider argument")
    try:
        spidercls = process.spider_loader.load(options.spider)
        check = getattr(spidercls, "check_arguments", None)
        if check is not None:
            check(**spider_args)
    except KeyError:
        print(f"error: unknown spider {options.spider!r}", file=sys.stderr)
        return EXIT_USAGE
    except ArgumentError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    crawler = process.create_crawler(spidercls)
    crawler.signals.connect(freeze_heap, signal=signals.spider_opened)
    process.crawl(crawler, **spider_args)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    code, status = outcome(stats)
    stats["archiver/outcome"] = status
    if options.stats_file:
        write_json_atomic(options.stats_file, {"state": "finished", "stats": jsonable(stats)})
    return code


if __name__ == "__main__":
    sys.exit(main())
