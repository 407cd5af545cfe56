"""`archiver crawl`: one crawl, in its own process, with live progress and a closing summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.live import Live
from rich.text import Text

from archiver.cli.common import (
    DURATION,
    console,
    data_dir_option,
    db_option,
    ended,
    err_console,
    exit_codes_epilog,
    settings_option,
    spider_args_option,
    stats_table,
)
from archiver.config import mask_url, parse_pairs
from archiver.outcome import EXIT_OK
from archiver.process.crawl import CrawlJob, crawl_job


def _progress_line(stats: dict[str, Any]) -> Text:
    return Text.assemble(
        ("crawling ", "bold"),
        f"pages {stats.get('archiver/listing_pages', 0)}  ",
        f"items {stats.get('item_scraped_count', 0)}  ",
        f"new {stats.get('archiver/store/new', 0)}  ",
        f"refused {stats.get('archiver/invalid', 0)}",
        f"  release pages {stats.get('archiver/details/tried', 0)}"
        if "archiver/details/due" in stats
        else "",
    )


@click.command("crawl", epilog=exit_codes_epilog())
@click.argument("spider")
@spider_args_option(
    "country=syria, issue=death-penalty, start_page=3, max_pages=2,"
    " base_url=http://127.0.0.1:8000, incremental=off"
)
@settings_option("for this run (e.g. -s DOWNLOAD_DELAY=2)")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the items to this feed file (.jsonl, .json, .csv), overwritten.",
)
@db_option
@data_dir_option(" for logs")
@click.option(
    "--timeout",
    type=DURATION,
    metavar="DURATION",
    help="End the crawl if it runs longer than this: 90s, 15m, 2h (it is recorded as"
    " interrupted, exit 4); 0 = no limit [default: no limit].",
)
@click.option(
    "--full",
    is_flag=True,
    help="Read every listing page, even when the archive already holds this listing "
    "(default: incremental, stopping at the first page with nothing new or edited).",
)
@click.option(
    "--details",
    is_flag=True,
    help="Also read the page of every release that is new, edited on the listing, never read,"
    " or whose last read failed: full text, dates, tags, attachments (ARCHIVER_DETAILS).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress display, only the summary.")
@click.option(
    "--stats-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the outcome and Scrapy's final stats to this JSON file (for scripts), "
    "whether the crawl went well or not.",
)
def crawl_command(
    spider: str,
    spider_args: tuple[str, ...],
    settings: tuple[str, ...],
    output: Path | None,
    db: str | None,
    data_dir: Path | None,
    timeout: float | None,
    full: bool,
    details: bool,
    quiet: bool,
    stats_file: Path | None,
) -> None:
    """Run one crawl of SPIDER and store what it finds.

    \b
    Examples:
      archiver crawl amnestyusa -a country=syria
      archiver crawl amnestyusa -a issue=death-penalty -a max_pages=3 -o dp.jsonl
      archiver crawl amnestyusa -a country=syria --details

    The crawl runs in its own process (so this command can be called again and again, from a
    script or a scheduler); its log goes to data/logs/. The exit status says how it ended
    (below).

    A listing the archive already holds is crawled incrementally: pagination stops after the
    first page with nothing new or edited (`--full` reads every page). Every listing page
    fetched is kept in data/warc/ (see `archiver reparse`). `--details` also reads the releases'
    own pages once the listing is read (`archiver enrich` backfills the rest); a release page
    that fails never fails the run and is tried again next time. `--stats-file` keeps the
    outcome and Scrapy's final stats as JSON for a script to read.
    """
    job = CrawlJob(
        spider,
        arguments=parse_pairs(spider_args, "-a/--arg"),
        settings=dict(parse_pairs(settings, "-s/--set"))
        | ({"ARCHIVER_DETAILS": "1"} if details else {}),
        output=output,
        full=full,
        db_url=db,
        data_dir=data_dir,
        timeout=timeout,
        stats_file=stats_file,
    )
    if db:
        console.print(f"database: {mask_url(db)}")
    live = _NoLive() if quiet else _live()
    # The crawl process warns about settings it does not know; say so even if it then fails.
    with live:
        result = crawl_job(job, on_progress=lambda stats: live.update(_progress_line(stats)))
    for warning in result.warnings:
        err_console.print(f"[yellow]warning[/yellow]: {warning}")
    if result.stats:
        console.print(stats_table(result.stats))
    if result.log_path is not None and result.log_path.exists():
        console.print(f"log: {result.log_path}  ({result.duration:.1f} s)")
    if output is not None and result.returncode == EXIT_OK:
        console.print(f"items written to {output}")
    if result.returncode != EXIT_OK:
        err_console.print(ended("crawl", result.outcome.status, result.message))
        raise SystemExit(result.returncode)


def _live() -> Live:
    return Live(
        Text("starting crawl…"),
        console=console,
        transient=True,
        auto_refresh=True,
        refresh_per_second=4,
        redirect_stdout=False,
        redirect_stderr=False,
    )


class _NoLive:
    def __enter__(self) -> _NoLive:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, *args: object) -> None:
        return None
