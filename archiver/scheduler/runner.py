"""One run of a schedule: a crawl in a child process, and the record it leaves, whatever happens.

The crawl's own store pipeline opens and closes its `crawl_runs` row. This module makes sure the
row ends up telling the truth even when the child could not: a child killed after the grace
period never closes its row (it becomes `interrupted` through the runs module's dead-run
detection), a child that failed before its spider opened never wrote one (a `failed` row is
written here), and a crawl whose pages answered without a single parsable card is `failed` with
"no items parsed" even though Scrapy calls it finished (the worker's exit status says so).
A fire that finds the previous run of its schedule still going leaves a `skipped` row.
"""

from __future__ import annotations

import logging
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from archiver.config import data_dir as resolve_data_dir
from archiver.crawl import EXIT_INTERRUPTED, EXIT_NO_ITEMS, EXIT_OK, CrawlResult, run_crawl
from archiver.db.engine import write_transaction
from archiver.db.models import CrawlRun, utcnow
from archiver.db.runs import mark_interrupted
from archiver.scheduler.schedules import ScheduleSpec, format_duration

logger = logging.getLogger(__name__)

RUNS = CrawlRun.__table__
_REASON_LENGTH = 100  # crawl_runs.finish_reason is VARCHAR(100)


@dataclass
class RunReport:
    """What one fire of a schedule did, as recorded in `crawl_runs`."""

    schedule: str
    status: str  # finished, failed, interrupted or skipped
    reason: str
    run_id: int | None = None
    returncode: int | None = None
    log_path: Path | None = None
    duration: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the run went well (a skipped fire is not a failure either)."""
        return self.status in ("finished", "skipped")

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
    mark_interrupted(engine)
    with engine.connect() as connection:
        return connection.execute(
            select(RUNS.c.id)
            .where(RUNS.c.trigger == trigger, RUNS.c.status == "running")
            .order_by(RUNS.c.id.desc())
        ).scalar()


def _insert_closed_run(
    engine: Engine,
    spec: ScheduleSpec,
    status: str,
    reason: str,
    stats: dict[str, Any] | None = None,
) -> int:
    """A run row opened and closed at once, for a fire whose crawl never opened one itself."""
    now = utcnow()
    with write_transaction(engine) as connection:
        return connection.execute(
            insert(RUNS)
            .values(
                spider=spec.spider,
                arguments=spec.arguments,
                trigger=spec.name,
                status=status,
                started_at=now,
                updated_at=now,
                finished_at=now,
                hostname=socket.gethostname(),
                finish_reason=reason[:_REASON_LENGTH],
                stats=stats,
            )
            .returning(RUNS.c.id)
        ).scalar_one()


def record_skipped(engine: Engine, spec: ScheduleSpec, reason: str) -> int:
    """A `skipped` row for a fire that did not start a crawl."""
    return _insert_closed_run(engine, spec, "skipped", reason)


def record_unopened_run(
    engine: Engine, spec: ScheduleSpec, result: CrawlResult, interrupted_because: str | None
) -> int:
    """A row for a crawl that ended before its store pipeline opened one.

    `failed` (bad arguments, database unreachable, crash at start) with the crawl's own error,
    or `interrupted` when it was stopped on purpose while still starting.
    """
    if interrupted_because:
        status, reason = "interrupted", f"interrupted: {interrupted_because}"
    else:
        status, reason = "failed", result.outcome or f"exit {result.returncode}"
    return _insert_closed_run(engine, spec, status, reason, result.stats or None)


def status_for_exit(returncode: int) -> str:
    """The run status the crawl worker's exit status means.

    >>> status_for_exit(0), status_for_exit(3), status_for_exit(4), status_for_exit(-9)
    ('finished', 'failed', 'interrupted', 'failed')
    """
    if returncode == EXIT_OK:
        return "finished"
    if returncode == EXIT_INTERRUPTED:
        return "interrupted"
    return "failed"  # EXIT_NO_ITEMS, errors, killed by a signal


def _find_run(engine: Engine, result: CrawlResult, pid: int | None, trigger: str) -> int | None:
    run_id = result.stats.get("archiver/run_id")
    if isinstance(run_id, int):
        return run_id
    if pid is None:
        return None
    # Killed before its stats said which row it opened: the row carries the child's pid.
    with engine.connect() as connection:
        return connection.execute(
            select(RUNS.c.id)
            .where(
                RUNS.c.pid == pid,
                RUNS.c.hostname == socket.gethostname(),
                RUNS.c.trigger == trigger,
            )
            .order_by(RUNS.c.id.desc())
        ).scalar()


def settle_run(
    engine: Engine,
    spec: ScheduleSpec,
    result: CrawlResult,
    pid: int | None,
    interrupted_because: str | None = None,
) -> tuple[int, str, str]:
    """Make the run's row agree with how the child ended; returns (run id, status, reason).

    `interrupted_because` replaces the finish reason of an interrupted run ("scheduler stopped",
    "max run time 2h reached"): Scrapy only knows it was told to shut down, not why.
    """
    mark_interrupted(engine)  # a child killed after the grace period left its row running
    run_id = _find_run(engine, result, pid, spec.name)
    if run_id is None:
        run_id = record_unopened_run(engine, spec, result, interrupted_because)
    wanted = status_for_exit(result.returncode)
    if interrupted_because:
        with write_transaction(engine) as connection:
            connection.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id, RUNS.c.status.in_(("interrupted", "running")))
                .values(
                    status="interrupted",
                    finished_at=func.coalesce(RUNS.c.finished_at, utcnow()),
                    finish_reason=f"interrupted: {interrupted_because}"[:_REASON_LENGTH],
                )
            )
    elif wanted != "finished":
        reason = (
            "no items parsed" if result.returncode == EXIT_NO_ITEMS else result.outcome
        ) or f"exit {result.returncode}"
        # Only a row the pipeline closed as finished is corrected: its own failure reasons
        # (store errors, dead process) are more precise than the exit status.
        with write_transaction(engine) as connection:
            connection.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id, RUNS.c.status == "finished")
                .values(status=wanted, finish_reason=reason[:_REASON_LENGTH])
            )
    with engine.connect() as connection:
        row = connection.execute(
            select(RUNS.c.status, RUNS.c.finish_reason).where(RUNS.c.id == run_id)
        ).one()
    return run_id, row.status, row.finish_reason or ""


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
    log_path = log_path_for(spec.name, data)
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
        log_path=log_path,
        timeout=timeout,
        grace=grace,
        on_start=remember,
        new_session=True,  # the service alone decides when its crawls stop
    )
    pid = started[0].pid if started else None
    because = stop_reason() if stop_reason is not None else None
    if because is None and timeout is not None and result.duration >= timeout:
        because = f"max run time {format_duration(int(timeout))} reached"
    if result.returncode == EXIT_OK:
        because = None  # it finished on its own after all
    run_id, status, reason = settle_run(engine, spec, result, pid, because)
    return RunReport(
        spec.name,
        status,
        reason,
        run_id=run_id,
        returncode=result.returncode,
        log_path=result.log_path,
        duration=result.duration,
        stats=result.stats,
    )


def _pairs(arguments: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in arguments.items())
