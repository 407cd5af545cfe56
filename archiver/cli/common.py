"""Small pieces every command shares: the console, option parsing, the crawl summary table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def parse_pairs(values: Iterable[str], what: str) -> dict[str, str]:
    """`key=value` options into a dict, with a clear error for anything else."""
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=what)
        pairs[key.strip()] = rest
    return pairs


def stats_table(stats: dict[str, Any], title: str = "Crawl summary") -> Table:
    """The closing summary of a crawl: pages, items, storage counts, refusals, types."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")

    def row(label: str, key: str) -> None:
        if key in stats:
            table.add_row(label, str(stats[key]))

    row("listing pages read", "archiver/listing_pages")
    row("pages without cards", "archiver/pages_without_cards")
    row("cards found", "archiver/cards")
    row("items valid", "archiver/valid")
    row("new releases", "archiver/store/new")
    row("updated releases", "archiver/store/updated")
    row("unchanged releases", "archiver/store/unchanged")
    row("items refused (quarantined)", "archiver/invalid")
    for key in sorted(stats):
        if key.startswith("archiver/invalid/"):
            table.add_row(f"  refused: {key.removeprefix('archiver/invalid/')}", str(stats[key]))
    for key in sorted(stats):
        if key.startswith("archiver/type/unknown/"):
            table.add_row(
                f"  unknown label: {key.removeprefix('archiver/type/unknown/')}", str(stats[key])
            )
    row("errors logged", "log_count/ERROR")
    row("run id", "archiver/run_id")
    row("finish reason", "finish_reason")
    row("outcome", "archiver/outcome")
    return table
