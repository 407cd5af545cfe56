"""Run one crawl in its own process and report on it: used by the CLI, the demo and the scheduler.

Twisted's reactor cannot restart inside a process, so `run_crawl` launches
`python -m archiver.crawl_worker` and follows it through the status file the worker's
`StatusFile` extension keeps. Call it as often as you like from the same Python process.
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
from archiver.crawl_worker import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NO_ITEMS,
    EXIT_OK,
    EXIT_USAGE,
)

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NO_ITEMS",
    "EXIT_OK",
    "EXIT_USAGE",
    "CrawlResult",
    "run_crawl",
]

# Settings for crawling a local copy (demo, tests, benchmarks): our own server, no need to wait.
LOCAL_SITE_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
}


@dataclass
class CrawlResult:
    """How one crawl ended: exit status, final Scrapy stats, where its log is."""

    returncode: int
    stats: dict[str, Any] = field(default_factory=dict)
    log_path: Path | None = None
    duration: float = 0.0
    error: str = ""  # the last error line of the log, when the crawl failed

    @property
    def ok(self) -> bool:
        return self.returncode == EXIT_OK

    @property
    def outcome(self) -> str:
        """`ok`, `no items parsed`, `interrupted`, or what else ended the crawl."""
        return str(self.stats.get("archiver/outcome") or self.error or f"exit {self.returncode}")

    def stat(self, key: str, default: int = 0) -> int:
        """An integer stat (0 when absent)."""
        value = self.stats.get(key, default)
        return int(value) if isinstance(value, (int, float)) else default


def default_log_path(spider: str, data: Path) -> Path:
    """`data/logs/<spider>-<UTC time>-<pid>.log`: one log file per run."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return data / "logs" / f"{spider}-{stamp}-{os.getpid()}.log"


def worker_command(
    spider: str, args: Mapping[str, str], settings: Mapping[str, Any], stats_file: Path
) -> list[str]:
    """The command line of the crawl process."""
    command = [
        sys.executable,
        "-m",
        "archiver.crawl_worker",
        spider,
        "--stats-file",
        str(stats_file),
    ]
    for key, value in args.items():
        command += ["--arg", f"{key}={value}"]
    command += ["--settings-json", json.dumps(dict(settings), default=str)]
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
        stats_file = Path(tmp) / "stats.json"
        status_file = Path(tmp) / "status.json"
        all_settings["ARCHIVER_STATUS_FILE"] = str(status_file)
        command = worker_command(spider, args or {}, all_settings, stats_file)
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
        stats = _read_stats(stats_file) or _read_stats(status_file)
    error = ""
    if process.returncode != EXIT_OK:
        error = _last_error(stderr, log_path)
    return CrawlResult(process.returncode, stats, log_path, duration, error)


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
            stats = _read_stats(status_file)
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


def _read_stats(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()).get("stats", {}))
    except (OSError, ValueError):
        return {}


def _last_error(stderr: str, log_path: Path) -> str:
    """The most telling error line: the worker's own `error:` line, else the log's last ERROR."""
    own = [line.strip() for line in stderr.splitlines() if line.startswith("error:")]
    if own:
        return own[-1]
    try:
        logged = [
            line
            for line in log_path.read_text(errors="replace").splitlines()
            if "] ERROR:" in line or "] CRITICAL:" in line
        ]
    except OSError:
        logged = []
    return logged[-1].split("] ", 1)[-1].strip() if logged else ""
