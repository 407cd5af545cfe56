"""`archiver export`: a snapshot of the archive as CSV, JSON or JSON Lines, with its manifest.

Parses options, calls `archiver.export.export_releases` and reports. Data goes to the file (or
to stdout with `--out -`, and then nothing else does); the progress bar goes to stderr, the
summary to stdout only when the data went to a file. Every user error is one line on stderr and
exit status 1 (2 for options click itself refuses).
"""

from __future__ import annotations

from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from archiver.cli.common import console, db_option, err_console, release_filter_options
from archiver.config import database_url

#: Below this many rows a progress bar only flickers.
PROGRESS_MIN_ROWS = 50_000


@click.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "jsonl"], case_sensitive=False),
    default="csv",
    show_default=True,
    help="File format: csv (spreadsheets, R, pandas), json (one array) or jsonl (one release"
    " per line). Example: --format jsonl",
)
@click.option(
    "--out",
    "-o",
    metavar="PATH",
    help="File to write, or - for standard output (data only, no manifest) [default:"
    " data/exports/<source>_<filters>_<UTC time>.<format>]. Example: --out syria.csv",
)
@db_option
@release_filter_options
@click.option(
    "--search",
    metavar="TEXT",
    help="Only releases whose title or summary contains TEXT (case ignored; on SQLite only for"
    ' ASCII letters). Example: --search "death penalty"',
)
@click.option(
    "--seen-since",
    metavar="RUN|DATE",
    help="Only releases first seen by a crawl run after RUN (a run id: see `archiver runs` or"
    " the last manifest's archive_last_run_id), or at/after DATE (UTC)."
    " Example: --seen-since 42, --seen-since 2024-05-01",
)
@click.option(
    "--with-history",
    is_flag=True,
    help="Also export earlier values of edited releases: <stem>.history.csv beside a CSV, a"
    " nested 'versions' list in JSON. Example: --with-history",
)
@click.option(
    "--with-text",
    is_flag=True,
    help="Also export what each release's own page says (read by `crawl --details` or"
    " `enrich`): headline, body, page dates, tags, attachments, text_status, ... after the"
    " usual columns, empty when the page was never read. Example: --with-text",
)
@click.option(
    "--excel",
    is_flag=True,
    help="CSV for Excel: UTF-8 with a byte order mark and CRLF line ends. Example: --excel",
)
@click.option(
    "--sanitize/--no-sanitize",
    default=True,
    show_default=True,
    help="In CSV, put ' before values starting with = + - @ tab or CR so spreadsheets do not"
    " run them as formulas (the manifest says so). Example: --no-sanitize",
)
@click.option(
    "--datapackage",
    is_flag=True,
    help="Also write <stem>.datapackage.json (Frictionless Data Package; CSV only), checkable"
    " with `frictionless validate`. Example: --datapackage",
)
def export_command(
    fmt: str,
    out: str | None,
    db: str | None,
    sources: tuple[str, ...],
    countries: tuple[str, ...],
    issues: tuple[str, ...],
    types: tuple[str, ...],
    since: str | None,
    until: str | None,
    search: str | None,
    seen_since: str | None,
    with_history: bool,
    with_text: bool,
    excel: bool,
    sanitize: bool,
    datapackage: bool,
) -> None:
    """Export archived releases to CSV, JSON or JSON Lines, with a manifest beside the file.

    Rows are streamed (any archive size), newest first, then by URL. The manifest
    (<file>.manifest.json) records the filters, row count, date range, SHA-256 and every
    column's type and meaning. Examples:

    \b
      archiver export --country syria --since 2016-01-01
      archiver export --format jsonl --type "press release" --out releases.jsonl
      archiver export --excel --with-history --datapackage --out snapshot.csv
      archiver export --with-text --format jsonl --out releases-text.jsonl
      archiver export --format csv --seen-since 42 --out - | head
    """
    from archiver.export import ExportFilters, export_releases

    filters = ExportFilters.parse(
        sources=sources,
        countries=countries,
        issues=issues,
        types=types,
        since=since,
        until=until,
        search=search,
        seen_since=seen_since,
    )
    url = database_url(db)
    to_stdout = out == "-"
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=to_stdout,
    ) as bar:
        task = bar.add_task("exporting", total=None, visible=False)

        def progress(done: int, total: int) -> None:
            if total >= PROGRESS_MIN_ROWS:
                bar.update(task, completed=done, total=total, visible=True)

        result = export_releases(
            url,
            out,
            filters=filters,
            fmt=fmt.lower(),
            excel=excel,
            sanitize=sanitize,
            with_history=with_history,
            datapackage=datapackage,
            with_text=with_text,
            progress=None if to_stdout else progress,
        )

    if result.path is not None:
        _report(result)


def _report(result: Any) -> None:
    """The closing summary of an export to a file."""
    span = (
        f", published {result.first_published} … {result.last_published}"
        if result.first_published
        else ""
    )
    console.print(f"exported {result.rows} releases{span} to [bold]{result.path}[/bold]")
    if result.history_path is not None:
        console.print(f"  history: {result.history_rows} versions in {result.history_path}")
    if result.neutralized:
        console.print(
            f"  {result.neutralized} formula-like values prefixed with ' (see the manifest;"
            " --no-sanitize keeps them exact)"
        )
    console.print(f"  manifest: {result.manifest_path}")
    if result.datapackage_path is not None:
        console.print(f"  data package: {result.datapackage_path}")
