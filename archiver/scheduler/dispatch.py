"""Scheduled crawls sent to Scrapyd nodes: `archiver scheduler --scrapyd URL [--scrapyd URL ...]`.

Each fire of a schedule becomes one Scrapyd job on the least busy node that answers
(`daemonstatus.json`: pending + running jobs, ties to the node used least recently). The node runs
it as `scrapy crawl` from the deployed egg with its own environment (`ARCHIVER_DATABASE_URL`,
`ARCHIVER_DATA_DIR`, `ARCHIVER_CONTACT_URL`), so the crawl is the same crawl as `archiver crawl`:
same pipelines, its own run row with its outcome, its WARC files, its listing coverage. The job
gets the schedule's spider arguments and, as job settings (`setting=NAME=VALUE`), the schedule's
settings, its name as trigger (`ARCHIVER_TRIGGER`) and the node's URL (`ARCHIVER_NODE`). A job's
arguments and settings are shown on the node's web pages and in its log: a setting that is the
node's own (the database, the data folder) or whose value holds a password is never sent, and
the service says so once per schedule. The Scrapyd component dicts (`EXTENSIONS`, ...) are not
sent either: `scrapy crawl` would replace the archiver's own components with them.

The job id is chosen here, `<schedule>~<12 hex digits>` (`~` cannot occur in a schedule name):
the crawl records it in its run row (the `_job` argument Scrapyd gives every job), which is how
the dispatcher finds the row, and the prefix is how it sees a schedule's job still pending on a
node before its crawl opened a row.

The fire then follows its job (`status.json`) until it ends, and makes the row tell the truth:

- the job finished and its crawl closed its row: the row is the report;
- the job finished without closing its row (the crawl crashed, was killed, a node restart): the
  row becomes `failed`, with the node and job; a job that ended before its crawl could open a
  row (a broken egg, an unreachable database) leaves a `failed` row with the last error line of
  its log on the node;
- the node stopped answering, or answers but no longer knows the job (restarted): once that has
  lasted `lost_after` seconds and the row had no heartbeat for as long, the same; a row of a
  crawl on this machine whose process is gone is `interrupted` at once (the dead-run check);
- the job ran longer than the max run time: cancelled (SIGTERM, SIGKILL after the grace time),
  its run `interrupted: max run time ... reached`.

A fire is `skipped` while the previous run of the same schedule is still running anywhere: a
running row of the schedule (on any node, or on this machine) or a job of it pending or running
on any node that answers. A node that is down is left out, and a node that refuses the job is
passed over for the next one; with no node left, the fire is a `failed` run saying why.

When the service stops it stops following: the jobs run on, and their crawls close their rows.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from archiver.config import scrub_secrets
from archiver.db import write_transaction
from archiver.db.models import utcnow
from archiver.db.runs import (
    get_run,
    insert_closed_run,
    live_jobs_of,
    live_run_of,
    mark_dead_runs,
    run_of_job,
    set_outcome,
)
from archiver.db.schedules import ScheduleSpec
from archiver.durations import format_duration
from archiver.outcome import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
)
from archiver.process.worker import COMPONENT_SETTINGS
from archiver.scheduler.runner import RunReport, record_skipped
from archiver.scheduler.scrapyd import (
    DEFAULT_PROJECT,
    DaemonStatus,
    NodeError,
    ScrapydNode,
)

logger = logging.getLogger("archiver.scheduler.dispatch")

#: Between a schedule's name and the random part of its job ids (never in a schedule name).
JOB_SEPARATOR = "~"

#: Settings a node takes from its own environment or Scrapyd, never from a job.
NODE_SETTINGS = frozenset(
    {
        "ARCHIVER_DATABASE_URL",
        "ARCHIVER_DATA_DIR",
        "ARCHIVER_STATUS_FILE",
        "ARCHIVER_NODE",
        "ARCHIVER_TRIGGER",
        "LOG_FILE",
    }
)

_EXIT_OF_STATUS = {
    "finished": EXIT_OK,
    "partial": EXIT_PARTIAL,
    "interrupted": EXIT_INTERRUPTED,
    "failed": EXIT_ERROR,
}


def new_job_id(schedule: str) -> str:
    """A fresh Scrapyd job id for a fire of `schedule`.

    >>> job = new_job_id("syria-6h")
    >>> job.startswith("syria-6h~"), len(job) == len("syria-6h~") + 12
    (True, True)
    """
    return f"{schedule}{JOB_SEPARATOR}{uuid.uuid4().hex[:12]}"


def schedule_of_job(job_id: str) -> str | None:
    """The schedule a job id was made for (None for a job the dispatcher did not start).

    >>> schedule_of_job("syria-6h~0123456789ab"), schedule_of_job("0123456789abcdef")
    ('syria-6h', None)
    """
    name, separator, _ = job_id.rpartition(JOB_SEPARATOR)
    return name if separator else None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def job_settings(spec: ScheduleSpec) -> tuple[dict[str, str], list[str]]:
    """The job settings a fire of `spec` sends (without `ARCHIVER_NODE`, added per node), and a
    line for each setting of the schedule that is not sent, saying why.

    >>> sent, left = job_settings(ScheduleSpec("syria", "amnestyusa", settings={
    ...     "DOWNLOAD_DELAY": 2, "ARCHIVER_DETAILS": True,
    ...     "ARCHIVER_DATABASE_URL": "postgresql://me:pw@db/archive",
    ...     "HTTPPROXY_URL": "http://user:pw@proxy:3128"}))
    >>> sent
    {'ARCHIVER_TRIGGER': 'syria', 'DOWNLOAD_DELAY': '2', 'ARCHIVER_DETAILS': '1'}
    >>> for line in left: print(line)
    ARCHIVER_DATABASE_URL: a node takes it from its own environment
    HTTPPROXY_URL: its value holds a password; put it in the nodes' environment file instead
    """
    sent = {"ARCHIVER_TRIGGER": spec.name}
    left_out = []
    for name, value in spec.settings.items():
        text = _text(value)
        if name in NODE_SETTINGS:
            left_out.append(f"{name}: a node takes it from its own environment")
        elif name in COMPONENT_SETTINGS:
            left_out.append(
                f"{name}: `scrapy crawl` on a node would replace the archiver's own components"
                " with it; change the project's settings instead"
            )
        elif scrub_secrets(text) != text:
            left_out.append(
                f"{name}: its value holds a password; put it in the nodes' environment file instead"
            )
        else:
            sent[name] = text
    return sent, left_out


def exit_code_of(status: str, stats: Mapping[str, Any] | None) -> int:
    """The exit status `archiver crawl` would have given the run: what its crawl recorded
    (`archiver/exit_code`), else what its status says.

    >>> exit_code_of("finished", {"archiver/exit_code": 7}), exit_code_of("partial", None)
    (7, 5)
    """
    recorded = (stats or {}).get("archiver/exit_code")
    if isinstance(recorded, int):
        return recorded
    return _EXIT_OF_STATUS.get(status, EXIT_ERROR)


def last_error_line(log: str) -> str:
    """The last ERROR or CRITICAL line of a Scrapy log (its message only), else the last line of
    a traceback, else "".

    >>> last_error_line("x INFO: ok\\n2026 [scrapy] ERROR: database down\\nmore")
    'database down'
    >>> last_error_line("Traceback (most recent call last):\\n  File x\\nValueError: bad")
    'ValueError: bad'
    """
    lines = log.splitlines()
    logged = [line for line in lines if "] ERROR:" in line or "] CRITICAL:" in line]
    if logged:
        return logged[-1].split(": ", 1)[-1].strip()
    if any(line.startswith("Traceback") for line in lines):
        tail = [line for line in lines if line and not line.startswith(" ")]
        return tail[-1].strip() if tail else ""
    return ""


@dataclass(frozen=True, slots=True)
class NodeLoad:
    """A node and what `daemonstatus.json` said (or why it did not answer)."""

    node: ScrapydNode
    status: DaemonStatus | None
    error: str | None = None


class Dispatcher:
    """Sends fires to Scrapyd nodes and follows their jobs; `dispatch` is thread-safe."""

    def __init__(
        self,
        engine: Engine,
        nodes: Sequence[ScrapydNode],
        *,
        project: str = DEFAULT_PROJECT,
        poll_interval: float = 2.0,
        lost_after: float = 180.0,
        grace: float = 30.0,
    ) -> None:
        if not nodes:
            raise ValueError("a dispatcher needs at least one Scrapyd node")
        self.engine = engine
        self.nodes = list(nodes)
        self.project = project
        self.poll_interval = poll_interval
        self.lost_after = lost_after
        self.grace = grace
        self._lock = threading.Lock()
        self._last_sent: dict[str, float] = {}
        self._warned: set[tuple[str, str]] = set()
        self._firing: set[str] = set()  # schedules with a fire in progress here
        self._placing = threading.Lock()  # one placement at a time (see _place)

    # -- nodes ---------------------------------------------------------------------------------

    def loads(self) -> list[NodeLoad]:
        """Every node with its load, or the error that kept it from answering."""
        loads = []
        for node in self.nodes:
            try:
                loads.append(NodeLoad(node, node.daemon_status()))
            except NodeError as error:
                loads.append(NodeLoad(node, None, str(error)))
        return loads

    def candidates(self) -> tuple[list[ScrapydNode], list[str]]:
        """The nodes that answer, least busy first (ties: the one sent a job longest ago), and
        why the others were left out."""
        loads = self.loads()
        with self._lock:
            ready = sorted(
                (load for load in loads if load.status is not None),
                key=lambda load: (
                    load.status.load if load.status else 0,
                    self._last_sent.get(load.node.name, 0.0),
                ),
            )
        return [load.node for load in ready], [load.error for load in loads if load.error]

    def _node(self, name: str | None) -> ScrapydNode | None:
        return next((node for node in self.nodes if node.name == name), None)

    # -- overlap ---------------------------------------------------------------------------------

    def still_running(self, spec: ScheduleSpec) -> str | None:
        """Why the previous run of `spec` is still going anywhere, or None when it is not.

        A running row whose job the node finished, or forgot, is settled first (see the module
        docstring): it must not block its schedule until its heartbeat goes stale.
        """
        with write_transaction(self.engine) as connection:
            mark_dead_runs(connection)
            jobs = live_jobs_of(connection, spec.name)
        for job in jobs:
            self._settle_if_gone(spec, job.run_id, job.node, job.job_id, job.updated_at)
        with self.engine.connect() as connection:
            live = live_run_of(connection, spec.name)
            row = get_run(connection, live) if live is not None else None
        if row is not None:
            where = f" on {row.node}" if row.node else ""
            return f"run {row.id} of this schedule is still running{where}"
        for node in self.nodes:
            try:
                unfinished = node.list_jobs(self.project).unfinished_ids()
            except NodeError:
                continue  # a node that does not answer starts nothing either
            for job_id in unfinished:
                if schedule_of_job(job_id) == spec.name:
                    return f"job {job_id} of this schedule is still pending on {node.name}"
        return None

    def _settle_if_gone(
        self, spec: ScheduleSpec, run_id: int, node_name: str | None, job_id: str, heartbeat: Any
    ) -> None:
        node = self._node(node_name)
        state: str | None = "unreachable"
        if node is not None:
            try:
                state = node.job_state(self.project, job_id)
            except NodeError:
                state = "unreachable"
        if state in ("pending", "running"):
            return
        stale = utcnow() - heartbeat > timedelta(seconds=self.lost_after)
        if state == "finished":
            why = "it crashed or was killed"
        elif stale:
            why = "node unreachable" if state == "unreachable" else "the node no longer knows it"
            why += f", no heartbeat for {format_duration(int(self.lost_after))}"
        else:
            return
        reason = f"failed: job {job_id} on {node_name} ended without closing its run ({why})"
        with write_transaction(self.engine) as connection:
            set_outcome(connection, run_id, "failed", reason)
        logger.warning("schedule %s: run %d %s", spec.name, run_id, reason)

    # -- one fire --------------------------------------------------------------------------------

    def dispatch(
        self,
        spec: ScheduleSpec,
        *,
        max_runtime: float | None = None,
        stop_reason: Callable[[], str | None] | None = None,
    ) -> RunReport:
        """Run `spec` once on a node and follow it to its end; returns what was recorded."""
        with self._lock:
            firing = spec.name in self._firing
            self._firing.add(spec.name)
        if firing:  # the service's max_instances=1 says the same; this guards direct callers
            reason = "previous fire of this schedule still running"
            return RunReport(
                spec.name, "skipped", reason, run_id=record_skipped(self.engine, spec, reason)
            )
        try:
            return self._dispatch(spec, max_runtime, stop_reason)
        finally:
            with self._lock:
                self._firing.discard(spec.name)

    def _dispatch(
        self,
        spec: ScheduleSpec,
        max_runtime: float | None,
        stop_reason: Callable[[], str | None] | None,
    ) -> RunReport:
        started = time.monotonic()
        busy = self.still_running(spec)
        if busy is not None:
            run_id = record_skipped(self.engine, spec, busy)
            return RunReport(spec.name, "skipped", busy, run_id=run_id)
        settings, left_out = job_settings(spec)
        for line in left_out:
            if (spec.name, line) not in self._warned:
                self._warned.add((spec.name, line))
                logger.warning("schedule %s: setting %s (not sent to the nodes)", spec.name, line)
        arguments = {key: _text(value) for key, value in spec.arguments.items()}
        job_id = new_job_id(spec.name)
        node, problems = self._place(spec, job_id, arguments, settings)
        if node is None:
            reason = "failed: no Scrapyd node took the job: " + (
                "; ".join(problems) or "no node answers"
            )
            with write_transaction(self.engine) as connection:
                run_id = insert_closed_run(
                    connection,
                    spider=spec.spider,
                    arguments=spec.arguments,
                    trigger=spec.name,
                    status="failed",
                    reason=reason,
                    job_id=job_id,
                )
            return RunReport(spec.name, "failed", reason, run_id=run_id, exit_code=EXIT_ERROR)
        logger.info(
            "schedule %s: job %s sent to %s: %s %s",
            spec.name,
            job_id,
            node.name,
            spec.spider,
            " ".join(f"{key}={value}" for key, value in arguments.items()),
        )
        timeout = spec.max_runtime_seconds or max_runtime
        ending = self._follow(node, job_id, timeout, stop_reason)
        log_url = node.log_url(self.project, spec.spider, job_id)
        if ending.left_running:
            reason = f"still running on {node.name} as job {job_id}: {ending.left_running}"
            return RunReport(
                spec.name,
                "running",
                reason,
                log_path=log_url,
                duration=time.monotonic() - started,
            )
        run_id, status, reason, stats = self._settle(spec, node, job_id, ending)
        return RunReport(
            spec.name,
            status,
            reason,
            run_id=run_id,
            exit_code=exit_code_of(status, stats),
            log_path=log_url,
            duration=time.monotonic() - started,
            stats=stats,
        )

    def _place(
        self, spec: ScheduleSpec, job_id: str, arguments: dict[str, str], settings: dict[str, str]
    ) -> tuple[ScrapydNode | None, list[str]]:
        """Send the job to the least busy node that takes it; (that node or None, problems).

        One placement at a time: fires at the same moment would otherwise all see the same
        loads and pick the same node (a node counts a job as pending as soon as it took it).
        """
        with self._placing:
            nodes, problems = self.candidates()
            for candidate in nodes:
                try:
                    candidate.schedule(
                        self.project,
                        spec.spider,
                        job_id=job_id,
                        arguments=arguments,
                        settings={**settings, "ARCHIVER_NODE": candidate.name},
                    )
                except NodeError as error:
                    logger.warning("schedule %s: %s; trying the next node", spec.name, error)
                    problems.append(str(error))
                    continue
                with self._lock:
                    self._last_sent[candidate.name] = time.monotonic()
                return candidate, problems
        return None, problems

    def _follow(
        self,
        node: ScrapydNode,
        job_id: str,
        timeout: float | None,
        stop_reason: Callable[[], str | None] | None,
    ) -> _Ending:
        """Wait for the job to end (or to be lost); cancel it when it runs too long."""
        ending = _Ending()
        running_since: float | None = None
        cancelled_at: float | None = None
        lost_since: float | None = None
        while True:
            why = stop_reason() if stop_reason is not None else None
            if why:
                ending.left_running = why
                return ending
            now = time.monotonic()
            try:
                state = node.job_state(self.project, job_id)
            except NodeError as error:
                state, ending.lost = "unreachable", str(error)
            if state == "finished":
                ending.lost = None
                return ending
            if state in ("pending", "running"):
                lost_since, ending.lost = None, None
                if state == "running" and running_since is None:
                    running_since = now
                if timeout and running_since is not None and now - running_since > timeout:
                    if cancelled_at is None:
                        ending.interrupted = f"max run time {format_duration(int(timeout))} reached"
                        cancelled_at = now
                        self._cancel(node, job_id, "TERM")
                    elif now - cancelled_at > self.grace:
                        self._cancel(node, job_id, "KILL")
                        cancelled_at = now  # once per grace period, if KILL is lost
            else:
                if state is None:
                    ending.lost = f"{node.name} no longer knows job {job_id} (restarted?)"
                lost_since = lost_since if lost_since is not None else now
                if self._closed_or_lost(job_id, now - lost_since):
                    return ending
            time.sleep(self.poll_interval)

    def _closed_or_lost(self, job_id: str, lost_for: float) -> bool:
        """While the node cannot say: whether the job's run is closed (its crawl closed it, or
        the dead-run check found its process gone), or lost for long enough to be given up."""
        with write_transaction(self.engine) as connection:
            mark_dead_runs(connection)
            run_id = run_of_job(connection, job_id)
            row = get_run(connection, run_id) if run_id is not None else None
        if row is not None and row.status != "running":
            return True
        if lost_for < self.lost_after:
            return False
        if row is None:
            return True  # the job never opened a run
        return utcnow() - row.updated_at > timedelta(seconds=self.lost_after)

    def _cancel(self, node: ScrapydNode, job_id: str, signal: str) -> None:
        try:
            node.cancel(self.project, job_id, signal)
            logger.warning("job %s on %s: sent SIG%s (max run time)", job_id, node.name, signal)
        except NodeError as error:
            logger.warning("job %s: could not cancel it: %s", job_id, error)

    def _settle(
        self, spec: ScheduleSpec, node: ScrapydNode, job_id: str, ending: _Ending
    ) -> tuple[int, str, str, dict[str, Any]]:
        """Make the job's row agree with how the job ended; (run id, status, reason, stats)."""
        with self.engine.connect() as connection:
            opened = run_of_job(connection, job_id) is not None
        last_error = ""
        if not opened and ending.lost is None:
            # Ended before its crawl opened a run: the node's log says why.
            log = node.log_tail(self.project, spec.spider, job_id)
            last_error = scrub_secrets(last_error_line(log))
        with write_transaction(self.engine) as connection:
            mark_dead_runs(connection)
            run_id = run_of_job(connection, job_id)
            if run_id is None:
                why = ending.lost or "it ended before its crawl opened a run"
                reason = f"failed: job {job_id} on {node.name}: {why}"
                if last_error:
                    reason += f": {last_error}"
                run_id = insert_closed_run(
                    connection,
                    spider=spec.spider,
                    arguments=spec.arguments,
                    trigger=spec.name,
                    status="failed",
                    reason=reason,
                    node=node.name,
                    job_id=job_id,
                )
            elif ending.interrupted:
                set_outcome(
                    connection,
                    run_id,
                    "interrupted",
                    f"interrupted: {ending.interrupted}",
                    only_if=("running", "interrupted"),
                )
            else:
                why = ending.lost or "it crashed or was killed"
                set_outcome(
                    connection,
                    run_id,
                    "failed",
                    f"failed: job {job_id} on {node.name} ended without closing its run ({why})",
                )
            row = get_run(connection, run_id)
        assert row is not None
        return run_id, row.status, row.finish_reason or "", dict(row.stats or {})


@dataclass
class _Ending:
    """How following a job ended."""

    #: Why the job is no longer followed although it may still run (the service is stopping).
    left_running: str | None = None
    #: Why the node cannot tell how the job ended (unreachable, restarted), else None.
    lost: str | None = None
    #: Why the dispatcher stopped the job itself (max run time), else None.
    interrupted: str | None = None
