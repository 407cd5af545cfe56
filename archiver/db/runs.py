"""Crawl runs: the `crawl_runs` rows, opened when a crawl starts and closed with how it ended.

Every function takes a Connection and leaves the transaction to the caller (write through
`archiver.db.engine.write_transaction`), so a caller can combine several in one transaction.

A crawl killed with SIGKILL (or by the OOM killer, or a power cut) never closes its row. Whoever
opens the archive next calls `mark_dead_runs`: a `running` row whose process no longer exists on
this host, or whose heartbeat (`updated_at`, touched at every batch flush) is older than
`stale_after`, becomes `interrupted`. What the run committed stays: each batch was its own
transaction, and the row keeps the counts of the last committed batch.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from archiver.db.models import CrawlRun, utcnow
from archiver.db.store import StoreCounts
from archiver.db.tables import RUNS
from archiver.sites import facet_of_arguments

#: A running row whose heartbeat is older than this is dead even if its host cannot be checked.
DEFAULT_STALE_AFTER = timedelta(hours=1)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this host and is not a zombie (killed, not yet reaped)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        # Field 3 is the state; the command name before it may contain spaces, so split at ')'.
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): existence is all we know
    return state not in ("Z", "X")


def open_run(
    connection: Connection,
    *,
    spider: str,
    arguments: Mapping[str, Any] | None = None,
    trigger: str = "manual",
    pid: int | None = None,
    hostname: str | None = None,
    now: datetime | None = None,
    node: str | None = None,
    job_id: str | None = None,
) -> int:
    """Insert a `running` row for this process and return its id (`node` and `job_id`: the
    Scrapyd node and job running it, for a crawl a dispatcher sent there)."""
    return _insert_run(
        connection,
        spider=spider,
        arguments=arguments,
        trigger=trigger,
        status="running",
        now=now,
        pid=os.getpid() if pid is None else pid,
        hostname=hostname,
        node=node,
        job_id=job_id,
    )


def insert_closed_run(
    connection: Connection,
    *,
    spider: str,
    arguments: Mapping[str, Any],
    trigger: str,
    status: str,
    reason: str,
    stats: dict[str, Any] | None = None,
    now: datetime | None = None,
    node: str | None = None,
    job_id: str | None = None,
) -> int:
    """A row opened and closed at once: a scheduled fire that was skipped, or a crawl process
    (or Scrapyd job) that ended before it could open its own row."""
    return _insert_run(
        connection,
        spider=spider,
        arguments=arguments,
        trigger=trigger,
        status=status,
        now=now,
        finish_reason=reason,
        stats=stats,
        closed=True,
        node=node,
        job_id=job_id,
    )


def _insert_run(
    connection: Connection,
    *,
    spider: str,
    arguments: Mapping[str, Any] | None,
    trigger: str,
    status: str,
    now: datetime | None,
    hostname: str | None = None,
    closed: bool = False,
    **values: Any,
) -> int:
    now = now or utcnow()
    return connection.execute(
        insert(RUNS)
        .values(
            spider=spider,
            arguments=dict(arguments or {}),
            trigger=trigger,
            status=status,
            started_at=now,
            updated_at=now,
            finished_at=now if closed else None,
            hostname=socket.gethostname() if hostname is None else hostname,
            **values,
        )
        .returning(RUNS.c.id)
    ).scalar_one()


@dataclass(slots=True)
class RunEnd:
    """How a run ended, as its row keeps it (status and reason from `archiver.outcome`)."""

    status: str  # finished, partial, failed or interrupted
    reason: str
    pages: int = 0
    pages_without_cards: int = 0
    cards: int = 0
    errors: int = 0
    stats: dict[str, Any] | None = None
    cards_per_page: float | None = None  # selector health (archiver.health)
    structure_share: float | None = None  # fields found by structure (archiver.health)
    health: str | None = None
    missed_pages: list[dict[str, Any]] | None = None  # [{"page", "url", "cause"}]


def close_run(
    connection: Connection,
    run_id: int,
    end: RunEnd,
    totals: StoreCounts,
    now: datetime | None = None,
) -> None:
    """Close the run's row with its final counts, status and reason."""
    now = now or utcnow()
    connection.execute(
        update(RUNS)
        .where(RUNS.c.id == run_id)
        .values(
            status=end.status,
            finish_reason=end.reason,
            finished_at=now,
            updated_at=now,
            pages=end.pages,
            pages_without_cards=end.pages_without_cards,
            cards=end.cards,
            errors=end.errors,
            stats=end.stats,
            cards_per_page=end.cards_per_page,
            structure_share=end.structure_share,
            health=end.health,
            missed_pages=end.missed_pages,
            **_count_values(totals),
        )
    )


