"""`archiver feed`: an Atom feed of the releases the archive found last, for any export filter."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from archiver.cli.common import archive, console, db_option, release_filter_options


@click.command("feed")
@db_option
@release_filter_options
@click.option("--search", metavar="TEXT", help="Only releases whose title or summary has TEXT.")
@click.option(
    "--seen-since",
    metavar="RUN|DATE",
    help="Only releases first seen by a run after RUN, or at/after DATE (UTC).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="Entries in the feed: the releases found last.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write the feed to [default: standard output].",
)
@click.option(
    "--feed-url",
    metavar="URL",
    default="",
    help="Where the feed will be published (its rel=self link) [default: no such link].",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="The page the feed stands for (its rel=alternate link) [default: the newsroom's origin].",
)
def feed_command(
    db: str | None,
    sources: tuple[str, ...],
    countries: tuple[str, ...],
    issues: tuple[str, ...],
    types: tuple[str, ...],
    since: str | None,
    until: str | None,
    search: str | None,
    seen_since: str | None,
    limit: int,
    out: Path | None,
    feed_url: str,
    base_url: str | None,
) -> None:
    """Print (or write with -o) an Atom feed of the releases the archive found last.

    Entries are newest first seen first; a release edited since shows as updated under the same
    id (its canonical URL). The same archive gives the same bytes, so a cron job can rewrite a
    published file and readers only see what changed. The web view serves the same feed at
    /feed.atom?country=...&type=...

    \b
    Examples:
      archiver feed --country syria > syria.atom
      archiver feed --type report --since 2020 --limit 100 -o reports.atom \\
          --feed-url https://example.org/reports.atom
    """
    from archiver.db.releases import read_snapshot
    from archiver.export.atom import atom_feed
    from archiver.export.filters import ExportFilters
    from archiver.sites import SOURCES

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
    if base_url is None:
        names = filters.sources or tuple(SOURCES)
        base_url = SOURCES[names[0]].canonical_origin
    with archive(db) as (_url, engine), read_snapshot(engine) as connection:
        xml = atom_feed(connection, filters, base_url=base_url, feed_url=feed_url, limit=limit)
    if out is None:
        sys.stdout.buffer.write(xml)
        sys.stdout.buffer.flush()
        return
    count = xml.count(b"<entry>")
    entries = f"{count} {'entry' if count == 1 else 'entries'}"
    if out.is_file() and out.read_bytes() == xml:
        # Left untouched: its modification time keeps telling web servers nothing changed.
        console.print(f"[bold]{out}[/bold] unchanged ({entries})")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside it, then renamed: whoever serves the file never reads half a feed.
    partial = out.with_name(f".{out.name}.partial")
    partial.write_bytes(xml)
    partial.replace(out)
    console.print(f"wrote {entries} to [bold]{out}[/bold]")
