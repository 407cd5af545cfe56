"""`archiver schedule ...` (recurring crawls kept in the database) and `archiver scheduler`.

The schedule commands edit the `schedules` table; a running `archiver scheduler` notices the
change within its sync interval (or at once on SIGHUP / `systemctl reload`). The service runs in
the foreground and logs to stderr, as systemd and containers expect.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource
from rich import box
from rich.table import Table

from archiver.cli.common import (
    DURATION,
    archive,
    console,
    data_dir_option,
    db_option,
    ended,
    err_console,
    exit_codes_epilog,
    settings_option,
    spider_args_option,
    stats_table,
    styled_status,
)
from archiver.config import database_url, parse_pairs
from archiver.errors import ScheduleError

F = TypeVar("F", bound=Callable[..., Any])

#: `--max-concurrent` with `--scrapyd` unless given: fires followed at once (each only waits).
SCRAPYD_MAX_CONCURRENT = 32

# archiver.scheduler.schedules and the service load SQLAlchemy and APScheduler: each command
# imports what it uses, so `archiver --help` and the other commands do not pay for them.


def _checked_settings(settings: dict[str, str]) -> dict[str, str]:
    """A schedule's settings, checked when it is added rather than at its first fire: a bad
    value or layout file is refused, an unknown name warned about, and a layout file's path made
    absolute (the scheduler service runs in another folder than this command)."""
    from archiver.process.worker import check_settings

    layouts = settings.get("ARCHIVER_EXTRACT_LAYOUTS", "")
    if layouts.endswith(".toml"):
        settings = {**settings, "ARCHIVER_EXTRACT_LAYOUTS": str(Path(layouts).resolve())}
    for warning in check_settings(settings):
        err_console.print(f"warning: {warning}")
    return settings


def notify_options(function: F) -> F:
    """`--notify URL` (repeatable) and `--web-url URL`: where to send news of runs."""
    function = click.option(
        "--web-url",
        metavar="URL",
        help="Address of the web view (archiver web): messages link to <URL>/runs/<id>.",
    )(function)
    return click.option(
        "--notify",
        "notify",
        multiple=True,
        metavar="URL",
        envvar="ARCHIVER_NOTIFY_URLS",
        help="Apprise URL told about runs that failed, were partial or flagged, and about new"
        " releases of --notify-new schedules (repeatable; mailto://, ntfy://, json://, ...)."
        " A URL holding a password or token belongs in $ARCHIVER_NOTIFY_URLS (URLs separated by"
        " spaces), where `ps` does not show it.",
    )(function)


def _checked_notify(urls: tuple[str, ...]) -> tuple[str, ...]:
    from archiver.scheduler.notify import check_notify_urls

    check_notify_urls(urls)
    return urls


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if moment else ""


@click.group("schedule")
def schedule_group() -> None:
    """Recurring crawls run by `archiver scheduler` (kept in the database).

    \b
    Examples:
      archiver schedule add syria --spider amnestyusa -a country=syria --every 6h
      archiver schedule add dp --spider amnestyusa -a issue=death-penalty \\
          --cron "30 5 * * mon-fri" --timezone America/New_York --jitter 10m
      archiver schedule list
      archiver schedule pause syria
      archiver schedule run syria
    """


@schedule_group.command("add")
@click.argument("name")
@click.option("--spider", required=True, help="Spider to run (e.g. amnestyusa).")
@spider_args_option("country=syria, issue=death-penalty, max_pages=3")
@settings_option("for this schedule's runs (e.g. -s DOWNLOAD_DELAY=2)")
@click.option("--every", metavar="DURATION", help="Run every DURATION: 90s, 15m, 6h, 1d, 1h30m.")
@click.option("--cron", metavar="EXPR", help='Run on a crontab expression: "0 */6 * * *".')
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    help="IANA time zone the cron expression is read in (Europe/Berlin).",
)
@click.option(
    "--jitter", metavar="DURATION", help="Delay each fire by a random 0..DURATION (be polite)."
)
@click.option(
    "--max-runtime",
    metavar="DURATION",
    help="End a run of this schedule after DURATION [default: the scheduler's --max-runtime].",
)
@click.option(
    "--details",
    is_flag=True,
    help="Each run also reads the pages of new, edited and never-read releases (full text;"
    " the same as -s ARCHIVER_DETAILS=1).",
)
@click.option(
    "--notify-new",
    is_flag=True,
    help="After each run, `archiver scheduler --notify` sends the titles and links of the"
    " releases it found new (the same as -s ARCHIVER_NOTIFY_NEW=1).",
)
@click.option("--paused", is_flag=True, help="Add it paused (resume it later).")
@click.option("--replace", is_flag=True, help="Replace a schedule of the same name.")
@db_option
def add_command(
    name: str,
    spider: str,
    spider_args: tuple[str, ...],
    settings: tuple[str, ...],
    every: str | None,
    cron: str | None,
    timezone: str,
    jitter: str | None,
    max_runtime: str | None,
    details: bool,
    notify_new: bool,
    paused: bool,
    replace: bool,
    db: str | None,
) -> None:
    """Add the schedule NAME: run SPIDER every DURATION or on a cron expression.

    \b
    Examples:
      archiver schedule add syria --spider amnestyusa -a country=syria --every 6h
      archiver schedule add syria-text --spider amnestyusa -a country=syria --every 1d --details
      archiver schedule add syria-news --spider amnestyusa -a country=syria --every 1h --notify-new
      archiver schedule add nightly --spider amnestyusa --cron "0 3 * * *" \\
          --timezone Europe/Berlin --jitter 15m --max-runtime 2h

    Interval schedules count from when they were added (a restart of the service does not
    shift them); cron weekdays are crontab's (0 or 7 = Sunday). A running scheduler picks the
    schedule up within a few seconds. Unknown spiders, bad arguments, invalid cron expressions
    and names already taken are refused.
    """
    from archiver.db import write_transaction
    from archiver.db.models import utcnow
    from archiver.db.schedules import add_schedule
    from archiver.scheduler.schedules import new_schedule, trigger_for

    spec = new_schedule(
        name,
        spider,
        parse_pairs(spider_args, "-a/--arg"),
        every=every,
        cron=cron,
        timezone=timezone,
        jitter=jitter,
        settings=_checked_settings(
            parse_pairs(settings, "-s/--set")
            | ({"ARCHIVER_DETAILS": "1"} if details else {})
            | ({"ARCHIVER_NOTIFY_NEW": "1"} if notify_new else {})
        ),
        max_runtime=max_runtime,
        enabled=not paused,
    )
    with archive(db, create=True) as (_url, engine), write_transaction(engine) as connection:
        replaced = add_schedule(connection, spec, replace_existing=replace)
    next_fire = trigger_for(spec).get_next_fire_time(None, utcnow()) if spec.enabled else None
    args = " ".join(f"{key}={value}" for key, value in spec.arguments.items())
    console.print(
        f"schedule {name} {'replaced' if replaced else 'added'}: {spider} {args}".rstrip()
        + f", {spec.describe()}"
        + (" (paused)" if paused else f"; first fire about {_when(next_fire)}")
    )


@schedule_group.command("list")
@db_option
def list_command(db: str | None) -> None:
    """List the schedules with their next fire time and their last run.

    \b
    Example:
      archiver schedule list --db postgresql://archiver@localhost/archive

    Next fire times come from the running scheduler; the last run is the latest crawl run
    of the schedule, skipped fires included.
    """
    from archiver.db.schedules import schedule_overview
    from archiver.scheduler.lock import lock_holder

    with archive(db) as (url, engine), engine.connect() as connection:
        rows = schedule_overview(connection)
        holder = lock_holder(url)
    table = Table(box=box.SIMPLE_HEAD, title_justify="left")
    for column in ("name", "crawl", "when", "state", "next fire", "last run", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        spec = row.spec
        crawl = " ".join([spec.spider, *(f"{k}={v}" for k, v in spec.arguments.items())])
        status = row.last_run_status or ""
        if status:
            status = styled_status(status)
            if row.last_run_reason and row.last_run_reason != row.last_run_status:
                status += f" ({row.last_run_reason})"
        last = f"#{row.last_run_id} {_when(row.last_run_started_at)}" if row.last_run_id else ""
        table.add_row(
            spec.name,
            crawl,
            spec.describe(),
            "active" if spec.enabled else "[yellow]paused[/yellow]",
            _when(row.next_fire_at) if holder and spec.enabled else "",
            last,
            status,
        )
    if rows:
        console.print(table)
    else:
        console.print("no schedules yet: add one with `archiver schedule add`")
    if holder:
        console.print(f"scheduler running: {holder}")
    else:
        console.print("[yellow]no scheduler is running on this database[/yellow]")


def _toggle(name: str, db: str | None, enabled: bool) -> None:
    from archiver.db import write_transaction
    from archiver.db.schedules import set_enabled

    with archive(db) as (_url, engine), write_transaction(engine) as connection:
        before = set_enabled(connection, name, enabled)
    word = "resumed" if enabled else "paused"
    console.print(f"schedule {name} {word}" if before != enabled else f"schedule {name} was {word}")


@schedule_group.command("pause")
@click.argument("name")
@db_option
def pause_command(name: str, db: str | None) -> None:
    """Pause the schedule NAME (a run in progress finishes).

    \b
    Example:
      archiver schedule pause syria
    """
    _toggle(name, db, False)


@schedule_group.command("resume")
@click.argument("name")
@db_option
def resume_command(name: str, db: str | None) -> None:
    """Resume the paused schedule NAME.

    \b
    Example:
      archiver schedule resume syria
    """
    _toggle(name, db, True)


@schedule_group.command("remove")
@click.argument("name")
@db_option
def remove_command(name: str, db: str | None) -> None:
    """Remove the schedule NAME (its past runs stay in the archive).

    \b
    Example:
      archiver schedule remove syria
    """
    from archiver.db import write_transaction
    from archiver.db.schedules import remove_schedule

    with archive(db) as (_url, engine), write_transaction(engine) as connection:
        remove_schedule(connection, name)
    console.print(f"schedule {name} removed")


@schedule_group.command("run", epilog=exit_codes_epilog())
@click.argument("name")
@db_option
@data_dir_option(" for the run's log")
@click.option("--max-runtime", type=DURATION, help="End the run after DURATION.")
@notify_options
def run_command(
    name: str,
    db: str | None,
    data_dir: Path | None,
    max_runtime: int | None,
    notify: tuple[str, ...],
    web_url: str | None,
) -> None:
    """Run the schedule NAME once, now, in the foreground (recorded with its name as trigger).

    \b
    Example:
      archiver schedule run syria

    Refused while a run of the same schedule is going. The exit status is the crawl's (below).
    With --notify, sends what `archiver scheduler --notify` would after this run.
    """
    from archiver.db.schedules import get_schedule
    from archiver.scheduler.notify import notify_run
    from archiver.scheduler.runner import run_schedule

    notify = _checked_notify(notify)
    with archive(db) as (url, engine):
        with engine.connect() as connection:
            spec = get_schedule(connection, name)
        with console.status(f"running schedule {name}: {spec.spider}…"):
            report = run_schedule(
                spec, engine, db_url=url, data_dir=data_dir, max_runtime=max_runtime
            )
        if notify:
            for sent in notify_run(report, spec, engine, notify, web_url=web_url):
                console.print(f"notified {sent.delivered} of {len(notify)}: {sent.title}")
    if report.status == "skipped":
        raise ScheduleError(f"schedule {name} not run: {report.reason}")
    if report.stats:
        console.print(stats_table(report.stats, title=f"Run {report.run_id} of {name}"))
    console.print(f"log: {report.log_path}  ({report.duration:.1f} s)")
    if not report.ok:
        err_console.print(ended(f"run {report.run_id}", report.status, report.reason))
        raise SystemExit(report.exit_code)
    console.print(f"run {report.run_id} finished")


@click.command("scheduler")
@db_option
@data_dir_option("; each run logs to DATA/logs/<schedule>-<time>.log")
@click.option(
    "--max-runtime",
    type=DURATION,
    default="4h",
    show_default=True,
    help="End a run that takes longer (recorded as interrupted); 0 = no limit.",
)
@click.option(
    "--grace",
    type=DURATION,
    default="30s",
    show_default=True,
    help="At shutdown, time running crawls get to stop cleanly before they are killed.",
)
@click.option(
    "--misfire-grace",
    type=DURATION,
    default="10m",
    show_default=True,
    help="A fire that cannot start this late is dropped (and recorded as skipped).",
)
@click.option(
    "--sync-interval",
    type=DURATION,
    default="5s",
    show_default=True,
    help="How often schedule changes are picked up (SIGHUP: at once).",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(1),
    default=4,
    show_default=True,
    help="Crawls of different schedules that may run at the same time (with --scrapyd: jobs"
    " followed at once, default 32; the nodes' max_proc limits the crawls).",
)
@click.option(
    "--on-failure",
    metavar="COMMAND",
    help="Shell command run when a scheduled crawl fails or is interrupted, with "
    "ARCHIVER_SCHEDULE, ARCHIVER_STATUS, ARCHIVER_REASON, ARCHIVER_RUN_ID, ARCHIVER_EXIT_CODE, "
    "ARCHIVER_LOG and ARCHIVER_SUMMARY set (e.g. a mail or curl command).",
)
@notify_options
@click.option(
    "--scrapyd",
    "scrapyd",
    multiple=True,
    metavar="URL",
    help="Send every crawl to the least busy of these Scrapyd nodes (repeatable; "
    "http://user:password@host:6800 for a node with a login) instead of running it here; "
    "see docs/scale-out.md.",
)
@click.option(
    "--scrapyd-project",
    default="archiver",
    show_default=True,
    help="The Scrapyd project the archiver is deployed as (scrapy.cfg's [deploy] project).",
)
@click.option("-v", "--verbose", is_flag=True, help="Also log APScheduler's own messages.")
@click.pass_context
def scheduler_command(
    ctx: click.Context,
    db: str | None,
    data_dir: Path | None,
    max_runtime: int,
    grace: int,
    misfire_grace: int,
    sync_interval: int,
    max_concurrent: int,
    on_failure: str | None,
    notify: tuple[str, ...],
    web_url: str | None,
    scrapyd: tuple[str, ...],
    scrapyd_project: str,
    verbose: bool,
) -> None:
    """Run the schedules: a long-lived service in the foreground (for systemd or a container).

    \b
    Examples:
      archiver scheduler --db postgresql://archiver@localhost/archive --data-dir /srv/archiver
      archiver scheduler --on-failure 'mail -s "$ARCHIVER_SUMMARY" ops@example.org </dev/null'
      archiver scheduler --notify ntfy://archiver-alerts --web-url https://archive.example
      archiver scheduler --scrapyd http://crawler-1:6800 --scrapyd http://crawler-2:6800

    Each fire runs the crawl in its own process, logging to DATA/logs/, and records the run
    with the schedule's name as trigger. A schedule never overlaps itself: a fire while its
    previous run still goes is recorded as skipped. Schedule changes apply without a restart.
    SIGTERM/SIGINT stop it: running crawls are asked to stop, killed if still running near the
    end of --grace, and recorded as interrupted. Only one scheduler may run per database.
    --on-failure alerts someone when a run fails or is interrupted (not when the service itself
    is stopped); the command may take 60 s, and its own failure is only logged. --notify sends
    the same news, and the new releases of --notify-new schedules, through Apprise.
    With --scrapyd, each fire is a job on the least busy Scrapyd node (which takes its database
    and data folder from its own environment); the service follows it, records the node and
    job with the run, and leaves running jobs alone when it stops.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from archiver.db import database_error
    from archiver.scheduler.scrapyd import check_node_url
    from archiver.scheduler.service import SchedulerService, ServiceOptions

    notify = _checked_notify(notify)  # before logging starts: one line if refused
    for url in scrapyd:
        try:
            check_node_url(url)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--scrapyd") from None
    if scrapyd and ctx.get_parameter_source("max_concurrent") is ParameterSource.DEFAULT:
        # A fire only follows its job there; the nodes' max_proc limits the crawls.
        max_concurrent = SCRAPYD_MAX_CONCURRENT
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose else logging.WARNING)
    options = ServiceOptions(
        db_url=database_url(db),
        data_dir=data_dir,
        max_runtime=max_runtime or None,
        grace=float(grace),
        misfire_grace=misfire_grace,
        sync_interval=float(max(sync_interval, 1)),
        max_concurrent=max_concurrent,
        on_failure=on_failure or None,
        notify=notify,
        web_url=web_url or None,
        scrapyd=tuple(scrapyd),
        scrapyd_project=scrapyd_project,
    )
    service = SchedulerService(options)
    service.install_signal_handlers()
    try:
        status = service.run()
    except (SQLAlchemyError, OSError) as error:
        # Database unreachable at start: one line; systemd restarts the service.
        raise database_error(error, options.db_url) from None
    raise SystemExit(status)