def record_progress(
    connection: Connection, run_id: int, totals: StoreCounts, now: datetime | None = None
) -> None:
    """Store a run's counts so far and touch its heartbeat (a killed run keeps what it did)."""
    connection.execute(
        update(RUNS)
        .where(RUNS.c.id == run_id)
        .values(updated_at=now or utcnow(), **_count_values(totals))
    )


def _count_values(totals: StoreCounts) -> dict[str, int]:
    return {
        "items_seen": totals.seen,
        "items_new": totals.new,
        "items_updated": totals.updated,
        "items_unchanged": totals.unchanged,
        "items_invalid": totals.invalid,
    }


def set_outcome(
    connection: Connection,
    run_id: int,
    status: str,
    reason: str,
    *,
    only_if: tuple[str, ...] = ("running",),
) -> None:
    """Set a run's status and reason, if its status is still one of `only_if`.

    The launcher uses it when the crawl process could not close its own row the way it ended
    (killed after the grace period, stopped by the scheduler).
    """
    connection.execute(
        update(RUNS)
        .where(RUNS.c.id == run_id, RUNS.c.status.in_(only_if))
        .values(
            status=status,
            finish_reason=reason,
            finished_at=func.coalesce(RUNS.c.finished_at, utcnow()),
        )
    )


def mark_dead_runs(
    connection: Connection,
    *,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    now: datetime | None = None,
    hostname: str | None = None,
    is_alive: Callable[[int], bool] = pid_alive,
) -> list[int]:
    """Mark `running` runs whose process is gone as `interrupted`; returns their ids.

    A run of this host is dead when its pid is gone (or a zombie); a run of any host is dead
    when its heartbeat is older than `stale_after` (runs on other machines cannot be probed).
    """
    now = now or utcnow()
    hostname = socket.gethostname() if hostname is None else hostname
    running = connection.execute(
        select(RUNS.c.id, RUNS.c.pid, RUNS.c.hostname, RUNS.c.updated_at).where(
            RUNS.c.status == "running"
        )
    ).all()
    dead: dict[int, tuple[datetime, str]] = {}
    for run in running:
        if run.hostname == hostname and run.pid is not None and not is_alive(run.pid):
            dead[run.id] = (run.updated_at, f"process {run.pid} is gone")
        elif run.updated_at < now - stale_after:
            dead[run.id] = (run.updated_at, f"no heartbeat since {run.updated_at:%Y-%m-%d %H:%M}Z")
    for run_id, (last_heartbeat, reason) in dead.items():
        connection.execute(
            update(RUNS)
            .where(RUNS.c.id == run_id, RUNS.c.status == "running")
            .values(
                status="interrupted",
                # The last heartbeat is the best estimate of when the process died.
                finished_at=last_heartbeat,
                finish_reason=f"interrupted: {reason}",
            )
        )
    return sorted(dead)


def live_run_of(connection: Connection, trigger: str) -> int | None:
    """The id of a `running` run of `trigger` (call `mark_dead_runs` first), or None."""
    return connection.execute(
        select(RUNS.c.id)
        .where(RUNS.c.trigger == trigger, RUNS.c.status == "running")
        .order_by(RUNS.c.id.desc())
    ).scalar()


def run_of_process(connection: Connection, pid: int, trigger: str) -> int | None:
    """The latest run of `trigger` opened by process `pid` on this host, or None."""
    return connection.execute(
        select(RUNS.c.id)
        .where(
            RUNS.c.pid == pid,
            RUNS.c.hostname == socket.gethostname(),
            RUNS.c.trigger == trigger,
        )
        .order_by(RUNS.c.id.desc())
    ).scalar()


def run_of_job(connection: Connection, job_id: str) -> int | None:
    """The run the crawl of Scrapyd job `job_id` opened (the latest, if a job id was reused)."""
    return connection.execute(
        select(RUNS.c.id).where(RUNS.c.job_id == job_id).order_by(RUNS.c.id.desc())
    ).scalar()


@dataclass(frozen=True, slots=True)
class LiveJob:
    """A `running` run that a Scrapyd job opened: where it runs, and its last heartbeat."""

    run_id: int
    node: str | None
    job_id: str
    updated_at: datetime


