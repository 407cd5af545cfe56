"""Run one crawl in its own process and report on it: used by the CLI, the demo and the scheduler.

Twisted's reactor cannot restart inside a process, so `run_crawl` launches
`python -m archiver.process.worker` and follows it through the status file the worker's
`StatusFile` extension keeps. Call it as often as you like from the same Python process.

The crawl's settings go to the worker in a file only the owner can read, inside a private
temporary folder that is removed afterwards: a database URL with a password never appears on a
command line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.config import data_dir as resolve_data_dir
from archiver.config import scrub_secrets
from archiver.errors import ArgumentError
from archiver.health import Health
from archiver.jsonsafe import write_json_atomic
from archiver.outcome import EXIT_OK, Outcome, for_exit_code

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
) -> CrawlResult:
    """Crawl `spider` with `args` in a child process and wait for it.

    `on_progress` gets the live stats about twice a second. `timeout` (seconds) ends a crawl that
    hangs: SIGTERM first (Scrapy closes cleanly, the run is recorded as interrupted), SIGKILL after
    `grace` seconds. `on_start` receives the process (the scheduler keeps it to stop it).
    `new_session` detaches the crawl from the terminal's process group, so a Ctrl-C meant for a
    service reaches only the service, which then stops its crawls once, cleanly.
    """
    data = resolve_data_dir(data_dir)
    log_path = log_path or default_log_path(spider, data)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    all_settings: dict[str, Any] = {"LOG_FILE": str(log_path), "LOG_FILE_APPEND": True}
    all_settings["ARCHIVER_DATA_DIR"] = str(data)
    if db_url:
        all_settings["ARCHIVER_DATABASE_URL"] = db_url
    all_settings.update(settings or {})
    with tempfile.TemporaryDirectory(prefix="archiver-crawl-") as tmp:
        folder = Path(tmp)  # mode 0700: only this user can look inside
        settings_file, stats_file = folder / "settings.json", folder / "stats.json"
        status_file = folder / "status.json"
        all_settings["ARCHIVER_STATUS_FILE"] = str(status_file)
        write_json_atomic(settings_file, all_settings, mode=0o600)
        command = worker_command(spider, args or {}, settings_file, stats_file)
        env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "archiver.settings"}
        started = time.monotonic()
        with (
            open(os.devnull, "rb") as devnull,
            subprocess.Popen(
                command,
                stdin=devnull,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=new_session,
            ) as process,
        ):
            if on_start is not None:
                on_start(process)
            stderr = _follow(process, status_file, on_progress, started, timeout, grace)
        duration = time.monotonic() - started
        report = _read_json(stats_file)
        stats = dict(report.get("stats") or _read_json(status_file).get("stats") or {})
    outcome = _outcome(process.returncode, report.get("outcome"), stderr, log_path, db_url)
    return CrawlResult(process.returncode, outcome, stats, log_path, duration)


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


def _follow(
    process: subprocess.Popen[bytes],
    status_file: Path,
    on_progress: Callable[[dict[str, Any]], None] | None,
    started: float,
    timeout: float | None,
    grace: float,
) -> str:
    """Wait for the crawl, reporting progress and enforcing the timeout; returns its stderr."""
    assert process.stderr is not None
    os.set_blocking(process.stderr.fileno(), False)
    chunks: list[bytes] = []
    terminated_at: float | None = None
    while process.poll() is None:
        chunk = process.stderr.read()
        if chunk:
            chunks.append(chunk)
        if on_progress is not None:
            stats = _read_json(status_file).get("stats")
            if stats:
                on_progress(stats)
        now = time.monotonic()
        if timeout is not None and terminated_at is None and now - started > timeout:
            process.send_signal(signal.SIGTERM)
            terminated_at = now
        elif terminated_at is not None and now - terminated_at > grace:
            process.kill()
        time.sleep(0.2)
    rest = process.stderr.read()
    if rest:
        chunks.append(rest)
    return b"".join(chunks).decode("utf-8", "replace")


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
    return {"FEEDS": {str(output.absolute()): {"format": fmt, "overwrite": True}}}


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
    result = run_crawl(
        job.spider,
        job.arguments,
        db_url=job.db_url,
        data_dir=job.data_dir,
        settings=settings,
        timeout=job.timeout,
        on_progress=on_progress,
    )
    if job.stats_file is not None:
        write_stats_file(job.stats_file, result)
    return result


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
