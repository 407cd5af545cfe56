"""Run one crawl in its own process and report on it: used by the CLI, the demo and the scheduler.

Twisted's reactor cannot restart inside a process, so `run_crawl` launches
`python -m archiver.process.worker` and follows it through the status file the worker's
`StatusFile` extension keeps. Call it as often as you like from the same Python process.

The crawl's settings go to the worker in a file only the owner can read, inside a private
temporary folder that is removed afterwards: a database URL with a password never appears on a
command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.config import data_dir as resolve_data_dir
from archiver.config import scrub_secrets
from archiver.durations import format_duration
from archiver.errors import ArgumentError
from archiver.health import Health
from archiver.jsonsafe import write_json_atomic
from archiver.outcome import EXIT_INTERRUPTED, EXIT_OK, Outcome, for_exit_code

# Settings for crawling a local copy (demo, tests, benchmarks): our own server, no need to wait.
LOCAL_SITE_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
}


@dataclass
class CrawlResult:
    """How one crawl ended: its outcome, exit status, final Scrapy stats, where its log is."""

    returncode: int
    outcome: Outcome
    stats: dict[str, Any] = field(default_factory=dict)
    log_path: Path | None = None
    duration: float = 0.0
    warnings: list[str] = field(default_factory=list)  # the crawl process's `warning:` lines

    @property
    def ok(self) -> bool:
        return self.returncode == EXIT_OK

    @property
    def message(self) -> str:
        """`ok`, `no items parsed: ...`, `interrupted: ...`, or what else ended the crawl."""
        return self.outcome.message

    def stat(self, key: str, default: int = 0) -> int:
        """An integer stat (0 when absent)."""
        value = self.stats.get(key, default)
        return int(value) if isinstance(value, int | float) else default


def default_log_path(spider: str, data: Path) -> Path:
    """`data/logs/<spider>-<UTC time>-<pid>.log`: one log file per run."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return data / "logs" / f"{spider}-{stamp}-{os.getpid()}.log"


def worker_command(
    spider: str, args: Mapping[str, str], settings_file: Path, stats_file: Path
) -> list[str]:
    """The command line of the crawl process (no setting values on it)."""
    command = [sys.executable, "-m", "archiver.process.worker", spider]
    command += ["--settings-file", str(settings_file), "--stats-file", str(stats_file)]
    for key, value in args.items():
        command += ["--arg", f"{key}={value}"]
    return command


def run_crawl(
    spider: str,
    args: Mapping[str, str] | None = None,
    *,
    db_url: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    log_path: Path | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    timeout: float | None = None,
    grace: float = 10.0,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
    new_session: bool = False,
    forward_signals: bool = False,
) -> CrawlResult:
    """Crawl `spider` with `args` in a child process and wait for it.

    `on_progress` gets the live stats about twice a second. `timeout` (seconds; None or 0: no
    limit) ends a crawl that runs too long: SIGTERM first (Scrapy closes cleanly, the run is
    recorded as interrupted), SIGKILL after `grace` seconds. `on_start` receives the process (the
    scheduler keeps it to stop it). `new_session` detaches the crawl from the terminal's process
    group, so a Ctrl-C meant for a service reaches only the service, which then stops its crawls
    once, cleanly. `forward_signals` (from the main thread only: the command line) passes a
    SIGINT or SIGTERM sent to this process on to the crawl the same way, once; a second one kills
    it at once. Either way the crawl's temporary folder is removed.
    """
    data = resolve_data_dir(data_dir)
    log_path = log_path or default_log_path(spider, data)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    all_settings: dict[str, Any] = {"LOG_FILE": str(log_path), "LOG_FILE_APPEND": True}
    all_settings["ARCHIVER_DATA_DIR"] = str(data)
    if db_url:
        all_settings["ARCHIVER_DATABASE_URL"] = db_url
    all_settings.update(settings or {})
    watch = _Watch(timeout or None, grace)
    with (
        tempfile.TemporaryDirectory(prefix="archiver-crawl-") as tmp,
        watch.signals(forward_signals),
    ):
        folder = Path(tmp)  # mode 0700: only this user can look inside
        settings_file, stats_file = folder / "settings.json", folder / "stats.json"
        status_file = folder / "status.json"
        all_settings["ARCHIVER_STATUS_FILE"] = str(status_file)
        write_json_atomic(settings_file, all_settings, mode=0o600)
        command = worker_command(spider, args or {}, settings_file, stats_file)
        env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "archiver.settings"}
        with (
            open(os.devnull, "rb") as devnull,
            subprocess.Popen(
                command,
                stdin=devnull,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=new_session or forward_signals,
            ) as process,
        ):
            if on_start is not None:
                on_start(process)
            stderr = watch.follow(process, status_file, on_progress)
        report = _read_json(stats_file)
        stats = dict(report.get("stats") or _read_json(status_file).get("stats") or {})
    outcome = _outcome(process.returncode, report.get("outcome"), stderr, log_path, db_url)
    if watch.stopped_because is not None:
        outcome = Outcome("interrupted", EXIT_INTERRUPTED, f"interrupted: {watch.stopped_because}")
    warnings = [
        line.removeprefix("warning:").strip()
        for line in stderr.splitlines()
        if line.startswith("warning:")
    ]
    return CrawlResult(process.returncode, outcome, stats, log_path, watch.duration, warnings)


