"""`archiver scheduler`: the long-lived service that fires schedules, in the foreground.

APScheduler 3.x (BackgroundScheduler, thread pool) holds one job per enabled schedule, with an
explicit id (`schedule:<name>`), `max_instances=1` (a schedule never overlaps itself),
`coalesce=True` (a backlog of fires becomes one run) and a misfire grace time. Each fire runs
the crawl in a child process (`archiver.scheduler.runner`), so no reactor ever runs here; a
fire while the previous run still goes is recorded as a `skipped` run.

The main thread only watches: every `sync_interval` seconds (at once on SIGHUP) it re-reads the
`schedules` table and adds, replaces, pauses or removes jobs, so `archiver schedule add/pause`
take effect without a restart; it also checks the service lock is still held. SIGTERM or SIGINT
stops new fires, asks running crawls to stop (Scrapy closes cleanly and records the run as
interrupted), kills what is still running shortly before the grace period ends, marks those
runs interrupted, and returns. A second signal kills the crawls at once.

Jobs live in memory: the `schedules` table is the only truth, so there is nothing to migrate
or go stale; a fire missed while the service was down (within the misfire grace time) is run
at start.

With Scrapyd nodes (`--scrapyd URL`, repeated), each fire is a job on the least busy node
instead of a child process here (`archiver.scheduler.dispatch`, docs/scale-out.md); at
shutdown the service stops following those jobs and leaves them running.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from archiver.config import data_dir as resolve_data_dir
from archiver.config import mask_url
from archiver.db import open_archive, write_transaction
from archiver.db.runs import last_started_by_trigger, mark_dead_runs
from archiver.db.schedules import ScheduleSpec, list_schedules, set_next_fire_times
from archiver.errors import ScheduleError
from archiver.scheduler.dispatch import Dispatcher
from archiver.scheduler.hooks import run_failure_hook
from archiver.scheduler.lock import ServiceLock
from archiver.scheduler.notify import notify_run
from archiver.scheduler.runner import RunReport, record_skipped, run_schedule
from archiver.scheduler.schedules import missed_fire, trigger_for
from archiver.scheduler.scrapyd import DEFAULT_PROJECT, ScrapydNode

logger = logging.getLogger("archiver.scheduler")

JOB_PREFIX = "schedule:"


def job_id(name: str) -> str:
    """The APScheduler job id of schedule `name`.

    >>> job_id("syria")
    'schedule:syria'
    """
    return JOB_PREFIX + name


@dataclass
class ServiceOptions:
    """How the service runs; every field has a command-line option in `archiver scheduler`."""

    db_url: str
    data_dir: Path | None = None
    #: Default limit of one run (a schedule's own `--max-runtime` wins); None = no limit.
    max_runtime: float | None = 4 * 3600
    #: Seconds running crawls get to stop cleanly at shutdown (and after --max-runtime).
    grace: float = 30.0
    #: A fire that could not start within this many seconds of its time is dropped (recorded).
    misfire_grace: int = 600
    #: How often the schedules table is re-read.
    sync_interval: float = 5.0
    #: Crawls that may run at the same time (each schedule still runs one at a time).
    max_concurrent: int = 4
    #: Shell command run when a fire fails or is interrupted (see archiver.scheduler.hooks).
    on_failure: str | None = None
    #: Apprise URLs told about runs that need a look, and new releases (archiver.scheduler.notify).
    notify: tuple[str, ...] = ()
    #: The web view's address, for links to a run in notifications.
    web_url: str | None = None
    #: Scrapyd nodes to send the crawls to (URLs); none: crawls run here, in child processes.
    scrapyd: tuple[str, ...] = ()
    #: The Scrapyd project the archiver is deployed as.
    scrapyd_project: str = DEFAULT_PROJECT
    #: Seconds between two looks at a job's state on its node.
    poll_interval: float = 2.0
    #: A job whose node has not answered for it (and whose run had no heartbeat) for this long
    #: is given up: its run is failed.
    lost_after: float = 180.0


class SchedulerService:
    """The service; `run()` blocks until a stop signal (or `request_stop()`)."""

    def __init__(self, options: ServiceOptions) -> None:
        self.options = options
        self.data_dir = resolve_data_dir(options.data_dir)
        self.engine: Engine | None = None
        self.scheduler: BackgroundScheduler | None = None
        self.dispatcher: Dispatcher | None = None
        self._specs: dict[str, ScheduleSpec] = {}
        self._fingerprints: dict[str, tuple[Any, ...]] = {}
        self._next_fires: dict[str, datetime | None] = {}
        self._children: set[subprocess.Popen[bytes]] = set()
        self._active = 0
        self._state = threading.Condition()
        # Set from signal handlers: plain attributes, never locks (a handler runs in the main
        # thread between bytecodes, possibly while that thread holds the very lock).
        self._stop_requested = False
        self._sync_requested = False
        self._kill_requested = False
        self._stopping = False

    # -- control -------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop firing and end running crawls (what SIGTERM does); a second call kills them."""
        if self._stop_requested:
            self._kill_requested = True
        self._stop_requested = True

    def request_sync(self) -> None:
        """Re-read the schedules table now (what SIGHUP does)."""
        self._sync_requested = True

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop the service, SIGHUP re-reads the schedules (main thread only)."""

        def stop(signum: int, _frame: FrameType | None) -> None:
            self.request_stop()

        def sync(signum: int, _frame: FrameType | None) -> None:
            self.request_sync()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, sync)

    # -- main loop -----------------------------------------------------------------------------

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Take the lock, fire schedules until stopped; returns the process exit status.

        Raises LockHeldError when another service runs on the same database.
        """
        lock = ServiceLock(self.options.db_url).acquire()
        status = 0
        try:
            # Schema, and the runs a killed service left "running".
            self.engine = open_archive(self.options.db_url)
            if self.options.scrapyd:
                self.dispatcher = self._dispatcher(self.engine)
            self.scheduler = BackgroundScheduler(
                executors={"default": ThreadPoolExecutor(self.options.max_concurrent)},
                job_defaults={
                    "max_instances": 1,
                    "coalesce": True,
                    "misfire_grace_time": self.options.misfire_grace,
                },
                timezone=UTC,
            )
            self.scheduler.add_listener(
                self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR
            )
            self.scheduler.start()
            self._sync(catch_up=True)
            logger.info(
                "scheduler started on %s: %d schedules (%d enabled); logs in %s",
                mask_url(self.options.db_url),
                len(self._specs),
                sum(spec.enabled for spec in self._specs.values()),
                self.data_dir / "logs",
            )
            if on_ready is not None:
                on_ready()
            status = self._watch(lock)
        finally:
            try:
                self._shutdown()
            finally:
                if self.engine is not None:
                    self.engine.dispose()
                lock.release()
        logger.info("scheduler stopped")
        return status

    def _dispatcher(self, engine: Engine) -> Dispatcher:
        """The dispatcher to the Scrapyd nodes; says which of them answer now."""
        options = self.options
        dispatcher = Dispatcher(
            engine,
            [ScrapydNode(url) for url in options.scrapyd],
            project=options.scrapyd_project,
            poll_interval=options.poll_interval,
            lost_after=options.lost_after,
            grace=options.grace,
        )
        for load in dispatcher.loads():
            if load.status is None:
                logger.warning("Scrapyd node %s: %s", load.node.name, load.error)
            else:
                logger.info(
                    "Scrapyd node %s: %d running, %d pending",
                    load.node.name,
                    load.status.running,
                    load.status.pending,
                )
        return dispatcher

    def _watch(self, lock: ServiceLock) -> int:
        last_sync = time.monotonic()
        while not self._stop_requested:
            time.sleep(0.1)
            due = time.monotonic() - last_sync >= self.options.sync_interval
            if not (due or self._sync_requested):
                continue
            if self._sync_requested:
                logger.info("SIGHUP: re-reading the schedules")
            self._sync_requested = False
            last_sync = time.monotonic()
            try:
                lock.check()
            except SQLAlchemyError as error:
                logger.error("lost the scheduler lock's database connection (%s); stopping", error)
                return 1
            try:
                self._sync()
            except SQLAlchemyError as error:
                # The database may come back; the jobs already loaded keep firing meanwhile.
                logger.warning("could not read the schedules: %s", str(error).splitlines()[0])
        logger.info("stop requested: no new runs; stopping %d running crawl(s)", self._active)
        return 0

    # -- schedules -> jobs ---------------------------------------------------------------------

    def _sync(self, catch_up: bool = False) -> None:
        """Make the jobs match the schedules table (only changed schedules are touched)."""
        assert self.engine is not None and self.scheduler is not None
        with self.engine.connect() as connection:
            specs = {spec.name: spec for spec in list_schedules(connection)}
        for name in set(self._fingerprints) - set(specs):
            if self.scheduler.get_job(job_id(name)) is not None:
                self.scheduler.remove_job(job_id(name))
            del self._fingerprints[name]
            self._specs.pop(name, None)
            self._next_fires.pop(name, None)
            logger.info("schedule %s removed", name)
        last_started = self._last_started() if catch_up else {}
        now = datetime.now(UTC)
        for name, spec in specs.items():
            fingerprint = spec.fingerprint()
            if self._fingerprints.get(name) == fingerprint:
                continue
            known = name in self._fingerprints
            self._fingerprints[name] = fingerprint
            self._specs[name] = spec
            try:
                trigger = trigger_for(spec)
            except ScheduleError as error:  # added by hand or by an older version
                logger.error("schedule %s cannot run: %s", name, error)
                if self.scheduler.get_job(job_id(name)) is not None:
                    self.scheduler.remove_job(job_id(name))
                continue
            extra: dict[str, Any] = {}
            if not spec.enabled:
                extra["next_run_time"] = None  # a paused job
            elif catch_up:
                grace = timedelta(seconds=self.options.misfire_grace)
                missed = missed_fire(spec, last_started.get(name), now, grace)
                if missed is not None:
                    logger.info("schedule %s missed its fire at %s: running it now", name, missed)
                    extra["next_run_time"] = now
            self.scheduler.add_job(
                self._fire,
                trigger=trigger,
                args=[name],
                id=job_id(name),
                name=name,
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=self.options.misfire_grace,
                **extra,
            )
            state = "paused" if not spec.enabled else "changed" if known else "loaded"
            logger.info(
                "schedule %s %s: %s %s, %s",
                name,
                state,
                spec.spider,
                " ".join(f"{k}={v}" for k, v in spec.arguments.items()),
                spec.describe(),
            )
        self._record_next_fires()

    def _last_started(self) -> dict[str, datetime]:
        assert self.engine is not None
        with self.engine.connect() as connection:
            return last_started_by_trigger(connection)

    def _record_next_fires(self) -> None:
        assert self.engine is not None and self.scheduler is not None
        changed: dict[str, datetime | None] = {}
        for name in self._specs:
            job = self.scheduler.get_job(job_id(name))
            moment = job.next_run_time if job is not None else None
            if name not in self._next_fires or self._next_fires[name] != moment:
                changed[name] = moment
        if changed:
            with write_transaction(self.engine) as connection:
                set_next_fire_times(connection, changed)
        self._next_fires.update(changed)

    # -- fires ---------------------------------------------------------------------------------

    def _fire(self, name: str) -> None:
        """The job: one run of schedule `name` (runs in the executor's thread pool)."""
        spec = self._specs.get(name)
        with self._state:
            if spec is None or self._stopping:
                return
            self._active += 1
        started: list[subprocess.Popen[bytes]] = []

        def on_start(process: subprocess.Popen[bytes]) -> None:
            started.append(process)
            with self._state:
                self._children.add(process)
                if self._stopping:  # the stop came while the child was starting
                    process.terminate()

        try:
            assert self.engine is not None
            if self.dispatcher is not None:
                report = self.dispatcher.dispatch(
                    spec,
                    max_runtime=self.options.max_runtime,
                    stop_reason=lambda: "scheduler stopped" if self._stopping else None,
                )
            else:
                report = self._run_here(spec, on_start)
            level = logging.INFO if report.ok else logging.WARNING
            logger.log(level, "%s", report.summary())
            # A run the service itself stopped (shutdown) is no news to alert anyone about.
            if not report.ok and self.options.on_failure and not self._stopping:
                run_failure_hook(self.options.on_failure, report)
            if self.options.notify and not self._stopping:
                notify_run(
                    report, spec, self.engine, self.options.notify, web_url=self.options.web_url
                )
        except Exception:
            logger.exception("schedule %s: the run could not be started or recorded", name)
        finally:
            with self._state:
                self._children.difference_update(started)
                self._active -= 1
                self._state.notify_all()

    def _run_here(
        self, spec: ScheduleSpec, on_start: Callable[[subprocess.Popen[bytes]], None]
    ) -> RunReport:
        """One run of `spec` in a child process of this service."""
        assert self.engine is not None
        return run_schedule(
            spec,
            self.engine,
            db_url=self.options.db_url,
            data_dir=self.data_dir,
            max_runtime=self.options.max_runtime,
            grace=self.options.grace,
            on_start=on_start,
            stop_reason=lambda: "scheduler stopped" if self._stopping else None,
        )

    def _on_event(self, event: JobEvent) -> None:
        """Record fires that did not start a crawl (runs in the scheduler's thread)."""
        name = event.job_id.removeprefix(JOB_PREFIX)
        spec = self._specs.get(name)
        if spec is None or self.engine is None:
            return
        try:
            if event.code == EVENT_JOB_MAX_INSTANCES:
                assert isinstance(event, JobSubmissionEvent)
                record_skipped(self.engine, spec, "previous run of this schedule still running")
                logger.warning("schedule %s: fire skipped, previous run still running", name)
            elif event.code == EVENT_JOB_MISSED:
                assert isinstance(event, JobExecutionEvent)
                late = datetime.now(UTC) - event.scheduled_run_time
                reason = f"missed: could not start within the misfire grace ({late} late)"
                record_skipped(self.engine, spec, reason)
                logger.warning("schedule %s: %s", name, reason)
            elif event.code == EVENT_JOB_ERROR:
                assert isinstance(event, JobExecutionEvent)
                logger.error("schedule %s: job failed: %s", name, event.exception)
        except Exception:
            logger.exception("schedule %s: could not record a fire", name)

    # -- shutdown ------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        """No new fires; running crawls get SIGTERM, then SIGKILL before the grace period ends."""
        with self._state:
            self._stopping = True
            children = [child for child in self._children if child.poll() is None]
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for child in children:
            child.terminate()  # Scrapy stops cleanly and records the run as interrupted
        grace = self.options.grace
        deadline = time.monotonic() + grace
        # Leave time inside the grace period to reap killed crawls and mark their runs.
        kill_at = deadline - min(3.0, grace / 4)
        killed = False
        with self._state:
            while self._active:
                now = time.monotonic()
                if not killed and (now >= kill_at or self._kill_requested):
                    self._kill_children()
                    killed = True
                if now >= deadline + 10:  # a run that cannot even record itself: give up
                    logger.error("%d run(s) did not finish recording; exiting anyway", self._active)
                    break
                self._state.wait(timeout=0.1)
        if self.engine is not None:
            try:
                with write_transaction(self.engine) as connection:
                    mark_dead_runs(connection)  # any row a killed crawl left running
                    set_next_fire_times(connection, dict.fromkeys(self._specs))
            except SQLAlchemyError as error:
                logger.warning("could not tidy the runs at shutdown: %s", error)

    def _kill_children(self) -> None:
        # Called with self._state held.
        for child in self._children:
            if child.poll() is None:
                logger.warning("crawl pid %d did not stop in time: killing it", child.pid)
                child.kill()
