"""`archiver enrich`: read the pages of releases already in the archive (full text backfill)."""

from __future__ import annotations

from pathlib import Path

import click

from archiver.cli.common import (
    DURATION,
    console,
    data_dir_option,
    db_option,
    ended,
    err_console,
    exit_codes_epilog,
    settings_option,
    stats_table,
)
from archiver.config import database_url, parse_pairs
from archiver.outcome import EXIT_OK


@click.command("enrich", epilog=exit_codes_epilog())
@click.option(
    "--since",
    metavar="YYYY-MM-DD",
    help="Only releases published on or after this day. Example: --since 2024-01-01",
)
@click.option(
    "--facet",
    "facets",
    multiple=True,
    metavar="FILTER",
    help="Only releases seen under this listing filter (repeatable: any of them)."
    " Example: --facet country=syria",
)
@click.option(
    "--limit", type=click.IntRange(min=1), help="Read at most this many pages, newest first."
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Read every selected page that is not gone, not only those due: finds pages edited on"
    " the site while their listing card stayed the same (unchanged pages answer 304).",
)
@click.option("--source", default="amnestyusa", show_default=True, help="Releases of this source.")
@click.option(
    "--base-url",
    metavar="URL",
    help="Fetch from this host instead of the source's own (a local copy: `archiver serve-demo`).",
)
@settings_option("for this run (e.g. -s DOWNLOAD_DELAY=2)")
@db_option
@data_dir_option(" for logs and archived pages")
@click.option(
    "--timeout",
    type=DURATION,
    metavar="DURATION",
    help="End the run if it takes longer than this: 90s, 15m, 2h (exit 4).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress display, only the summary.")
@click.option(
    "--stats-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the outcome and Scrapy's final stats to this JSON file.",
)
def enrich_command(
    since: str | None,
    facets: tuple[str, ...],
    limit: int | None,
    refresh: bool,
    source: str,
    base_url: str | None,
    settings: tuple[str, ...],
    db: str | None,
    data_dir: Path | None,
    timeout: float | None,
    quiet: bool,
    stats_file: Path | None,
) -> None:
    """Read the own page of releases already archived: body text, dates, tags, attachments.

    A page is read when it never was, when its last read failed, or when the release was edited
    on the listing since; pages read before are asked for with their ETag, so an unchanged one
    costs a 304. Each field records the extractor that found it, and where the page disagrees
    with the listing (date, title, summary) the release says so. `archiver crawl --details`
    does the same for the releases a crawl sees; this command backfills the rest.

    \b
    Examples:
      archiver enrich --limit 50
      archiver enrich --facet country=syria --since 2024-01-01
      archiver enrich --refresh --since 2025-01-01
      archiver search "unlawful killings"
    """
    from archiver.db.archive import missing_archive
    from archiver.errors import ArchiveNotFoundError
    from archiver.process.crawl import CrawlJob, crawl_job

    url = database_url(db, data_dir)
    missing = missing_archive(url)
    if missing is not None:
        raise ArchiveNotFoundError(f"{missing} (crawl first, e.g. `archiver demo`)")
    arguments = {
        "source": source,
        "since": since or "",
        "facet": ";".join(facets),
        "limit": str(limit or ""),
        "refresh": "1" if refresh else "",
        "base_url": base_url or "",
    }
    job = CrawlJob(
        "enrich",
        arguments={key: value for key, value in arguments.items() if value},
        settings=dict(parse_pairs(settings, "-s/--set")),
        db_url=url,
        data_dir=data_dir,
        timeout=timeout,
        stats_file=stats_file,
    )
    result = crawl_job(job)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning[/yellow]: {warning}")
    if result.stats and not quiet:
        console.print(stats_table(result.stats, title="Release pages"))
    elif result.stats:
        console.print(result.message)
    if result.returncode != EXIT_OK:
        err_console.print(ended("enrich", result.outcome.status, result.message))
        raise SystemExit(result.returncode)
