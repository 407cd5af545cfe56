"""Run one crawl in this process and exit: the child side of archiver.process.crawl.run_crawl.

    python -m archiver.process.worker SPIDER --arg country=syria \
        --settings-file /tmp/archiver-crawl-x/settings.json --stats-file /tmp/.../stats.json

Settings arrive in a file only the owner can read (never on the command line, where `ps` shows
them to every user of the machine). The exit status and the stats file carry the crawl's
`archiver.outcome.Outcome`, decided by the crawl ledger; every log line goes through the secret
scrubber.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from archiver.config import SecretScrubber, parse_pairs, scrub_log_handlers, scrub_secrets
from archiver.errors import ArchiverError, ArgumentError
from archiver.jsonsafe import write_json_atomic
from archiver.outcome import EXIT_ERROR, Outcome, for_exit_code


def freeze_heap() -> None:
    """Hide every object alive once the crawl is set up from the cyclic garbage collector.

    Imports and set-up (Scrapy, Twisted, SQLAlchemy, the migration check) leave a large heap that
    lives until the process exits; without this, every full collection during the crawl walks
    it again. Connected to `spider_opened`, when every component has opened.
    """
    gc.freeze()


def check_settings(overrides: dict[str, Any]) -> list[str]:
    """Warnings for setting names neither Scrapy nor the archiver knows (with the closest known
    name); an ArgumentError for a value a known setting cannot take."""
    from scrapy.settings import Settings, default_settings

    from archiver.settings_catalog import BY_NAME, closest_name, setting

    known = {name for name in dir(default_settings) if name.isupper()} | set(BY_NAME)
    warnings = []
    for name, value in overrides.items():
        if name not in known:
            guess = closest_name(name, known)
            hint = f" (did you mean {guess}?)" if guess else ""
            warnings.append(f"unknown setting {name}{hint}: it has no effect")
            continue
        given = Settings({name: value})
        default = BY_NAME[name].default if name in BY_NAME else getattr(default_settings, name)
        try:
            if name in BY_NAME:
                setting(given, name)
            elif isinstance(default, bool | int | float):
                # Scrapy spells some switches as 0/1 and reads them with getbool: a number or a
                # boolean is fine for any number-like default.
                _number_or_boolean(given, name)
        except (ValueError, TypeError, ArchiverError) as error:
            raise ArgumentError(f"setting {name}={value!r}: {error}") from None
    if overrides.get("ARCHIVER_EXTRACT_LAYOUTS"):
        from archiver.extract.layout_file import load_layouts

        load_layouts(str(overrides["ARCHIVER_EXTRACT_LAYOUTS"]))  # refused now, not mid-crawl
    return warnings


# Scrapy replaces a project's component dict with one given on the command line, which would
# silently drop the archiver's own components; here a given dict adds to them instead.
COMPONENT_SETTINGS = (
    "EXTENSIONS",
    "ITEM_PIPELINES",
    "DOWNLOADER_MIDDLEWARES",
    "SPIDER_MIDDLEWARES",
)

# What the archive's promise rests on (the outcome, the run row, every card stored or refused
# with a reason): never removed by a component dict. Each is switched off by its own setting.
_NO_STORE = "use ARCHIVER_STORE_ENABLED=0 to crawl without storing"
REQUIRED_COMPONENTS = {
    "archiver.crawler.ledger.CrawlLedger": "it decides the crawl's outcome",
    "archiver.crawler.database.ArchiveDatabase": _NO_STORE,
    "archiver.crawler.run_record.RunRecord": _NO_STORE,
    "archiver.crawler.listing.ListingAnswersMiddleware": "it tells which listing pages were read",
    "archiver.crawler.listing.ListingPagesMiddleware": "it tells which listing pages were read",
    "pipelines.normalize.NormalizePipeline": "the store keeps normalised items only",
    "pipelines.validate.ValidatePipeline": "invalid cards would be stored without a reason",
    "pipelines.store.StorePipeline": _NO_STORE,
}


def merge_components(project: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` with each component dict given (JSON text or a dict) laid over the project's
    own: `-s 'EXTENSIONS={"myproject.Ext": 500}'` adds one extension, `None` removes one.

    Raises ArgumentError when a given dict removes a component the archive cannot do without.
    """
    from scrapy.settings import Settings

    merged = dict(overrides)
    for name in COMPONENT_SETTINGS:
        if name not in overrides:
            continue
        try:
            given = Settings({name: overrides[name]}).getdict(name)
        except ValueError as error:
            raise ArgumentError(f"setting {name}: {error}") from None
        merged[name] = {**project.getdict(name), **given}
        for component, value in given.items():
            if value is None and component in REQUIRED_COMPONENTS:
                why = REQUIRED_COMPONENTS[component]
                raise ArgumentError(f"setting {name} cannot remove {component}: {why}")
    return merged


