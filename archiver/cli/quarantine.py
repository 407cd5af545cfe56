"""`archiver quarantine`: the cards validation refused, listed or exported."""

from __future__ import annotations

import click
from rich import box
from rich.table import Table

from archiver.cli.common import archive, console, db_option


@click.command("quarantine")
@db_option
@click.option("--reason", help="Only cards refused for this reason (e.g. missing_date).")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1),
    default=50,
    show_default=True,
    help="How many to list, most recently seen first.",
)
@click.option(
    "--out",
    "-o",
    metavar="PATH",
    help="Export them all to this file (or - for standard output) instead of listing them.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
    help="Export format with --out.",
)
def quarantine_command(
    db: str | None, reason: str | None, limit: int, out: str | None, fmt: str
) -> None:
    """List the cards validation refused: each once, with its reasons, how many runs refused
    it, when first and last, and the page it was on.

    \b
    Examples:
      archiver quarantine
      archiver quarantine --reason missing_date
      archiver quarantine --out refused.csv

    Reasons: missing_url, invalid_url, missing_title, missing_date, unparseable_date,
    implausible_date. A refused card is never stored as a release; fix the normaliser, then
    `archiver reparse` the run that saw it.
    """
    if out is not None:
        from archiver.config import database_url
        from archiver.export.quarantine import export_refusals

        written = export_refusals(database_url(db), out, fmt=fmt, reason=reason)
        if out != "-":
            console.print(f"exported {written} refused cards to [bold]{out}[/bold]")
        return
    from archiver.db.quarantine import refusal_count, refusals

    with archive(db) as (_url, engine), engine.connect() as connection:
        rows = list(refusals(connection, reason=reason, limit=limit))
        total = refusal_count(connection)
    if not rows:
        console.print("no refused card" + (f" for {reason}" if reason else "") + ": nothing lost")
        return
    table = Table(box=box.SIMPLE_HEAD, title=f"{len(rows)} of {total} refused cards (UTC)")
    for column in ("reasons", "runs", "first seen", "last seen"):
        table.add_column(column, no_wrap=True)
    for column in ("card", "page"):
        table.add_column(column, overflow="fold")
    for row in rows:
        card = row.url or f"{row.title!r} ({row.date!r})"
        table.add_row(
            ", ".join(row.reasons),
            str(row.times_seen),
            f"{row.first_seen_at:%Y-%m-%d %H:%M}",
            f"{row.last_seen_at:%Y-%m-%d %H:%M}",
            card,
            row.page_url or "",
        )
    console.print(table)
