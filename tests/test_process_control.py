"""The crawl process: signals reach it, time limits mean one thing, and no password leaks.

Each test drives the real command line against the local site (slowed down where a crawl must
still be running when the test acts) and checks what a user or operator relies on.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from archiver.db import make_engine
from archiver.db.tables import RUNS
from archiver.demo.server import DemoServer
from archiver.outcome import EXIT_INTERRUPTED, EXIT_OK
from tests.plugins.cli import run_cli

pytestmark = pytest.mark.slow

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"]


def start_crawl(
    server: DemoServer,
    data: Path,
    db_url: str | None,
    *extra: str,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "archiver", "crawl", "amnestyusa", "-a", "country=syria"]
    command += ["-a", f"base_url={server.base_url}", *FAST, "--data-dir", str(data), "-q"]
    if db_url is not None:
        command += ["--db", db_url]
    return subprocess.Popen(
        [*command, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def worker_pids() -> set[int]:
    """Every running crawl process (`python -m archiver.process.worker`) on this machine."""
    found = set()
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            argv = Path(cmdline).read_bytes().split(b"\0")
        except OSError:
            continue
        if b"archiver.process.worker" in argv:
            found.add(int(cmdline.split("/")[2]))
    return found


def listing_requests(server: DemoServer) -> list[str]:
    return [path for path in server.requests if path.startswith("/news/")]


def settings_folder(pid: int) -> Path:
    """The private folder a crawl process reads its settings from (on its command line)."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return Path(argv[argv.index("--settings-file") + 1]).parent


