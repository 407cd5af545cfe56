"""`archiver crawl`: one crawl, in its own process, with live progress and a closing summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.live import Live
from rich.text import Text

from archiver.cli.common import (
    console,
    data_dir_option,
    db_option,
    err_console,
    parse_pairs,
    stats_table,
)
from archiver.config import mask_url
from archiver.crawl import EXIT_OK, run_crawl


def _progress_line(stats: dict[str, Any]) -> Text:
    return Text.assemble(
        ("crawling ", "bold"),
        f"pages {stats.get('archiver/listing_pages', 0)}  ",
        f"items {stats.get('item_scraped_count', 0)}  ",
        f"new {stats.get('archiver/store/new', 0)}  ",
        f"refused {stats.get('archiver/invalid', 0)}",
    )


@click.command("crawl")
@click.argument("spider")
@click.option(
    "-a",
    "--arg",
    "spider_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Spider argument, repeatable: country=syria, issue=death-penalty, "
    "start_page=3, max_pages=2, base_url=http://127.0.0.1:8000.",
)
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Scrapy/archiver setting for this run, repeatable (e.g. -s DOWNLOAD_DELAY=2).",
)
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
    type=float,
    metavar="SECONDS",
    help="End the crawl if it runs longer than this (it is recorded as interrupted).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Read every listing page, even when the archive already holds this listing "
    "(default: incremental, stopping at the first page with nothing new or edited).",
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
    quiet: bool,
    stats_file: Path | None,
) -> None:
    """Run one crawl of SPIDER and store what it finds.

    \b
    Examples:
      archiver crawl amnestyusa -a country=syria
      archiver crawl amnestyusa -a issue=death-penalty -a max_pages=3 -o dp.jsonl

    The crawl runs in its own process (so this command can be called again and again, from a
    script or a scheduler); its log goes to data/logs/. The exit status is 0 when the crawl
    went well, 3 when pages answered but no item could be parsed (the site's markup changed),
    4 when it was interrupted, 2 for bad arguments and 1 for other failures.

    A listing the archive already holds is crawled incrementally: pagination stops after the
    first page with nothing new or edited (`--full` reads every page). Every listing page
    fetched is kept in data/warc/ (see `archiver reparse`). `--stats-file` keeps the outcome
    and Scrapy's final stats as JSON for a script to read.
    """
    args = parse_pairs(spider_args, "-a/--arg")
    extra: dict[str, Any] = parse_pairs(settings, "-s/--set")
    if full:
        extra["ARCHIVER_INCREMENTAL"] = "off"
    if output is not None:
        if not output.parent.exists():
            raise click.BadParameter(f"folder {output.parent} does not exist", param_hint="-o")
        fmt = {
            ".jsonl": "jsonlines",
            ".jl": "jsonlines",
            ".json": "json",
            ".csv": "csv",
            ".xml": "xml",
        }.get(output.suffix.lower())
        if fmt is None:
            raise click.BadParameter("use a .jsonl, .json, .csv or .xml file", param_hint="-o")
        extra["FEEDS"] = {str(output.absolute()): {"format": fmt, "overwrite": True}}
    if stats_file is not None and not stats_file.absolute().parent.exists():
        raise click.BadParameter(
            f"folder {stats_file.absolute().parent} does not exist", param_hint="--stats-file"
        )
    _check_spider(spider, args)
    if db:
        console.print(f"database: {mask_url(db)}")
    with (
        Live(
            Text("starting crawl…"),
            console=console,
            transient=True,
            auto_refresh=True,
            refresh_per_second=4,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        if not quiet
        else _NoLive() as live
    ):
        result = run_crawl(
            spider,
            args,
            db_url=db,
            data_dir=data_dir,
            settings=extra,
            timeout=timeout,
            on_progress=lambda stats: live.update(_progress_line(stats)),
        )
    if result.stats:
        console.print(stats_table(result.stats))
    console.print(f"log: {result.log_path}  ({result.duration:.1f} s)")
    if stats_file is not None:
        from archiver.status import jsonable, write_json_atomic  # loads Scrapy: only when asked

        write_json_atomic(
            stats_file,
            {
                "exit_status": result.returncode,
                "outcome": result.outcome,
                "log": str(result.log_path),
                "duration_seconds": round(result.duration, 3),
                "stats": jsonable(result.stats),
            },
        )
    if output is not None and result.returncode == EXIT_OK:
        console.print(f"items written to {output}")
    if result.returncode != EXIT_OK:
        err_console.print(
            f"[red]crawl failed[/red]: {result.outcome}"
            + (f" ({result.error})" if result.error and result.error != result.outcome else "")
        )
        raise SystemExit(result.returncode)


class _NoLive:
    def __enter__(self) -> _NoLive:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, *args: object) -> None:
        return None


def _check_spider(spider: str, args: dict[str, str]) -> None:
    """Refuse an unknown spider or bad arguments here, before a process is started."""
    import os

    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    from archiver.listing import ArgumentError

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "archiver.settings")
    loader = SpiderLoader.from_settings(get_project_settings())
    try:
        spidercls = loader.load(spider)
    except KeyError:
        known = ", ".join(loader.list())
        raise click.UsageError(f"unknown spider {spider!r} (known: {known})") from None
    check = getattr(spidercls, "check_arguments", None)
    if check is not None:
        try:
            check(**args)
        except ArgumentError as error:
            raise click.UsageError(str(error)) from None


COMMANDS = [crawl_command]