class _Watch:
    """Follows a crawl process: progress, the time limit, and signals sent to this process."""

    def __init__(self, timeout: float | None, grace: float) -> None:
        self.timeout = timeout
        self.grace = grace
        self.started = time.monotonic()
        self.duration = 0.0
        self.stopped_because: str | None = None  # why this side stopped the crawl
        self._signals: list[int] = []
        self._terminated_at: float | None = None

    @contextlib.contextmanager
    def signals(self, forward: bool) -> Iterator[None]:
        """While the crawl runs, SIGINT and SIGTERM to this process are the crawl's to handle."""
        if not forward or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {
            number: signal.signal(number, lambda number, _frame: self._signals.append(number))
            for number in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _stop(self, process: subprocess.Popen[bytes], because: str) -> None:
        if self._terminated_at is None:
            process.send_signal(signal.SIGTERM)
            self._terminated_at = time.monotonic()
            self.stopped_because = because

    def follow(
        self,
        process: subprocess.Popen[bytes],
        status_file: Path,
        on_progress: Callable[[dict[str, Any]], None] | None,
    ) -> str:
        """Wait for the crawl, reporting progress and stopping it when asked; returns its stderr."""
        assert process.stderr is not None
        os.set_blocking(process.stderr.fileno(), False)
        chunks: list[bytes] = []
        while process.poll() is None:
            chunk = process.stderr.read()
            if chunk:
                chunks.append(chunk)
            if on_progress is not None:
                stats = _read_json(status_file).get("stats")
                if stats:
                    on_progress(stats)
            now = time.monotonic()
            if self._signals:
                name = signal.Signals(self._signals[0]).name
                if len(self._signals) > 1:
                    process.kill()  # asked twice: now
                self._stop(process, f"{'Ctrl-C' if name == 'SIGINT' else name} received")
            if self.timeout is not None and now - self.started > self.timeout:
                self._stop(process, f"time limit of {format_duration(int(self.timeout))} reached")
            if self._terminated_at is not None and now - self._terminated_at > self.grace:
                process.kill()
            time.sleep(0.1)
        rest = process.stderr.read()
        if rest:
            chunks.append(rest)
        self.duration = time.monotonic() - self.started
        return b"".join(chunks).decode("utf-8", "replace")


def _outcome(
    returncode: int, reported: Any, stderr: str, log_path: Path, db_url: str | None
) -> Outcome:
    """The outcome the worker reported, or what its exit status and last words say."""
    if isinstance(reported, dict) and reported.get("exit_code") == returncode:
        return Outcome(
            status=str(reported["status"]),
            exit_code=returncode,
            message=str(reported["message"]),
            health=Health(cards_per_page=None, flags=tuple(reported.get("flags") or ())),
        )
    error = _last_error(stderr, log_path)
    return for_exit_code(returncode, scrub_secrets(error, [db_url]) or None)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return {}


def _last_error(stderr: str, log_path: Path) -> str:
    """The most telling error line: the worker's own `error:` line, else the log's last ERROR."""
    own = [line.strip() for line in stderr.splitlines() if line.startswith("error:")]
    if own:
        return own[-1].removeprefix("error:").strip()
    try:
        logged = [
            line
            for line in log_path.read_text(errors="replace").splitlines()
            if "] ERROR:" in line or "] CRITICAL:" in line
        ]
    except OSError:
        logged = []
    return logged[-1].split("] ", 1)[-1].strip() if logged else ""


FEED_FORMATS = {
    ".jsonl": "jsonlines",
    ".jl": "jsonlines",
    ".json": "json",
    ".csv": "csv",
    ".xml": "xml",
}


def feed_settings(output: Path) -> dict[str, Any]:
    """Scrapy's FEEDS for writing the items to `output` (format from its suffix, overwritten).

    >>> feed_settings(Path("/tmp/x.csv"))["FEEDS"]["/tmp/x.csv"]["format"]
    'csv'
    """
    fmt = FEED_FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise ArgumentError(f"-o {output}: use a .jsonl, .json, .csv or .xml file")
    folder = output.absolute().parent
    if not folder.is_dir():
        raise ArgumentError(f"-o {output}: folder {folder} does not exist")
    if output.is_dir():
        raise ArgumentError(f"-o {output} is a folder: give a file name")
    existed = output.exists()
    try:  # the one sure test (permissions alone say nothing for root, or for /proc)
        with output.open("a"):
            pass
    except OSError as error:
        raise ArgumentError(f"-o {output}: cannot write there ({error.strerror})") from None
    if not existed:
        output.unlink()
    # Listing cards only: release pages (`--details`) are stored in the archive, not the feed.
    feed = {"format": fmt, "overwrite": True, "item_classes": ["archiver.items.ReleaseItem"]}
    return {"FEEDS": {str(output.absolute()): feed}}


def check_data_dir(data: Path) -> None:
    """Refuse a data folder the crawl could not write its log, pages and database into."""
    probe = data / "logs" / f".write-test-{os.getpid()}"
    try:
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise ArgumentError(f"--data-dir {data}: cannot write there ({error.strerror})") from None


@dataclass
class CrawlJob:
    """One `archiver crawl`: what to crawl, with which settings, and where its reports go."""

    spider: str
    arguments: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    output: Path | None = None  # also write the items to this feed file
    full: bool = False  # read every page (no incremental stop)
    db_url: str | None = None
    data_dir: Path | None = None
    timeout: float | None = None
    stats_file: Path | None = None  # the outcome and final stats as JSON, for scripts


def crawl_job(
    job: CrawlJob, on_progress: Callable[[dict[str, Any]], None] | None = None
) -> CrawlResult:
    """Check the job, run its crawl in a child process, and write its stats file.

    The spider and its arguments are checked by the crawl process before anything is fetched
    (exit status 2, one `error:` line): checking them here too would load Scrapy twice.
    """
    settings = dict(job.settings)
    if job.full:
        settings["ARCHIVER_INCREMENTAL"] = "off"
    if job.output is not None:
        settings.update(feed_settings(job.output))
    if job.stats_file is not None and not job.stats_file.absolute().parent.is_dir():
        raise ArgumentError(
            f"--stats-file: folder {job.stats_file.absolute().parent} does not exist"
        )
    check_data_dir(resolve_data_dir(job.data_dir))
    result = run_crawl(
        job.spider,
        job.arguments,
        db_url=job.db_url,
        data_dir=job.data_dir,
        settings=settings,
        timeout=job.timeout,
        on_progress=on_progress,
        forward_signals=True,
    )
    if result.outcome.status == "interrupted":
        _record_interruption(result, job, settings)
    if job.stats_file is not None:
        write_stats_file(job.stats_file, result)
    return result


def _record_interruption(result: CrawlResult, job: CrawlJob, settings: Mapping[str, Any]) -> None:
    """Give the run's row the reason this side stopped the crawl for (the crawl itself only
    knew it was told to stop); a crawl killed before closing its row is marked interrupted."""
    run_id = result.stats.get("archiver/run_id")
    if not isinstance(run_id, int):  # the store was off: there is no row
        return
    from archiver.config import database_url
    from archiver.db import open_archive, write_transaction
    from archiver.db.runs import set_outcome

    url = database_url(
        settings.get("ARCHIVER_DATABASE_URL") or job.db_url,
        settings.get("ARCHIVER_DATA_DIR") or job.data_dir,
    )
    engine = open_archive(url)  # marks the row of a killed crawl interrupted
    try:
        with write_transaction(engine) as connection:
            set_outcome(connection, run_id, "interrupted", result.message, only_if=("interrupted",))
    finally:
        engine.dispose()


def write_stats_file(path: Path, result: CrawlResult) -> None:
    """The outcome, exit status, log and Scrapy's final stats of a crawl, as JSON."""
    write_json_atomic(
        path,
        {
            "exit_status": result.returncode,
            "outcome": result.message,
            "status": result.outcome.status,
            "flags": list(result.outcome.flags),
            "log": str(result.log_path),
            "duration_seconds": round(result.duration, 3),
            "stats": result.stats,
        },
    )
