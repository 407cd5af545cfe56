"""`archiver search`: releases ranked by how well title, summary and body match some words."""

from __future__ import annotations

import json
from typing import Any

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from archiver.cli.common import archive, console, db_option, release_filter_options


@click.command("search")
@click.argument("words")
@db_option
@release_filter_options
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Hits to show."
)
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many hits.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit, for scripts.")
def search_command(
    words: str,
    db: str | None,
    sources: tuple[str, ...],
    countries: tuple[str, ...],
    issues: tuple[str, ...],
    types: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Find releases whose title, summary or body (read with --details / `archiver enrich`)
    match WORDS, best first, with a snippet of each match.

    Every word must match (stemmed: "killings" finds "killing"); "quoted words" must match as
    a phrase. A word in the title counts most, then the summary, then the body. SQLite ranks
    with FTS5's bm25, PostgreSQL with ts_rank_cd.

    \b
    Examples:
      archiver search "unlawful killings"
      archiver search '"fair trial" executions' --country iran --since 2020
      archiver search detention --type report --json
    """
    from archiver.db.releases import stored_facets, where_clauses
    from archiver.db.search import search_releases
    from archiver.export import ExportFilters

    filters = ExportFilters.parse(
        sources=sources,
        countries=countries,
        issues=issues,
        types=types,
        since=since,
        until=until,
    )
    with archive(db) as (_url, engine), engine.connect() as connection:
        facets = stored_facets(connection) if countries or issues else None
        hits = search_releases(
            connection,
            words,
            where_clauses(filters, facets),
            limit=limit,
            offset=offset,
            marks=(_OPEN, _CLOSE),
        )
    if as_json:
        _print_json(hits)
    elif hits:
        _print_table(hits)
    else:
        console.print(f"no release matches {words!r}")


def _print_json(hits: list[Any]) -> None:
    """One JSON object per hit, matched words in [brackets]."""
    for hit in hits:
        record = {
            "rank": hit.rank,
            "url": hit.url,
            "title": hit.title,
            "published_on": hit.published_on.isoformat() if hit.published_on else None,
            "type": hit.type,
            "snippet": hit.snippet.replace(_OPEN, "[").replace(_CLOSE, "]"),
            "score": hit.score,
        }
        click.echo(json.dumps(record, ensure_ascii=False))


def _print_table(hits: list[Any]) -> None:
    """Rank, date, and title + snippet + URL per hit, matched words highlighted."""
    table = Table(box=box.SIMPLE_HEAD, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("published")
    table.add_column("release", overflow="fold")
    for hit in hits:
        table.add_row(
            str(hit.rank),
            hit.published_on.isoformat() if hit.published_on else "-",
            f"[bold]{escape(hit.title)}[/bold]\n{_highlight(hit.snippet)}\n[dim]{hit.url}[/dim]",
        )
    console.print(table)


#: Marks around matched words in snippets: characters no release text holds.
_OPEN, _CLOSE = "\x02", "\x03"


def _highlight(snippet: str) -> str:
    """The snippet with its matched words in bold (rich markup, everything else escaped)."""
    parts = []
    for index, chunk in enumerate(snippet.replace(_CLOSE, _OPEN).split(_OPEN)):
        parts.append(f"[bold yellow]{escape(chunk)}[/bold yellow]" if index % 2 else escape(chunk))
    return "".join(parts)
