"""Scheduled crawls: the real `archiver scheduler` process against the local demo site.

The service runs as a subprocess (`python -m archiver scheduler`), exactly as systemd starts it;
schedules are added with the real CLI, and what happened is read back from the database. Every
test stops its service in `finally`, so no process outlives a test. Crawls are kept tiny
(`max_pages`, no download delay) and intervals are one second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from archiver.cli import main as cli
from archiver.db import make_engine, open_archive, write_transaction
from archiver.db.models import Release
from archiver.db.runs import pid_alive
from archiver.db.schedules import (
    add_schedule,
    get_schedule,
    list_schedules,
    remove_schedule,
    schedule_overview,
    set_enabled,
)
from archiver.db.tables import RUNS
from archiver.demo.server import DemoServer
from archiver.errors import ScheduleError
from archiver.outcome import EXIT_EMPTY_FILTER, EXIT_ERROR, EXIT_INTERRUPTED, for_exit_code
from archiver.process.crawl import CrawlResult
from archiver.scheduler.hooks import run_failure_hook
from archiver.scheduler.lock import LockHeldError, ServiceLock, lock_holder
from archiver.scheduler.runner import RunReport, record_skipped, settle_run
from archiver.scheduler.schedules import new_schedule
from tests.plugins.cli import run_cli
from tests.plugins.db import open_test_run, read_run

# What keeps a crawl of the local site short: no politeness delays, one listing page.
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "ROBOTSTXT_OBEY=0"]


# -- helpers -------------------------------------------------------------------------------------


def archiver(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a fresh process."""
    return run_cli(*args, cwd=cwd, timeout=120)


