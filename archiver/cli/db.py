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
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from archiver.cli.common import archive, console, db_option, styled_status
from archiver.config import database_url, mask_url
from archiver.errors import ArchiverError


def _arguments(run: Any) -> str:
    # base_url is the same for every run of a site (and long): the filters are what differ.
    return " ".join(f"{k}={v}" for k, v in (run.arguments or {}).items() if k != "base_url")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _pairs(arguments: dict[str, Any] | None) -> str:
    return " ".join(f"{key}={value}" for key, value in (arguments or {}).items())


def _reason(run: Any) -> str:
    # "finished / ok" says nothing; other reasons (limits, errors) are worth a look, without
    # repeating the status they start with.
    reason = run.finish_reason or ""
    if reason in ("ok", run.status):
        return ""
    return reason.removeprefix(f"{run.status}: ").removeprefix("ok; ")


def _status(run: Any) -> str:
    return styled_status(run.status)


def _duration(start: datetime | None, end: datetime | None) -> str:
    """How long a run took, in at most 5 characters.

    >>> from datetime import timedelta
    >>> t = datetime(2026, 1, 1)
    >>> [_duration(t, t + timedelta(seconds=s)) for s in (0.42, 42, 187, 7380)]
    ['0.4s', '42s', '3m07s', '2h03m']
    """
    if not start or not end:
        return ""
    elapsed = (end - start).total_seconds()
    if elapsed < 10:
        return f"{elapsed:.1f}s"  # a short crawl of a few pages: 0m00s would hide it
    seconds = int(elapsed)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _natural_widths(names: list[str], rows: list[list[str]]) -> dict[str, int]:
    """Each column's width with nothing cut: its longest cell or its header (markup not counted).

    The finish reason wraps, so it counts with at most 24 characters of its longest cell.
    """
    widths = {}
    for index, name in enumerate(names):
        cells = [Text.from_markup(row[index]).cell_len for row in rows]
        longest = max(cells, default=0)
        widths[name] = max(len(name), min(24, longest) if name == "reason" else longest)
    return widths


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
    from archiver.db.archive import upgrade_archive

    url = database_url(db)
    before, target = upgrade_archive(url, revision)
    if before == target:
        console.print(f"{mask_url(url)}: already at schema revision {target}")
    else:
        console.print(f"{mask_url(url)}: upgraded from {before or 'empty'} to {target}")


Column = tuple[str, str, Callable[[Any], str]]


def _run_columns(runs: list[Any]) -> list[Column]:
    """The columns of `archiver runs`: only those that say something, so the table fits."""
    columns: list[Column] = [("run", "right", lambda run: str(run.id))]
    if len({run.spider for run in runs}) > 1:
        columns.append(("spider", "left", lambda run: run.spider))
    columns += [
        ("started", "left", lambda run: _when(run.started_at)),
        ("took", "right", lambda run: _duration(run.started_at, run.finished_at)),
        ("status", "left", _status),
    ]
    if any(getattr(run, "health", None) for run in runs):
        columns.append(
            ("health", "left", lambda run: f"[red]{run.health}[/red]" if run.health else "")
        )
    columns += [
        ("pages", "right", lambda run: str(run.pages)),
        ("seen", "right", lambda run: str(run.items_seen)),
        ("new", "right", lambda run: str(run.items_new)),
        ("upd", "right", lambda run: str(run.items_updated)),
        ("same", "right", lambda run: str(run.items_unchanged)),
    ]
    # Refusals, errors and unusual reasons are what to look into: shown when any run has some,
    # so the common table fits an 80-column terminal.
    if any(run.items_invalid for run in runs):
        columns.append(("inv", "right", lambda run: str(run.items_invalid)))
    if any(run.errors for run in runs):
        columns.append(("err", "right", lambda run: str(run.errors)))
    if any(run.trigger != "manual" for run in runs):
        columns.append(("trigger", "left", lambda run: run.trigger))
    # Last: the filters, long and cut with "…" to the room the terminal leaves (the counts stay
    # on screen), then the reason, which wraps.
    if any(_arguments(run) for run in runs):
        columns.append(("arguments", "left", _arguments))
    if any(_reason(run) for run in runs):
        columns.append(("reason", "left", _reason))
    return columns


