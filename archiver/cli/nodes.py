"""`archiver nodes`: the Scrapyd nodes, what each runs and queues, and what its runs came to."""

from __future__ import annotations

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from archiver.cli.common import archive, console, db_option, err_console
from archiver.errors import ArchiverError


@click.command("nodes")
@click.option(
    "--scrapyd",
    "scrapyd",
    multiple=True,
    metavar="URL",
    help="A Scrapyd node (repeatable) [default: every node the archive's runs were sent to].",
)
@click.option(
    "--scrapyd-project",
    default="archiver",
    show_default=True,
    help="The Scrapyd project the archiver is deployed as.",
)
@db_option
@click.option(
    "--jobs/--no-jobs", default=True, show_default=True, help="List pending and running jobs."
)
def nodes_command(
    scrapyd: tuple[str, ...], scrapyd_project: str, db: str | None, jobs: bool
) -> None:
    """Show the Scrapyd nodes: pending, running and finished jobs, and the last error.

    \b
    Examples:
      archiver nodes --scrapyd http://crawler-1:6800 --scrapyd http://crawler-2:6800
      archiver nodes --db postgresql://archiver@db/archive     # the nodes its runs went to

    The counts are the node's own (`daemonstatus.json`); the runs, and the last run that went
    wrong, come from the archive when there is one (a node that does not answer: why). Exits
    with status 1 when a node does not answer, so a monitoring check can call it.
    """
    from archiver.scheduler.nodes import node_reports
    from archiver.scheduler.scrapyd import check_node_url

    for url in scrapyd:
        try:
            check_node_url(url)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--scrapyd") from None
    try:
        with archive(db) as (_, engine):
            reports = node_reports(scrapyd, engine, project=scrapyd_project)
    except ArchiverError:
        if not scrapyd:
            raise
        reports = node_reports(scrapyd, project=scrapyd_project)  # no archive: the nodes alone
    if not reports:
        raise click.UsageError("no node to show: no run was sent to one yet; give --scrapyd URL")
    table = Table(box=box.SIMPLE_HEAD, title="Scrapyd nodes", title_justify="left")
    table.add_column("node", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for name in ("running", "pending", "finished", "runs in archive"):
        table.add_column(name, justify="right", no_wrap=True)
    for report in reports:
        status = report.status
        runs = report.runs
        table.add_row(
            escape(report.name),
            "[green]up[/green]" if report.up else "[red]down[/red]",
            str(status.running) if status else "",
            str(status.pending) if status else "",
            str(status.finished) if status else "",
            f"{runs.runs} ({runs.running} running)" if runs else "",
        )
    console.print(table)
    for report in reports:
        if report.last_error:
            console.print(f"{escape(report.name)}  last error: {escape(report.last_error)}")
    if jobs:
        for report in reports:
            if report.jobs is None:
                continue
            for state, listed in (
                ("running", report.jobs.running),
                ("pending", report.jobs.pending),
            ):
                for job in listed:
                    since = f" since {job['start_time'][:19]}" if job.get("start_time") else ""
                    console.print(
                        f"{escape(report.name)}  {state}  {escape(str(job.get('id')))}"
                        f"  {escape(str(job.get('spider', '')))}{since}"
                    )
    down = [report.name for report in reports if not report.up]
    if down:
        err_console.print(f"[red]{len(down)} node(s) do not answer[/red]: {', '.join(down)}")
        raise SystemExit(1)
