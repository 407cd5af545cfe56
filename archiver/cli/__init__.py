"""The `archiver` command line: a thin layer over library functions.

Each command lives in its own module under archiver/cli/ and is registered here; a command parses
its options, calls one library function that does the work (and is tested without the CLI), and
prints the result with rich. Every error a user can fix (`archiver.errors.ArchiverError`, raised
by any layer) becomes one line on stderr and its exit status, here and only here.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from archiver import __version__
from archiver.errors import ArchiverError


class UserError(click.ClickException):
    """An `ArchiverError` on its way out: one line, the error's own exit status."""

    def __init__(self, error: ArchiverError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_status


#: Every command, in the order of `archiver --help`, by the module that defines it. A command's
#: module is imported only when the command runs (or --help lists it): `archiver crawl` does not
#: pay for the export's or the scheduler's imports.
COMMANDS = {
    "crawl": "archiver.cli.crawl:crawl_command",
    "enrich": "archiver.cli.enrich:enrich_command",
    "search": "archiver.cli.search:search_command",
    "demo": "archiver.cli.demo:demo_command",
    "serve-demo": "archiver.cli.demo:serve_demo_command",
    "db": "archiver.cli.db:db_group",
    "runs": "archiver.cli.db:runs_command",
    "stats": "archiver.cli.db:stats_command",
    "facets": "archiver.cli.db:facets_command",
    "quarantine": "archiver.cli.quarantine:quarantine_command",
    "export": "archiver.cli.export:export_command",
    "feed": "archiver.cli.feed:feed_command",
    "schedule": "archiver.cli.schedule:schedule_group",
    "scheduler": "archiver.cli.schedule:scheduler_command",
    "nodes": "archiver.cli.nodes:nodes_command",
    "reparse": "archiver.cli.reparse:reparse_command",
    "web": "archiver.cli.web:web_command",
}


class ArchiverGroup(click.Group):
    """The command group: commands loaded when used; any ArchiverError becomes one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, _, attribute = COMMANDS[cmd_name].partition(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArchiverError as error:
            raise UserError(error) from None


@click.group(
    cls=ArchiverGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="archiver")
def main() -> None:
    """Archive press releases from newsroom listing pages.

    Crawl a newsroom (`archiver crawl amnestyusa -a country=syria`), keep every release once in a
    database with its history, export snapshots, and run crawls on a schedule. Try `archiver demo`
    to see the whole chain against a bundled local copy of the site.
    """
