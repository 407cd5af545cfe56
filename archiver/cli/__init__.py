"""The `archiver` command line: a thin layer over library functions.

Each command lives in its own module under archiver/cli/ and is registered here; a command parses
its options, calls one library function that does the work (and is tested without the CLI), and
prints the result with rich. Every error a user can fix (`archiver.errors.ArchiverError`, raised
by any layer) becomes one line on stderr and its exit status, here and only here.
"""

from __future__ import annotations

from typing import Any

import click

from archiver import __version__
from archiver.errors import ArchiverError


class UserError(click.ClickException):
    """An `ArchiverError` on its way out: one line, the error's own exit status."""

    def __init__(self, error: ArchiverError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_status


class ArchiverGroup(click.Group):
    """The command group; turns any ArchiverError into a one-line error."""

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


def _register() -> None:
    # Imported here so that each module stays independent; order is the order in --help.
    from archiver.cli import crawl as crawl_cmds
    from archiver.cli import db as db_cmds
    from archiver.cli import demo as demo_cmds
    from archiver.cli import export as export_cmds
    from archiver.cli import reparse as reparse_cmds
    from archiver.cli import schedule as schedule_cmds

    for module in (crawl_cmds, demo_cmds, db_cmds, export_cmds, schedule_cmds, reparse_cmds):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
