"""`archiver reparse`: run today's extractors and pipelines over archived pages, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from archiver.cli.common import (
    console,
    data_dir_option,
    db_option,
    ended,
    err_console,
    exit_codes_epilog,
    settings_option,
    stats_table,
)
from archiver.config import mask_url, parse_pairs
from archiver.outcome import EXIT_OK


@click.command("reparse", epilog=exit_codes_epilog())
@click.option("--run", "run_id", type=int, metavar="ID", help="Reparse the pages this run fetched.")
@click.option(
    "--since",
    metavar="DATE",
    help="Reparse every page fetched since this date (2026-11-29) or ISO time, UTC.",
)
@settings_option("for this run (e.g. -s ARCHIVER_EXTRACT_LAYOUTS=my.module.LAYOUTS)")
@db_option
@data_dir_option(" holding warc/ and logs/")
def reparse_command(
    run_id: int | None,
    since: str | None,
    settings: tuple[str, ...],
    db: str | None,
    data_dir: Path | None,
) -> None:
    """Parse archived listing pages again with the current extractors, without the network.

    \b
    Examples:
      archiver reparse --run 42          # the run that failed with "no items parsed"
      archiver reparse --since 2026-11-01

    Items go through the same pipelines as a crawl and are stored in a new run (trigger
    `reparse`); an archived page never overwrites newer values. The exit status is the
    crawl's (below): 3 when the archived pages still yield no item.
    """
    from archiver.process.reparse import run_reparse

    extra: dict[str, Any] = parse_pairs(settings, "-s/--set")
    if db:
        console.print(f"database: {mask_url(db)}")
    result = run_reparse(run_id=run_id, since=since, db_url=db, data_dir=data_dir, settings=extra)
    if result.stats:
        console.print(stats_table(result.stats, title="Reparse summary"))
    console.print(f"log: {result.log_path}  ({result.duration:.1f} s)")
    if result.returncode != EXIT_OK:
        err_console.print(ended("reparse", result.outcome.status, result.message))
        raise SystemExit(result.returncode)