def add(url: str, name: str, server: DemoServer, *extra: str, cwd: Path) -> None:
    """`archiver schedule add NAME` of the demo site, every second unless `extra` says else."""
    when = [] if ("--cron" in extra or "--every" in extra) else ["--every", "1s"]
    done = archiver(
        "schedule",
        "add",
        name,
        "--spider",
        "amnestyusa",
        "-a",
        f"base_url={server.base_url}",
        *FAST,
        *when,
        *extra,
        "--db",
        url,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr


def runs(url: str, trigger: str | None = None) -> list[Any]:
    """Every crawl_runs row (of `trigger`), oldest first."""
    engine = make_engine(url)
    try:
        query = select(RUNS).order_by(RUNS.c.id)
        if trigger is not None:
            query = query.where(RUNS.c.trigger == trigger)
        with engine.connect() as connection:
            return list(connection.execute(query).all())
    finally:
        engine.dispose()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll `check` until it returns something true, or fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


class Service:
    """A running `archiver scheduler` subprocess with its log file."""

    def __init__(self, url: str, data_dir: Path, log: Path, *options: str) -> None:
        self.log = log
        self._log_file = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "archiver",
                "scheduler",
                "--db",
                url,
                "--data-dir",
                str(data_dir),
                "--sync-interval",
                "1s",
                *options,
            ],
            cwd=data_dir.parent,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"scheduler exited early ({self.process.returncode}):\n{self.output()}")
            return "scheduler started" in self.output()

        wait_for("the scheduler to start", ready, timeout)

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM, wait; kill if it does not stop (the test then fails on the exit status)."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -9
        finally:
            self._log_file.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Start `archiver scheduler` subprocesses; every one is stopped after the test."""
    started: list[Service] = []

    def start(url: str, *options: str, ready: bool = True) -> Service:
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        # As the README's server set-up does: the service runs on an archive, never makes one.
        upgraded = archiver("db", "upgrade", "--db", url, cwd=tmp_path)
        assert upgraded.returncode == 0, upgraded.stderr
        running = Service(url, data, tmp_path / f"scheduler-{len(started)}.log", *options)
        started.append(running)
        if ready:
            running.wait_ready()
        return running

    yield start
    for running in started:
        running.stop()


def assert_no_overlap(rows: list[Any]) -> None:
    """Crawls of one schedule (skipped fires aside) never ran at the same time."""
    spans = sorted((row.started_at, row.finished_at) for row in rows if row.status != "skipped")
    for (_, end), (start, _) in pairwise(spans):
        assert end is not None and end <= start, f"runs overlap: {spans}"


def assert_consistent(url: str) -> None:
    """No run left running, every closed run has an end, releases point at existing runs."""
    rows = runs(url)
    assert rows, "no run was recorded"
    assert not [row.id for row in rows if row.status == "running"]
    assert all(row.finished_at is not None for row in rows)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            releases = Release.__table__
            dangling = connection.execute(
                select(releases.c.id).where(
                    releases.c.last_run_id.is_not(None),
                    releases.c.last_run_id.not_in(select(RUNS.c.id)),
                )
            ).all()
            assert dangling == []
            if engine.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    finally:
        engine.dispose()


# -- schedules: validation and the table (fast, both dialects) -----------------------------------


def in_transaction(engine: Any, function: Callable[..., Any], *args: Any, **options: Any) -> Any:
    """`function(connection, *args, **options)` in a write transaction of its own."""
    with write_transaction(engine) as connection:
        return function(connection, *args, **options)


def test_schedules_are_stored_listed_paused_and_removed(archive_engine: Any) -> None:
    spec = new_schedule("syria", "amnestyusa", {"country": "syria"}, every="6h", jitter="5m")
    assert in_transaction(archive_engine, add_schedule, spec) is False
    with pytest.raises(ScheduleError, match="exists already"):
        in_transaction(archive_engine, add_schedule, spec)
    changed = new_schedule("syria", "amnestyusa", {"country": "syria"}, cron="0 */6 * * *")
    assert in_transaction(archive_engine, add_schedule, changed, replace_existing=True) is True

    stored = in_transaction(archive_engine, get_schedule, "syria")
    assert (stored.cron, stored.interval_seconds, stored.arguments) == (
        "0 */6 * * *",
        None,
        {"country": "syria"},
    )
    assert in_transaction(archive_engine, set_enabled, "syria", False) is True
    assert in_transaction(archive_engine, list_schedules)[0].enabled is False
    in_transaction(archive_engine, set_enabled, "syria", True)

    record_skipped(archive_engine, stored, "previous run of this schedule still running")
    (overview,) = in_transaction(archive_engine, schedule_overview)
    assert overview.last_run_status == "skipped"

    in_transaction(archive_engine, remove_schedule, "syria")
    with pytest.raises(ScheduleError, match="no schedule named 'syria'"):
        in_transaction(archive_engine, get_schedule, "syria")
    with pytest.raises(ScheduleError, match="no schedule named"):
        in_transaction(archive_engine, remove_schedule, "syria")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--spider", "nosuchspider", "--every", "6h"], "unknown spider 'nosuchspider'"),
        (["--spider", "amnestyusa", "--cron", "0 25 * * *"], "invalid cron expression"),
        (["--spider", "amnestyusa", "--cron", "every day"], "expected 5 fields"),
        (["--spider", "amnestyusa", "--every", "6 hours"], "invalid duration '6 hours'"),
        (["--spider", "amnestyusa"], "give --every or --cron"),
        (["--spider", "amnestyusa", "--every", "1h", "--timezone", "Mars/Base"], "time zone"),
        (["--spider", "amnestyusa", "-a", "colour=red", "--every", "1h"], "unknown argument"),
    ],
)
def test_schedule_add_refuses_bad_input_in_one_line(
    sqlite_url: str, options: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, ["schedule", "add", "x", *options, "--db", sqlite_url])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_schedule_add_checks_its_settings_and_keeps_a_layout_file_by_absolute_path(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service runs in another folder, at 3 a.m.: what can be checked is checked now."""
    (tmp_path / "mylayouts.toml").write_text('[[layout]]\nname = "2027"\ncard = [".teaser"]\n')
    (tmp_path / "broken.toml").write_text("[[layout]\n")
    monkeypatch.chdir(tmp_path)
    add = ["schedule", "add", "--spider", "amnestyusa", "--every", "6h", "--db", sqlite_url]
    result = CliRunner().invoke(
        cli, [*add, "fixed", "-s", "ARCHIVER_EXTRACT_LAYOUTS=mylayouts.toml"]
    )
    assert result.exit_code == 0, result.output
    engine = make_engine(sqlite_url)
    try:
        stored = in_transaction(engine, get_schedule, "fixed").settings
    finally:
        engine.dispose()
    assert stored == {"ARCHIVER_EXTRACT_LAYOUTS": str(tmp_path / "mylayouts.toml")}

    broken = CliRunner().invoke(cli, [*add, "b", "-s", "ARCHIVER_EXTRACT_LAYOUTS=broken.toml"])
    assert broken.exit_code == 2 and "layout file" in broken.output and "not TOML" in broken.output
    bad = CliRunner().invoke(cli, [*add, "c", "-s", "DOWNLOAD_DELAY=soon"])
    assert bad.exit_code == 2 and "setting DOWNLOAD_DELAY='soon'" in bad.output
    typo = CliRunner().invoke(cli, [*add, "d", "-s", "DOWNLOAD_DELAI=1"])
    assert typo.exit_code == 0 and "did you mean DOWNLOAD_DELAY?" in typo.output
    listed = CliRunner().invoke(cli, ["schedule", "list", "--db", sqlite_url])
    assert " b " not in listed.output and " c " not in listed.output


