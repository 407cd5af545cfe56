"""Small pieces every command shares: the console, options, the archive, the summary table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from archiver.config import database_url
from archiver.durations import parse_duration
from archiver.errors import ArgumentError

if TYPE_CHECKING:
    from sqlalchemy import Engine

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

# How each crawl-run status is shown in tables (rich styles).
STATUS_STYLE = {
    "finished": "green",
    "running": "cyan",
    "partial": "yellow",
    "failed": "red",
    "interrupted": "yellow",
    "skipped": "dim",
}


def exit_codes_epilog() -> str:
    """The exit-status table (`archiver.outcome.EXIT_CODES`) for a command's --help."""
    from archiver.outcome import EXIT_CODES

    lines = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    return f"\b\nExit status:\n{lines}"


def ended(what: str, status: str, message: str) -> str:
    """`crawl partial: 1 listing page ...`: one line saying how something ended, in colour.

    >>> ended("crawl", "interrupted", "interrupted: Ctrl-C received")
    '[yellow]crawl interrupted[/yellow]: Ctrl-C received'
    """
    style = STATUS_STYLE.get(status, "red")
    return f"[{style}]{what} {status}[/{style}]: {message.removeprefix(f'{status}: ')}"


def styled_status(status: str) -> str:
    """A run status with its colour, as rich markup."""
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/{style}]" if style else status


class Duration(click.ParamType):
    """`90s`, `15m`, `6h`, `1d` (or plain seconds) on the command line, as seconds."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration(str(value))
        except ArgumentError as error:
            self.fail(str(error), param, ctx)


DURATION = Duration()


def db_option(function: F) -> F:
    """The `--db URL` option every database command takes."""
    return click.option(
        "--db",
        "db",
        metavar="URL",
        envvar="ARCHIVER_DATABASE_URL",
        help="Database URL (sqlite:///path.db or postgresql://user:pass@host/db)"
        " [default: $ARCHIVER_DATABASE_URL, else sqlite:///data/archive.db].",
    )(function)


def spider_args_option(examples: str) -> Callable[[F], F]:
    """The repeatable `-a KEY=VALUE` spider argument option (Scrapy's own spelling)."""
    return click.option(
        "-a",
        "--arg",
        "spider_args",
        multiple=True,
        metavar="KEY=VALUE",
        help=f"Spider argument, repeatable: {examples}.",
    )


def settings_option(purpose: str) -> Callable[[F], F]:
    """The repeatable `-s NAME=VALUE` setting option (docs/settings.md lists them)."""
    return click.option(
        "-s",
        "--set",
        "settings",
        multiple=True,
        metavar="NAME=VALUE",
        help=f"Scrapy/archiver setting {purpose}, repeatable; see docs/settings.md.",
    )


def layout_option(function: F) -> F:
    """`--layout`: which markup generation of the bundled site to serve."""
    from archiver.demo.render import LAYOUT_NAMES

    return click.option(
        "--layout",
        type=click.Choice(LAYOUT_NAMES),
        default="current",
        show_default=True,
        help="Which markup generation of the site to serve (redesign: a made-up one that no"
        " shipped layout matches, read by the structural fallback).",
    )(function)


def data_dir_option(purpose: str) -> Callable[[F], F]:
    """The `--data-dir` option, with what this command keeps there (`purpose`) in its help."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="ARCHIVER_DATA_DIR",
        help=f"Data folder{purpose} [default: ./data].",
    )


@contextmanager
def archive(db: str | None, *, create: bool = False) -> Iterator[tuple[str, Engine]]:
    """The archive's URL and engine (`archiver.db.open_archive`), disposed afterwards.

    Only commands that write a new archive pass `create`; the others say there is none.
    """
    from archiver.db import open_archive

    url = database_url(db)
    engine = open_archive(url, create=create)
    try:
        yield url, engine
    finally:
        engine.dispose()


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
    row("pages read by the structural fallback", "archiver/layout/fallback")
    if by_structure := int(stats.get("archiver/found/structure", 0)):
        found = int(stats.get("archiver/found/selector", 0)) + by_structure
        fields = sorted(
            (key.removeprefix("archiver/found/structure/"), value)
            for key, value in stats.items()
            if key.startswith("archiver/found/structure/")
        )
        table.add_row(
            "fields found by structure",
            f"{by_structure} of {found} ("
            + ", ".join(f"{name} {value}" for name, value in fields)
            + ")",
        )
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
    row("release pages due", "archiver/details/due")
    row("  read for the first time", "archiver/details/enriched")
    row("  text changed (version kept)", "archiver/details/changed")
    row("  text unchanged", "archiver/details/unchanged")
    row("  not modified (304)", "archiver/details/not_modified")
    row("  moved (redirected)", "archiver/details/moved")
    row("  gone (404/410)", "archiver/details/gone")
    row("  could not be read (tried again next run)", "archiver/details/errors")
    for key in sorted(stats):
        if key.startswith("archiver/details/disagreements/"):
            check = key.removeprefix("archiver/details/disagreements/")
            table.add_row(f"  page disagrees with the listing: {check}", str(stats[key]))
    row("errors logged", "log_count/ERROR")
    row("run id", "archiver/run_id")
    row("finish reason", "finish_reason")
    row("outcome", "archiver/outcome")
    return table


def release_filter_options(function: F) -> F:
    """`--source --country --issue --type --since --until`: which releases, for `export`,
    `search` and `feed` alike (read by `archiver.export.ExportFilters.parse`)."""
    # Here, not at import: the vocabulary's module is loaded by the commands that filter only.
    from archiver.normalize.types import OTHER, VOCABULARY

    options = [
        click.option(
            "--source",
            "sources",
            multiple=True,
            metavar="NAME",
            help="Only releases of this source (repeatable). Example: --source amnestyusa",
        ),
        click.option(
            "--country",
            "countries",
            multiple=True,
            metavar="SLUG",
            help="Only releases seen under this country filter, alone or with other countries"
            " (repeatable: any of them). Example: --country syria",
        ),
        click.option(
            "--issue",
            "issues",
            multiple=True,
            metavar="SLUG",
            help="Only releases seen under this issue filter (repeatable: any of them)."
            " Example: --issue death-penalty",
        ),
        click.option(
            "--type",
            "types",
            multiple=True,
            metavar="TYPE",
            help="Only releases of this type (repeatable; case ignored; one of:"
            f' {", ".join((*VOCABULARY, OTHER))}). Example: --type "press release"',
        ),
        click.option(
            "--since",
            metavar="DATE",
            help="Published on or after this date (YYYY-MM-DD, YYYY-MM or YYYY)."
            " Example: --since 2016",
        ),
        click.option(
            "--until",
            metavar="DATE",
            help="Published on or before this date (YYYY-MM-DD; YYYY-MM or YYYY mean its last day)."
            " Example: --until 2019-06",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function
