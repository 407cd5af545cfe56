"""`archiver db upgrade`, `archiver runs` and `archiver stats`: the archive database at a glance.

Each command resolves the database (`--db`, else `ARCHIVER_DATABASE_URL`, else
`sqlite:///data/archive.db`), brings its schema up to date and marks dead runs interrupted
(`archiver.db.prepare`), calls one library function and prints a table. URLs are printed with
the password masked, and database errors become one line on stderr with exit status 1.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from rich import box
from rich.table import Table

from archiver.cli.common import console, db_option, open_archive, styled_status
from archiver.config import database_url, mask_url


def _arguments(run: Any) -> str:
    # base_url is the same for every run of a site (and long): the filters are what differ.
    return " ".join(f"{k}={v}" for k, v in (run.arguments or {}).items() if k != "base_url")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _pairs(arguments: dict[str, Any] | None) -> str:
    return " ".join(f"{key}={value}" for key, value in (arguments or {}).items())


def _reason(run: Any) -> str:
    # "finished / finished" says nothing twice; other reasons (limits, errors) are worth a look.
    return "" if run.finish_reason == run.status else run.finish_reason or ""


def _status(run: Any) -> str:
    return styled_status(run.status)


def _duration(start: datetime | None, end: datetime | None) -> str:
    if not start or not end:
        return ""
    seconds = int((end - start).total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


@click.group("db")
def db_group() -> None:
    """Manage the archive database (schema migrations)."""


@db_group.command("upgrade")
@db_option
@click.option(
    "--revision", default="head", show_default=True, help="Alembic revision to upgrade to."
)
def upgrade_command(db: str | None, revision: str) -> None:
    """Create the archive's tables, or upgrade them to this version's schema.

    Every command does this automatically on first use; run it yourself to upgrade a server's
    PostgreSQL database at a moment you choose (it is safe while crawls run: they wait).
    """
    from archiver.db import upgrade
    from archiver.db.migrate import head_revision

    url = database_url(db)
    with open_archive(db, prepare=False):
        before = upgrade(url, revision)
    target = head_revision() if revision == "head" else revision
    if before == target:
        console.print(f"{mask_url(url)}: already at schema revision {target}")
    else:
        console.print(f"{mask_url(url)}: upgraded from {before or 'empty'} to {target}")


@click.command("runs")
@db_option
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="How many runs to show, newest first.",
)
@click.option("--spider", help="Only runs of this spider.")
def runs_command(db: str | None, limit: int, spider: str | None) -> None:
    """Show recent crawl runs with their counts and status.

    A run whose process died (killed, machine rebooted) shows as `interrupted`: what it stored
    before dying stays in the archive. Times are UTC.
    """
    from archiver.db.runs import list_runs

    with open_archive(db) as (url, engine):
        runs = list_runs(engine, limit=limit, spider=spider)
    # Columns only when they say something, so the table fits a terminal.
    show_trigger = any(run.trigger != "manual" for run in runs)
    show_arguments = any(_arguments(run) for run in runs)
    spiders = {run.spider for run in runs}
    only = f"{next(iter(spiders))} runs" if len(spiders) == 1 else "Crawl runs"
    table = Table(
        title=f"{only} in {mask_url(url)} (UTC)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    columns: list[tuple[str, str, Callable[[Any], str]]] = [
        ("run", "right", lambda run: str(run.id)),
    ]
    if len(spiders) > 1:
        columns.append(("spider", "left", lambda run: run.spider))
    if show_arguments:
        columns.append(
            (
                "arguments",
                "left",
                _arguments,
            )
        )
    if show_trigger:
        columns.append(("trigger", "left", lambda run: run.trigger))
    columns += [
        ("started", "left", lambda run: _when(run.started_at)),
        ("took", "right", lambda run: _duration(run.started_at, run.finished_at)),
        ("status", "left", _status),
        *(
            [("health", "left", lambda run: f"[red]{run.health}[/red]" if run.health else "")]
            if any(getattr(run, "health", None) for run in runs)
            else []
        ),
        ("pages", "right", lambda run: str(run.pages)),
        ("seen", "right", lambda run: str(run.items_seen)),
        ("new", "right", lambda run: str(run.items_new)),
        ("upd", "right", lambda run: str(run.items_updated)),
        ("same", "right", lambda run: str(run.items_unchanged)),
        ("inv", "right", lambda run: str(run.items_invalid)),
        ("err", "right", lambda run: str(run.errors)),
        ("finish reason", "left", _reason),
    ]
    # The finish reason wraps and long arguments end in "…"; the rest keeps its width (a date
    # cut to "2026-11-2…" or a status cut to "fini" would say nothing).
    widths = {"arguments": 12, "started": 16, "status": 11}
    for name, justify, _ in columns:
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=name != "finish reason",
            min_width=widths.get(name, len(name)),
            max_width=22 if name == "arguments" else None,
            overflow="fold" if name == "finish reason" else "ellipsis",
        )
    for run in runs:
        table.add_row(*(cell(run) for _, _, cell in columns))
    console.print(table)
    if not runs:
        console.print("no runs yet: try `archiver demo` or `archiver crawl amnestyusa`")


@click.command("stats")
@db_option
@click.option("--source", help="Only releases of this source (e.g. amnestyusa).")
@click.option(
    "--top", type=click.IntRange(1), default=20, show_default=True, help="How many facets to list."
)
def stats_command(db: str | None, source: str | None, top: int) -> None:
    """Show what the archive holds: totals by type, by publication year and by facet."""
    from archiver.db.stats import archive_stats

    with open_archive(db) as (url, engine):
        stats = archive_stats(engine, source=source)

    totals = Table(title=f"Archive {mask_url(url)}", show_header=False, title_justify="left")
    totals.add_column(style="bold")
    totals.add_column(justify="right")
    totals.add_row("releases", str(stats.releases))
    for name, count in stats.by_source:
        totals.add_row(f"  {name}", str(count))
    totals.add_row("published", f"{stats.first_published or '-'} … {stats.last_published or '-'}")
    totals.add_row("edited releases (versions kept)", f"{stats.edited_releases} ({stats.versions})")
    totals.add_row("invalid items kept", str(stats.invalid_items))
    totals.add_row("crawl runs", str(stats.runs))
    console.print(totals)

    for title, rows in [
        ("By type", [(kind or "(none)", count) for kind, count in stats.by_type]),
        ("By year", [(str(year) if year else "(no date)", count) for year, count in stats.by_year]),
        (f"By facet (top {top} of {len(stats.by_facet)})", stats.by_facet[:top]),
    ]:
        table = Table(title=title, title_justify="left")
        table.add_column(title.split()[1].lower())
        table.add_column("releases", justify="right")
        for label, count in rows:
            table.add_row(label, str(count))
        console.print(table)


COMMANDS = [db_group, runs_command, stats_command]