def test_schedule_add_refuses_a_duplicate_name(sqlite_url: str) -> None:
    command = ["schedule", "add", "syria", "--spider", "amnestyusa", "--every", "6h"]
    first = CliRunner().invoke(cli, [*command, "--db", sqlite_url])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(cli, [*command, "--db", sqlite_url])
    assert second.exit_code == 1
    assert "a schedule named 'syria' exists already" in second.output
    listed = CliRunner().invoke(cli, ["schedule", "list", "--db", sqlite_url])
    assert "syria" in listed.output and "every 6h" in listed.output
    assert "no scheduler is running" in listed.output


def test_a_crawl_that_never_opened_its_row_is_recorded_with_its_own_error(
    archive_engine: Any,
) -> None:
    spec = new_schedule("broken", "amnestyusa", every="1h", verify_spider=False)
    error = "database sqlite:///x.db: unable to open database file"
    result = CrawlResult(EXIT_ERROR, for_exit_code(EXIT_ERROR, error))
    run_id, status, reason = settle_run(archive_engine, spec, result, pid=None)
    assert (status, reason) == ("failed", error)
    row = read_run(archive_engine, run_id)
    assert row is not None and (row.trigger, row.status) == ("broken", "failed")


def test_a_run_the_service_stopped_says_why(archive_engine: Any) -> None:
    spec = new_schedule("slow", "amnestyusa", every="1h", verify_spider=False)
    run_id = open_test_run(archive_engine, trigger="slow")
    result = CrawlResult(-9, for_exit_code(-9), {"archiver/run_id": run_id})
    settled = settle_run(archive_engine, spec, result, pid=None, interrupted_because="max run time")
    assert settled == (run_id, "interrupted", "interrupted: max run time")


def test_the_lock_refuses_a_second_holder_and_names_the_first(db_url: str) -> None:
    open_archive(db_url, create=True).dispose()
    with ServiceLock(db_url):
        with pytest.raises(LockHeldError, match=f"pid {os.getpid()} on"):
            ServiceLock(db_url).acquire(wait=0)
        assert f"pid {os.getpid()}" in (lock_holder(db_url) or "")
    assert lock_holder(db_url) is None
    ServiceLock(db_url).acquire(wait=0).release()


# -- the real service ----------------------------------------------------------------------------


@pytest.mark.slow
def test_service_fires_a_schedule_added_while_it_runs_every_second_and_obeys_pause(
    db_url: str, tmp_path: Path, service: Callable[..., Service]
) -> None:
    with DemoServer() as site:
        running = service(db_url)  # no schedules yet: it must notice the one added below
        add(db_url, "syria", site, "-a", "country=syria", "-a", "max_pages=1", cwd=tmp_path)
        wait_for(
            "two finished runs",
            lambda: len([r for r in runs(db_url, "syria") if r.status == "finished"]) >= 2,
            timeout=120,
        )
        listed = archiver("schedule", "list", "--db", db_url, cwd=tmp_path)
        assert "scheduler running" in listed.stdout and "syria" in listed.stdout

        paused = archiver("schedule", "pause", "syria", "--db", db_url, cwd=tmp_path)
        assert paused.returncode == 0, paused.stderr
        wait_for("the pause to be noticed", lambda: "schedule syria paused" in running.output())
        time.sleep(2.5)  # a few fire times
        assert running.stop() == 0
    after_pause = running.output().split("schedule syria paused", 1)[1]
    assert "schedule syria: starting" not in after_pause, "a paused schedule fired"

    rows = runs(db_url, "syria")
    assert {row.spider for row in rows} == {"amnestyusa"}
    assert all(row.arguments["country"] == "syria" for row in rows)
    first, second = [row for row in rows if row.status == "finished"][:2]
    # The second run parsed the same releases and found nothing new: that is a good run.
    assert first.items_new > 0 and second.items_new == 0 and second.cards > 0
    assert_no_overlap(rows)
    assert_consistent(db_url)
    logs = sorted((tmp_path / "data" / "logs").glob("syria-*.log"))
    assert len(logs) >= 2 and "Scrapy" in logs[0].read_text()


