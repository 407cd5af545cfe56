"""Crawl runs: opened when a spider opens, closed with its counts, found out when they died.

A crawl killed with SIGKILL (or by the OOM killer, or a power cut) never closes its row. The next
command that opens the archive (`archiver.db.prepare`) calls `mark_interrupted`: a `running` row
whose process no longer exists on this host, or whose heartbeat (`updated_at`, touched at every
batch flush) is older than `stale_after`, becomes `interrupted`. What the run committed stays:
each batch was its own transaction, and the row keeps the counts of the last committed batch.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from archiver.db.engine import write_transaction
from archiver.db.models import CrawlRun, utcnow
from archiver.db.store import RUNS, StoreCounts

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
    engine: Engine,
    *,
    spider: str,
    arguments: Mapping[str, Any] | None = None,
    trigger: str = "manual",
    pid: int | None = None,
    hostname: str | None = None,
    now: datetime | None = None,
) -> int:
    """Insert a `running` row for this process and return its id."""
    now = now or utcnow()
    with write_transaction(engine) as connection:
        return connection.execute(
            insert(RUNS)
            .values(
                spider=spider,
                arguments=dict(arguments or {}),
                trigger=trigger,
                status="running",
                started_at=now,
                updated_at=now,
                pid=os.getpid() if pid is None else pid,
                hostname=socket.gethostname() if hostname is None else hostname,
            )
            .returning(RUNS.c.id)
        ).scalar_one()


@dataclass(slots=True)
class RunOutcome:
    """How a run ended, as the crawler reports it."""

    status: str  # "finished", "failed" or "interrupted"
    finish_reason: str | None = None
    pages: int = 0
    pages_without_cards: int = 0
    cards: int = 0
    errors: int = 0
    stats: dict[str, Any] | None = None
    cards_per_page: float | None = None  # selector health (archiver.health)
    health: str | None = None


def status_for_reason(reason: str | None) -> str:
    """The run status a Scrapy finish reason means.

    >>> status_for_reason("finished"), status_for_reason("closespider_itemcount")
    ('finished', 'finished')
    >>> status_for_reason("shutdown"), status_for_reason("cancelled")
    ('interrupted', 'failed')
    """
    if reason == "finished" or (reason or "").startswith("closespider_"):
        return "finished"  # closespider_* are limits the operator asked for
    if reason == "shutdown":
        return "interrupted"  # Ctrl-C / SIGTERM: stopped cleanly but not done
    return "failed"


def close_run(
    engine: Engine,
    run_id: int,
    outcome: RunOutcome,
    totals: StoreCounts,
    now: datetime | None = None,
) -> None:
    """Close the run's row with its final counts, status and finish reason."""
    now = now or utcnow()
    with write_transaction(engine) as connection:
        connection.execute(
            update(RUNS)
            .where(RUNS.c.id == run_id)
            .values(
                status=outcome.status,
                finish_reason=outcome.finish_reason,
                finished_at=now,
                updated_at=now,
                pages=outcome.pages,
                pages_without_cards=outcome.pages_without_cards,
                cards=outcome.cards,
                errors=outcome.errors,
                stats=outcome.stats,
                cards_per_page=outcome.cards_per_page,
                health=outcome.health,
                items_seen=totals.seen,
                items_new=totals.new,
                items_updated=totals.updated,
                items_unchanged=totals.unchanged,
                items_invalid=totals.invalid,
            )
        )


def mark_interrupted(
    engine: Engine,
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
    with engine.connect() as connection:
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
    if not dead:
        return []
    with write_transaction(engine) as connection:
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


def list_runs(engine: Engine, *, limit: int = 20, spider: str | None = None) -> list[CrawlRun]:
    """The most recent runs, newest first (detached objects, safe to read after return)."""
    query = select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)
    if spider:
        query = query.where(CrawlRun.spider == spider)
    with Session(engine, expire_on_commit=False) as session:
        runs = list(session.scalars(query))
        session.expunge_all()
    return runs


def get_run(engine: Engine, run_id: int) -> CrawlRun | None:
    """One run by id (detached), or None."""
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(CrawlRun, run_id)
        if run is not None:
            session.expunge(run)
    return run
