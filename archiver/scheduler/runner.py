"""One run of a schedule: a crawl in a child process, and the record it leaves, whatever happens.

The crawl process opens and closes its own `crawl_runs` row with its outcome
(`archiver.outcome`). This module makes sure the row tells the truth even when the child could
not: a child killed after the grace period never closes its row (it becomes `interrupted`
through the dead-run detection, with the reason the service knows), a child that failed before
its crawl started never wrote one (a row is written here with the child's own error). A fire
that finds the previous run of its schedule still going leaves a `skipped` row.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from archiver.config import data_dir as resolve_data_dir
from archiver.db import write_transaction
from archiver.db.runs import (
    insert_closed_run,
    live_run_of,
    mark_dead_runs,
    run_of_process,
    run_status,
    set_outcome,
)
from archiver.db.schedules import ScheduleSpec
from archiver.durations import format_duration
from archiver.outcome import EXIT_INTERRUPTED, EXIT_OK, Outcome
from archiver.process.crawl import CrawlResult, run_crawl

logger = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What one fire of a schedule did, as recorded in `crawl_runs`."""

    schedule: str
    # finished, partial, failed, interrupted or skipped; `running` when the service stopped
    # following a Scrapyd job that runs on (archiver.scheduler.dispatch)
    status: str
    reason: str
    run_id: int | None = None
    exit_code: int | None = None  # the crawl's exit status, as `archiver crawl` would give it
    log_path: Path | str | None = None  # a file here, or the log's URL on a Scrapyd node
    duration: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether nobody needs to look (a skipped fire is not a failure either)."""
        return self.status == "skipped" or self.exit_code == EXIT_OK

    def summary(self) -> str:
        """One line for the service's log."""
        counts = ""
        if self.stats:
            counts = (
                f", {self.stats.get('archiver/listing_pages', 0)} pages,"
                f" {self.stats.get('archiver/store/new', 0)} new,"
                f" {self.stats.get('archiver/store/updated', 0)} updated"
            )
        run = f"run {self.run_id}" if self.run_id is not None else "no run row"
        log = f"; log {self.log_path}" if self.log_path else ""
        return (
            f"schedule {self.schedule}: {run} {self.status} ({self.reason})"
            f" in {self.duration:.1f} s{counts}{log}"
        )


def log_path_for(name: str, data: Path, now: datetime | None = None) -> Path:
    """`data/logs/<schedule>-<UTC time>.log`: one log file per run, sortable by time.

    >>> log_path_for("syria", Path("/srv/data"), datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    PosixPath('/srv/data/logs/syria-20260102T030405.000006Z.log')
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    return data / "logs" / f"{name}-{stamp}.log"


def running_run(engine: Engine, trigger: str) -> int | None:
    """The id of a live run of `trigger` (dead ones are marked interrupted first), or None."""
    with write_transaction(engine) as connection:
        mark_dead_runs(connection)
        return live_run_of(connection, trigger)


def record_skipped(engine: Engine, spec: ScheduleSpec, reason: str) -> int:
    """A `skipped` row for a fire that did not start a crawl."""
    with write_transaction(engine) as connection:
        return _closed_row(connection, spec, "skipped", reason)


def _closed_row(
    connection: Connection,
    spec: ScheduleSpec,
    status: str,
    reason: str,
    stats: dict[str, Any] | None = None,
) -> int:
    return insert_closed_run(
        connection,
        spider=spec.spider,
        arguments=spec.arguments,
        trigger=spec.name,
        status=status,
        reason=reason,
        stats=stats,
    )


def settle_run(
    engine: Engine,
    spec: ScheduleSpec,
    result: CrawlResult,
    pid: int | None,
    interrupted_because: str | None = None,
) -> tuple[int, str, str]:
    """Make the run's row agree with how the child ended; returns (run id, status, reason).

    `interrupted_because` replaces the reason of an interrupted run ("scheduler stopped",
    "max run time 2h reached"): the crawl only knows it was told to shut down, not why.
    """
    outcome = final_outcome(result, interrupted_because)
    with write_transaction(engine) as connection:
        mark_dead_runs(connection)  # a child killed after the grace period left its row running
        run_id = result.stats.get("archiver/run_id")
        if not isinstance(run_id, int) and pid is not None:
            # Killed before its stats said which row it opened: the row carries the child's pid.
            run_id = run_of_process(connection, pid, spec.name)
        if not isinstance(run_id, int):
            run_id = _closed_row(
                connection, spec, outcome.status, outcome.message, result.stats or None
            )
        elif interrupted_because:
            set_outcome(
                connection,
                run_id,
                "interrupted",
                outcome.message,
                only_if=("running", "interrupted"),
            )
        status, reason = run_status(connection, run_id) or (outcome.status, outcome.message)
    return run_id, status, reason


def final_outcome(result: CrawlResult, interrupted_because: str | None) -> Outcome:
    """The crawl's own outcome, unless the service stopped it (then it says why)."""
    if interrupted_because:
        return Outcome("interrupted", EXIT_INTERRUPTED, f"interrupted: {interrupted_because}")
    return result.outcome


def run_schedule(
    spec: ScheduleSpec,
    engine: Engine,
    *,
    db_url: str,
    data_dir: str | Path | None = None,
    max_runtime: float | None = None,
    grace: float = 10.0,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
    skip_if_running: bool = True,
    stop_reason: Callable[[], str | None] | None = None,
) -> RunReport:
    """Run `spec` once now, in a child process, and return what was recorded.

    With `skip_if_running`, a live run of the same schedule (a manual `schedule run` while the
    service fires, or the other way round) turns this fire into a `skipped` row. `max_runtime`
    ends a run that hangs (SIGTERM, then SIGKILL after `grace`); the schedule's own limit wins.
    `stop_reason` tells, once the child is gone, whether somebody stopped it on purpose.
    """
    if skip_if_running:
        live = running_run(engine, spec.name)
        if live is not None:
            reason = f"run {live} of this schedule is still running"
            run_id = record_skipped(engine, spec, reason)
            return RunReport(spec.name, "skipped", reason, run_id=run_id)
    data = resolve_data_dir(data_dir)
    started: list[subprocess.Popen[bytes]] = []

    def remember(process: subprocess.Popen[bytes]) -> None:
        started.append(process)
        if on_start is not None:
            on_start(process)

    timeout = spec.max_runtime_seconds or max_runtime
    logger.info("schedule %s: starting %s %s", spec.name, spec.spider, _pairs(spec.arguments))
    result = run_crawl(
        spec.spider,
        {key: str(value) for key, value in spec.arguments.items()},
        db_url=db_url,
        data_dir=data,
        settings={**spec.settings, "ARCHIVER_TRIGGER": spec.name},
        log_path=log_path_for(spec.name, data),
        timeout=timeout,
        grace=grace,
        on_start=remember,
        new_session=True,  # the service alone decides when its crawls stop
    )
    because = stop_reason() if stop_reason is not None else None
    if because is None and timeout is not None and result.duration >= timeout:
        because = f"max run time {format_duration(int(timeout))} reached"
    if result.returncode == EXIT_OK:
        because = None  # it finished on its own after all
    pid = started[0].pid if started else None
    run_id, status, reason = settle_run(engine, spec, result, pid, because)
    return RunReport(
        spec.name,
        status,
        reason,
        run_id=run_id,
        exit_code=final_outcome(result, because).exit_code,
        log_path=result.log_path,
        duration=result.duration,
        stats=result.stats,
    )


def _pairs(arguments: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in arguments.items())