def live_jobs_of(connection: Connection, trigger: str) -> list[LiveJob]:
    """The `running` runs of `trigger` that Scrapyd jobs opened, oldest first."""
    rows = connection.execute(
        select(RUNS.c.id, RUNS.c.node, RUNS.c.job_id, RUNS.c.updated_at)
        .where(RUNS.c.trigger == trigger, RUNS.c.status == "running", RUNS.c.job_id.is_not(None))
        .order_by(RUNS.c.id)
    ).all()
    return [LiveJob(row.id, row.node, row.job_id, row.updated_at) for row in rows]


@dataclass(frozen=True, slots=True)
class NodeRuns:
    """What the archive knows of the runs of one Scrapyd node."""

    node: str
    runs: int
    running: int
    last_started_at: datetime | None
    # The latest run that did not go well (failed, partial or interrupted): id, status, reason.
    last_problem: tuple[int, str, str] | None


def runs_by_node(connection: Connection) -> dict[str, NodeRuns]:
    """Per Scrapyd node recorded on a run: its runs, those still running, the last problem."""
    counts = connection.execute(
        select(
            RUNS.c.node,
            func.count(),
            func.count().filter(RUNS.c.status == "running"),
            func.max(RUNS.c.started_at),
        )
        .where(RUNS.c.node.is_not(None))
        .group_by(RUNS.c.node)
    ).all()
    problems: dict[str, tuple[int, str, str]] = {}
    for node, *_ in counts:
        row = connection.execute(
            select(RUNS.c.id, RUNS.c.status, RUNS.c.finish_reason)
            .where(RUNS.c.node == node, RUNS.c.status.in_(("failed", "partial", "interrupted")))
            .order_by(RUNS.c.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            problems[node] = (row.id, row.status, row.finish_reason or "")
    return {
        node: NodeRuns(node, int(runs), int(running), started, problems.get(node))
        for node, runs, running, started in counts
    }


def run_status(connection: Connection, run_id: int) -> tuple[str, str] | None:
    """(status, reason) of a run, or None when there is no such run."""
    row = connection.execute(
        select(RUNS.c.status, RUNS.c.finish_reason).where(RUNS.c.id == run_id)
    ).first()
    return None if row is None else (row.status, row.finish_reason or "")


def last_started_by_trigger(connection: Connection) -> dict[str, datetime]:
    """When the latest run of each trigger (schedule name, `manual`, ...) started."""
    rows = connection.execute(
        select(RUNS.c.trigger, func.max(RUNS.c.started_at)).group_by(RUNS.c.trigger)
    ).all()
    return {trigger: started for trigger, started in rows}


@dataclass(frozen=True, slots=True)
class PreviousHealth:
    """What the previous run of the same schedule measured, for the health flags."""

    cards_per_page: float | None = None
    structure_share: float | None = None


def previous_health(connection: Connection, run_id: int) -> PreviousHealth:
    """Cards per page and structure share of the latest earlier run of the same schedule
    (spider, trigger, filter) that measured them."""
    current = connection.execute(
        select(RUNS.c.spider, RUNS.c.trigger, RUNS.c.arguments).where(RUNS.c.id == run_id)
    ).first()
    if current is None:
        return PreviousHealth()
    facet = facet_of_arguments(current.arguments)
    earlier = connection.execute(
        select(RUNS.c.arguments, RUNS.c.cards_per_page, RUNS.c.structure_share)
        .where(
            RUNS.c.id < run_id,
            RUNS.c.spider == current.spider,
            RUNS.c.trigger == current.trigger,
            RUNS.c.cards_per_page.is_not(None),
        )
        .order_by(RUNS.c.id.desc())
        .limit(200)
    )
    for arguments, per_page, share in earlier:
        if facet_of_arguments(arguments) == facet:
            return PreviousHealth(float(per_page), None if share is None else float(share))
    return PreviousHealth()


def list_runs(
    connection: Connection, *, limit: int = 20, spider: str | None = None
) -> list[CrawlRun]:
    """The most recent runs, newest first (detached objects, safe to read after return)."""
    query = select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)
    if spider:
        query = query.where(CrawlRun.spider == spider)
    with Session(connection, expire_on_commit=False) as session:
        runs = list(session.scalars(query))
        session.expunge_all()
    return runs


def get_run(connection: Connection, run_id: int) -> CrawlRun | None:
    """One run by id (detached), or None."""
    with Session(connection, expire_on_commit=False) as session:
        run = session.get(CrawlRun, run_id)
        if run is not None:
            session.expunge(run)
    return run