def _runs_table(runs: list[Any], *, title: str, width: int) -> Table:
    """The runs as a table `width` columns wide, counts and dates never cut."""
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=0,
    )
    columns = _run_columns(runs)
    rows = [[cell(run) for _, _, cell in columns] for run in runs]
    natural = _natural_widths([name for name, _, _ in columns], rows)
    # Columns are one space apart (the box's column separator, no padding).
    room = width - sum(size + 1 for name, size in natural.items() if name != "arguments")
    arguments_width = max(4, min(40, room))
    for name, justify, _ in columns:
        # Every other column keeps its full width: a date cut to "2026-11-2…", a duration to
        # "0m0…" or a status to "fini" would say nothing.
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=name != "reason",
            min_width=min(natural[name], arguments_width) if name == "arguments" else natural[name],
            max_width=arguments_width if name == "arguments" else None,
            overflow="fold" if name == "reason" else "ellipsis",
        )
    for row in rows:
        table.add_row(*row)
    return table


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
@click.option(
    "--id",
    "run_id",
    type=click.IntRange(1),
    metavar="N",
    help="Show run N alone, with its whole reason, missed pages and health flags.",
)
def runs_command(db: str | None, limit: int, spider: str | None, run_id: int | None) -> None:
    """Show recent crawl runs with their counts and status.

    A run whose process died (killed, machine rebooted) shows as `interrupted`: what it stored
    before dying stays in the archive. Times are UTC. `--id N` shows one run (the one a
    scheduler notification names) with everything its row says about how it ended.
    """
    from archiver.db.runs import get_run, list_runs

    with archive(db) as (url, engine), engine.connect() as connection:
        if run_id is not None:
            run = get_run(connection, run_id)
            if run is None:
                raise ArchiverError(f"no run {run_id} in {mask_url(url)}")
            runs = [run]
        else:
            runs = list_runs(connection, limit=limit, spider=spider)
    if run_id is not None:
        _show_run(runs[0], url)
        return
    spiders = {run.spider for run in runs}
    only = f"{next(iter(spiders))} runs" if len(spiders) == 1 else "Crawl runs"
    table = _runs_table(runs, title=f"{only} in {mask_url(url)} (UTC)", width=console.width)
    console.print(table)
    if not runs:
        console.print("no runs yet: try `archiver demo` or `archiver crawl amnestyusa`")


def _show_run(run: Any, url: str) -> None:
    """One run: the table's row, then what did not fit in it."""
    table = _runs_table([run], title=f"Run {run.id} in {mask_url(url)} (UTC)", width=console.width)
    console.print(table)
    arguments = " ".join(f"{k}={v}" for k, v in (run.arguments or {}).items())
    lines = [
        ("spider", f"{run.spider} {arguments}".strip()),
        ("trigger", run.trigger),
        ("node", f"{run.node or 'unknown'}, job {run.job_id}" if run.job_id else ""),
        ("started", _when(run.started_at)),
        ("finished", _when(run.finished_at)),
        ("reason", escape(run.finish_reason or "")),
        ("health", f"[red]{run.health}[/red]" if run.health else "no flags"),
    ]
    for label, value in lines:
        if value:
            console.print(f"[bold]{label}:[/bold] {value}")
    for page in run.missed_pages or []:
        cause, where = page.get("cause"), escape(str(page.get("url")))
        console.print(f"[bold]missed:[/bold] page {page.get('page')} ({cause}): {where}")


@click.command("stats")
@db_option
@click.option("--source", help="Only releases of this source (e.g. amnestyusa).")
@click.option(
    "--top", type=click.IntRange(1), default=20, show_default=True, help="How many facets to list."
)
def stats_command(db: str | None, source: str | None, top: int) -> None:
    """Show what the archive holds: totals by type, by publication year and by facet."""
    from archiver.db.stats import archive_stats

    with archive(db) as (url, engine):
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


@click.command("facets")
@db_option
@click.option("--source", help="Only releases of this source (e.g. amnestyusa).")
def facets_command(db: str | None, source: str | None) -> None:
    """List the filter values the archive has seen, with their releases, and how completely each
    crawled listing has been read (complete, or a gap the next crawl heals).

    
    Example:
      archiver facets

    A value you crawl with that is not listed here matched nothing on the site so far
    (a crawl with it ends with exit status 6).
    """
    from archiver.db.coverage import listing_coverage
    from archiver.db.stats import filter_values

    with archive(db) as (_url, engine), engine.connect() as connection:
        values = filter_values(connection, source=source)
        coverage = listing_coverage(connection)
    table = Table(title="Filter values seen", title_justify="left", box=box.SIMPLE_HEAD)
    for column, justify in (("filter", "left"), ("value", "left"), ("releases", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for value in values:
        table.add_row(value.key, value.value, str(value.releases))
    console.print(table if values else "no filtered listing crawled yet")
    listings = Table(title="Listings crawled", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("source", "listing", "read"):
        listings.add_column(column, overflow="fold")
    for listing_source, facet, state in coverage:
        if source and listing_source != source:
            continue
        if state.has_gap:
            read = f"[yellow]gap from page {state.gap_from_page}[/yellow] ({state.gap_reason})"
        else:
            read = "complete" if state.ever_complete else "never to its end"
        listings.add_row(listing_source, facet or "(unfiltered)", read)
    if coverage:
        console.print(listings)