@pytest.mark.slow
def test_slow_site_runs_never_overlap_and_skipped_fires_are_recorded(
    sqlite_url: str, tmp_path: Path, service: Callable[..., Service]
) -> None:
    # Each answer takes 1 s (robots.txt and two pages): the first run outlasts at least two of
    # the schedule's one-second fires however fast the crawl itself starts and parses.
    with DemoServer(delay=1.0) as site:
        add(sqlite_url, "slow", site, "-a", "country=syria", "-a", "max_pages=2", cwd=tmp_path)
        running = service(sqlite_url)

        def done() -> bool:
            rows = runs(sqlite_url, "slow")
            finished = [r for r in rows if r.status == "finished"]
            return bool(finished) and any(r.started_at > finished[0].finished_at for r in rows)

        wait_for("a finished run and a fire after it", done, timeout=120)
        assert running.stop() == 0
    rows = runs(sqlite_url, "slow")
    assert_no_overlap(rows)
    skipped = [row for row in rows if row.status == "skipped"]
    assert len(skipped) >= 2, "fires during the first run were not recorded"
    assert {row.finish_reason for row in skipped} == {"previous run of this schedule still running"}
    # Each of them fell while the service had a crawl of this schedule going.
    log = running.output()
    assert log.count("fire skipped, previous run still running") == len(skipped)
    assert_consistent(sqlite_url)


@pytest.mark.slow
def test_sigterm_during_a_run_stops_within_the_grace_period_and_marks_it_interrupted(
    sqlite_url: str, tmp_path: Path, service: Callable[..., Service]
) -> None:
    grace = 8.0
    with DemoServer(delay=2.0) as site:
        add(sqlite_url, "stuck", site, "-a", "country=syria", cwd=tmp_path)
        running = service(sqlite_url, "--grace", f"{int(grace)}s")
        run = wait_for(
            "a running crawl",
            lambda: [r for r in runs(sqlite_url, "stuck") if r.status == "running"],
            timeout=60,
        )[0]
        assert pid_alive(run.pid)
        signalled = time.monotonic()
        running.process.send_signal(signal.SIGTERM)
        status = running.process.wait(timeout=grace + 20)
        took = time.monotonic() - signalled
        running.stop()
    assert status == 0, running.output()
    assert took <= grace + 1.5, f"took {took:.1f} s to stop"
    assert not pid_alive(run.pid)
    (row,) = [r for r in runs(sqlite_url) if r.id == run.id]
    assert row.status == "interrupted"
    assert row.finish_reason.startswith("interrupted")
    assert_consistent(sqlite_url)


@pytest.mark.slow
def test_sighup_reloads_the_schedules_at_once(
    sqlite_url: str, tmp_path: Path, service: Callable[..., Service]
) -> None:
    with DemoServer() as site:
        running = service(sqlite_url, "--sync-interval", "1h")
        add(sqlite_url, "hup", site, "--cron", "0 3 * * *", cwd=tmp_path)
        running.process.send_signal(signal.SIGHUP)
        wait_for("SIGHUP to load the schedule", lambda: "schedule hup loaded" in running.output())
        next_fire = wait_for(
            "the next fire time to be recorded", lambda: schedule_next_fire(sqlite_url, "hup")
        )
        assert (next_fire.hour, next_fire.minute) == (3, 0)  # 03:00 UTC
        assert running.stop() == 0


def schedule_next_fire(url: str, name: str) -> datetime | None:
    engine = make_engine(url)
    try:
        (row,) = [r for r in in_transaction(engine, schedule_overview) if r.spec.name == name]
        return row.next_fire_at
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_second_scheduler_on_the_same_database_refuses_to_start(
    db_url: str, tmp_path: Path, service: Callable[..., Service]
) -> None:
    first = service(db_url)
    second = archiver("scheduler", "--db", db_url, "--data-dir", str(tmp_path / "d2"), cwd=tmp_path)
    assert second.returncode == 1
    assert "another scheduler is already running" in second.stderr
    assert f"pid {first.process.pid}" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1, second.stderr
    assert first.process.poll() is None, "the first scheduler must keep running"
    assert first.stop() == 0