def wait_for(what: str, check, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def runs(db_url: str) -> list:  # type: ignore[type-arg]
    """The run rows, oldest first ([] while the crawl has not made the archive yet)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(RUNS).order_by(RUNS.c.id)).all())
    except OperationalError:
        return []
    finally:
        engine.dispose()


@pytest.fixture
def crawls() -> Iterator[list[subprocess.Popen[str]]]:
    """Crawl commands started by a test; any still running at its end is killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_command_stops_the_crawl_cleanly(
    signum: int, sqlite_url: str, tmp_path: Path, crawls: list[subprocess.Popen[str]]
) -> None:
    before_workers = worker_pids()
    with DemoServer(delay=1.5) as server:
        crawl = start_crawl(server, tmp_path / "data", sqlite_url)
        crawls.append(crawl)
        worker = wait_for("the crawl process", lambda: worker_pids() - before_workers)
        folders = {settings_folder(pid) for pid in worker}
        assert all(folder.is_dir() for folder in folders)
        # Two pages in, and past the first timed flush (every 5 s): something is committed.
        wait_for("a few pages read", lambda: len(listing_requests(server)) >= 3)
        time.sleep(1)
        crawl.send_signal(signum)
        signalled = time.monotonic()
        _, stderr = crawl.communicate(timeout=60)
        took = time.monotonic() - signalled
    assert crawl.returncode == EXIT_INTERRUPTED, stderr
    assert took < 10, f"took {took:.1f} s"  # within run_crawl's grace period
    assert not (worker & worker_pids()), "the crawl process outlived the command"
    assert not any(folder.exists() for folder in folders), "a temporary folder was left behind"
    name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    assert f"crawl interrupted: {name} received" in " ".join(stderr.split())
    (run,) = runs(sqlite_url)
    assert run.status == "interrupted" and run.finish_reason == f"interrupted: {name} received"
    assert run.items_new > 0  # what it committed stays


def test_timeout_means_a_time_limit_and_zero_means_none(
    sqlite_url: str, tmp_path: Path, crawls: list[subprocess.Popen[str]]
) -> None:
    with DemoServer(delay=0.5) as server:
        limited = start_crawl(server, tmp_path / "data", sqlite_url, "--timeout", "3s")
        crawls.append(limited)
        _, stderr = limited.communicate(timeout=60)
        assert limited.returncode == EXIT_INTERRUPTED, stderr
        assert "time limit of 3s reached" in stderr
        server.delay = 0
        unlimited = start_crawl(server, tmp_path / "data", sqlite_url, "--timeout", "0", "--full")
        crawls.append(unlimited)
        _, stderr = unlimited.communicate(timeout=120)
        assert unlimited.returncode == EXIT_OK, stderr
    first, second = runs(sqlite_url)
    assert (first.status, first.finish_reason) == (
        "interrupted",
        "interrupted: time limit of 3s reached",
    )
    assert second.status == "finished" and second.pages == 7


# -- secrets -----------------------------------------------------------------------------------


@pytest.fixture
def pg_with_password(pg_url: str) -> Iterator[tuple[str, str]]:
    """A database owned by a role with a real password: (URL with the password, password)."""
    password = f"S3cret-{uuid.uuid4().hex[:10]}"
    role = f"archiver_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(pg_url)
    admin = psycopg.connect(
        admin_url.set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    )
    try:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        admin.execute(f'ALTER DATABASE "{admin_url.database}" OWNER TO {role}')
        admin.execute(f"GRANT ALL ON SCHEMA public TO {role}")
        url = admin_url.set(username=role, password=password)
        yield url.render_as_string(hide_password=False), password
    finally:
        admin.execute(f'ALTER DATABASE "{admin_url.database}" OWNER TO CURRENT_USER')
        admin.execute(f"DROP OWNED BY {role} CASCADE")
        admin.execute(f"DROP ROLE {role}")
        admin.close()


@pytest.mark.postgres
def test_the_database_password_appears_nowhere(
    pg_with_password: tuple[str, str], tmp_path: Path, crawls: list[subprocess.Popen[str]]
) -> None:
    url, password = pg_with_password
    data = tmp_path / "data"
    stats_file = tmp_path / "stats.json"
    before = worker_pids()
    seen_in_cmdlines: list[str] = []
    with DemoServer(delay=0.2) as server:
        crawl = start_crawl(
            server,
            data,
            None,
            "--stats-file",
            str(stats_file),
            env={"ARCHIVER_DATABASE_URL": url},
        )
        crawls.append(crawl)
        pids = wait_for("the crawl process", lambda: worker_pids() - before)
        for pid in pids:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            seen_in_cmdlines.append(cmdline.decode("utf-8", "replace"))
        stdout, stderr = crawl.communicate(timeout=120)
    assert crawl.returncode == EXIT_OK, stderr
    assert seen_in_cmdlines and not any(password in line for line in seen_in_cmdlines)
    assert password not in stdout + stderr
    logs = list((data / "logs").glob("*.log"))
    assert logs and all(password not in log.read_text() for log in logs)
    assert password not in stats_file.read_text()
    assert "***@" in next(iter(logs)).read_text()  # the log names the database, masked
    # Nor does the crawl serve Scrapy's remote control (Python over HTTP, token on disk).
    log_text = next(iter(logs)).read_text()
    assert "Enabled extensions" in log_text and "RemoteControl" not in log_text
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT * FROM crawl_runs")).mappings().all()
    finally:
        engine.dispose()
    assert rows and password not in json.dumps([dict(row) for row in rows], default=str)
    # A failing database says so in one line, without the password either.
    wrong = url.replace("127.0.0.1:5432", "127.0.0.1:1")
    failed = run_cli("runs", "--db", wrong, cwd=tmp_path)
    assert failed.returncode == 1 and password not in failed.stdout + failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    # Nor in an export and its manifest, which names the database it came from.
    exported = run_cli("export", "--db", url, "-o", str(tmp_path / "out.csv"), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    manifests = list(tmp_path.glob("out.csv*.json")) + list(tmp_path.glob("out*manifest*"))
    assert manifests, sorted(path.name for path in tmp_path.iterdir())
    for path in (tmp_path / "out.csv", *manifests):
        assert password not in path.read_text(encoding="utf-8")
    assert password not in exported.stdout + exported.stderr
    assert "***@" in manifests[0].read_text(encoding="utf-8")


def test_the_crawl_process_does_not_import_the_remote_control_it_switched_off() -> None:
    """Scrapy imports every listed extension; the remote control's import is aiohttp (0.3 s)."""
    code = (
        "import sys\n"
        "from scrapy.utils.project import get_project_settings\n"
        "from archiver.process.worker import REMOTE_CONTROL, unlist_switched_off\n"
        "settings = get_project_settings()\n"
        "if sys.argv[1] == 'unlisted':\n"
        "    unlist_switched_off(settings, REMOTE_CONTROL)\n"
        "settings.get_component_priority_dict_with_base('EXTENSIONS')\n"
        "print('aiohttp' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[1]
    for how, imported in (("listed", "True"), ("unlisted", "False")):
        result = subprocess.run(
            [sys.executable, "-c", code, how], capture_output=True, text=True, cwd=root, check=True
        )
        assert result.stdout.strip() == imported, (how, result.stderr[-500:])