#: Scrapy's remote control, off in archiver/settings.py (it runs Python sent over HTTP).
REMOTE_CONTROL = "scrapy.extensions.remote_control.RemoteControl"


def unlist_switched_off(settings: Any, extension: str) -> None:
    """Take `extension` out of Scrapy's extension lists when the settings switch it off.

    Scrapy imports every extension listed, switched off or not, to compare their names; the
    remote control's import loads aiohttp, 0.3 s of every crawl's start-up for an extension
    that never runs.
    """
    extensions = settings.getdict("EXTENSIONS")
    if extension not in extensions or extensions[extension] is not None:
        return
    del extensions[extension]
    base = settings.getdict("EXTENSIONS_BASE")
    base.pop(extension, None)
    settings.set("EXTENSIONS", extensions, priority="cmdline")
    settings.set("EXTENSIONS_BASE", base, priority="cmdline")


def _number_or_boolean(settings: Any, name: str) -> None:
    try:
        settings.getfloat(name)
    except (ValueError, TypeError):
        try:
            settings.getbool(name)
        except ValueError:
            raise ValueError("not a number or a boolean (1/0, true/false)") from None


def _read_settings(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    settings = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(settings, dict):
        raise ArchiverError(f"{path}: settings must be a JSON object")
    return settings


def crawl(
    spider: str, arguments: dict[str, str], overrides: dict[str, Any], scrubber: SecretScrubber
) -> tuple[Outcome, dict[str, Any]]:
    """Run the crawl; returns its outcome and final stats."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from archiver.crawler.ledger import CrawlLedger
    from archiver.process.spiders import check_spider

    for warning in check_settings(overrides):
        print(f"warning: {warning}", file=sys.stderr)
        logging.getLogger(__name__).warning(warning)
    settings = get_project_settings()
    settings.setdict(merge_components(settings, overrides), priority="cmdline")
    unlist_switched_off(settings, REMOTE_CONTROL)
    spidercls = check_spider(spider, arguments)
    process = CrawlerProcess(settings)
    scrub_log_handlers(scrubber)  # Scrapy's own handler (the log file) exists from here on
    crawler = process.create_crawler(spidercls)
    crawler.signals.connect(freeze_heap, signal=signals.spider_opened)
    # A spider's custom settings may make Scrapy replace its handler when the crawl starts.
    crawler.signals.connect(lambda: scrub_log_handlers(scrubber), signal=signals.spider_opened)
    failures: list[BaseException] = []
    process.crawl(crawler, **arguments).addErrback(lambda failure: failures.append(failure.value))
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    if failures:
        error = failures[0]
        if isinstance(error, ArchiverError):
            raise error
        raise ArchiverError(f"the crawl could not start: {type(error).__name__}: {error}")
    ledger = crawler.get_extension(CrawlLedger)
    outcome = ledger.outcome() if ledger is not None else for_exit_code(EXIT_ERROR)
    return outcome, stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m archiver.process.worker", description=__doc__)
    parser.add_argument("spider")
    parser.add_argument("--arg", action="append", default=[], help="spider argument KEY=VALUE")
    parser.add_argument("--settings-file", type=Path, help="Scrapy settings as a JSON object")
    parser.add_argument("--stats-file", type=Path, help="write the outcome and stats here")
    options = parser.parse_args(argv)
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "archiver.settings")
    stats: dict[str, Any] = {}
    try:
        overrides = _read_settings(options.settings_file)
        known = [overrides.get("ARCHIVER_DATABASE_URL"), os.environ.get("ARCHIVER_DATABASE_URL")]
        arguments = parse_pairs(options.arg, "spider argument")
        outcome, stats = crawl(options.spider, arguments, overrides, SecretScrubber(known))
    except ArchiverError as error:
        message = scrub_secrets(str(error))
        print(f"error: {message}", file=sys.stderr)
        outcome = for_exit_code(error.exit_status, message)
    if options.stats_file:
        stats["archiver/outcome"] = outcome.message
        report = {"state": "finished", "stats": stats, "outcome": outcome.as_dict()}
        write_json_atomic(options.stats_file, report)
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