@pytest.mark.slow
def test_schedule_run_of_a_filter_that_matches_nothing_has_its_own_exit_status(
    sqlite_url: str, tmp_path: Path
) -> None:
    with DemoServer() as site:  # country=atlantis: page 1 answers 200 without a single card
        add(sqlite_url, "nowhere", site, "-a", "country=atlantis", cwd=tmp_path)
        data = ["--data-dir", str(tmp_path / "data"), "--db", sqlite_url]
        empty = archiver("schedule", "run", "nowhere", *data, cwd=tmp_path)
    assert empty.returncode == EXIT_EMPTY_FILTER, empty.stdout + empty.stderr
    assert "the filter country=atlantis matched nothing" in empty.stderr
    (nothing,) = runs(sqlite_url, "nowhere")
    assert nothing.status == "finished" and nothing.health is None  # no redesign alarm
    assert nothing.finish_reason.startswith("the filter country=atlantis matched nothing")
    assert nothing.pages == 1


@pytest.mark.slow
def test_max_runtime_ends_a_run_that_hangs(sqlite_url: str, tmp_path: Path) -> None:
    with DemoServer(delay=3.0) as site:  # every answer takes 3 s: the crawl outlasts its limit
        add(sqlite_url, "hang", site, "--every", "1h", cwd=tmp_path)
        data = ["--data-dir", str(tmp_path / "data"), "--db", sqlite_url]
        ended = archiver("schedule", "run", "hang", "--max-runtime", "8s", *data, cwd=tmp_path)
    assert ended.returncode == EXIT_INTERRUPTED, ended.stdout + ended.stderr
    (run,) = runs(sqlite_url, "hang")
    assert run.status == "interrupted"
    assert run.finish_reason == "interrupted: max run time 8s reached"
    assert run.pid is None or not pid_alive(run.pid)  # None: ended before its spider opened


@pytest.mark.slow
def test_on_failure_command_alerts_about_runs_that_did_not_go_well_only(
    sqlite_url: str, tmp_path: Path, service: Callable[..., Service]
) -> None:
    alerts = tmp_path / "alerts.txt"
    fields = "$ARCHIVER_SCHEDULE|$ARCHIVER_STATUS|$ARCHIVER_REASON|$ARCHIVER_RUN_ID|"
    fields += "$ARCHIVER_EXIT_CODE|$ARCHIVER_LOG"
    hook = f'echo "{fields}" >> {alerts}'
    with DemoServer() as site:
        add(sqlite_url, "good", site, "-a", "country=syria", "-a", "max_pages=1", cwd=tmp_path)
        add(sqlite_url, "nowhere", site, "-a", "country=atlantis", cwd=tmp_path)  # no cards
        running = service(sqlite_url, "--on-failure", hook)
        wait_for("an alert", lambda: alerts.exists() and alerts.read_text().strip(), timeout=90)
        wait_for(
            "a finished run of the good schedule",
            lambda: [r for r in runs(sqlite_url, "good") if r.status == "finished"],
            timeout=90,
        )
        assert running.stop() == 0
    lines = alerts.read_text().splitlines()
    failed = {row.id: row for row in runs(sqlite_url, "nowhere") if row.status == "finished"}
    for line in lines:
        name, status, reason, run_id, code, log = line.split("|")
        assert (name, status, code) == ("nowhere", "finished", "6")
        assert reason.startswith("the filter country=atlantis matched nothing")
        assert int(run_id) in failed and Path(log).name.startswith("nowhere-")
    assert "good" not in alerts.read_text()


def test_a_failing_or_hanging_hook_is_logged_and_never_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = RunReport("syria", "interrupted", "max run time 1h reached", 4, 4)
    assert run_failure_hook('test "$ARCHIVER_RUN_ID" = 4 && exit 5', report) == 5
    assert "exited with 5" in caplog.text
    assert run_failure_hook("sleep 5", report, timeout=0.5) is None
    assert "killed after" in caplog.text
    assert run_failure_hook('test "$ARCHIVER_STATUS" = interrupted', report) == 0
