"""Scheduler notifications (`--notify`, `--notify-new`) through Apprise, to a local endpoint.

A small HTTP server on 127.0.0.1 (port 0) stands for the notification service: Apprise's
`json://127.0.0.1:PORT/hook` posts every message there as JSON, and the tests read what arrived.
Runs crawl the local demo site (or a closed port, for a run that fails), as in
tests/test_scheduler.py; nothing reaches the internet.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from archiver.cli import main as cli
from archiver.db import make_engine, upgrade
from archiver.db.feeds import FeedEntry
from archiver.db.schedules import get_schedule
from archiver.db.tables import RELEASES, RUNS
from archiver.demo.faults import Fault, FaultPlan, listing_path
from archiver.demo.server import DemoServer
from archiver.errors import ArgumentError
from archiver.scheduler.notify import (
    check_notify_urls,
    failure_message,
    new_releases_message,
    notify_run,
    send_notification,
)
from archiver.scheduler.runner import RunReport, run_schedule
from tests.plugins.cli import run_cli

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "ROBOTSTXT_OBEY=0"]
WEB = "https://archive.example/"


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append({"path": self.path, **json.loads(self.rfile.read(length))})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def titled(self, start: str) -> list[dict[str, Any]]:
        return [message for message in self.messages if message["title"].startswith(start)]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def add(url: str, name: str, base_url: str, *extra: str) -> None:
    """`archiver schedule add NAME` (in this process) crawling `base_url`."""
    every = [] if "--every" in extra else ["--every", "1s"]
    args = ["schedule", "add", name, "--spider", "amnestyusa", "-a", f"base_url={base_url}"]
    done = CliRunner().invoke(cli, [*args, *FAST, *every, *extra, "--db", url])
    assert done.exit_code == 0, done.output


def fire(url: str, engine: Engine, name: str, data: Path) -> RunReport:
    """One run of schedule `name`, as the service fires it."""
    with engine.connect() as connection:
        spec = get_schedule(connection, name)
    return run_schedule(spec, engine, db_url=url, data_dir=data)


def new_of_run(engine: Engine, run_id: int) -> list[tuple[str, str]]:
    """(title, url) of the releases run `run_id` found first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(RELEASES.c.title, RELEASES.c.url).where(RELEASES.c.first_run_id == run_id)
        )
        return [tuple(row) for row in rows]


def wait_for(what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


# -- the messages (pure) ---------------------------------------------------------------------


def test_a_failure_message_says_what_happened_and_where_to_look() -> None:
    failed = RunReport(
        "syria",
        "failed",
        "no listing page could be read: Connection refused",
        run_id=12,
        exit_code=1,
        log_path=Path("/srv/data/logs/syria-1.log"),
    )
    title, body = failure_message(failed, web_url=WEB) or ("", "")
    assert title == "archiver: syria failed"
    assert "Run 12 of schedule syria ended failed: no listing page could be read" in body
    assert "Exit status 1: the crawl failed" in body
    assert "Log: /srv/data/logs/syria-1.log" in body
    assert body.endswith("See: https://archive.example/runs/12")
    # Without the web view: the command that shows the run.
    assert (failure_message(failed) or ("", ""))[1].endswith("See: archiver runs --id 12")

    # A good run is no news, unless its selectors are flagged; a skipped fire never is.
    good = RunReport("syria", "finished", "ok", run_id=13, exit_code=0)
    assert failure_message(good) is None
    title, body = failure_message(good, health=["cards_drop"]) or ("", "")
    assert title == "archiver: syria finished, flagged cards_drop"
    assert "Selector health flags: cards_drop" in body and "Exit status" not in body
    skipped = RunReport("syria", "skipped", "previous run of this schedule still running", 14)
    assert failure_message(skipped, health=["cards_drop"]) is None


def test_a_new_releases_message_lists_titles_and_links_and_is_never_empty() -> None:
    from datetime import UTC, date, datetime

    seen = datetime(2024, 5, 1, tzinfo=UTC)
    found = [
        FeedEntry(
            "amnestyusa",
            f"https://www.amnestyusa.org/press-releases/r-{n}/",
            f"Release {n}",
            None,
            None,
            date(2024, 5, n),
            seen,
            seen,
        )
        for n in (2, 1)
    ]
    assert new_releases_message("syria", 5, []) is None
    title, body = new_releases_message("syria", 5, found, total=3) or ("", "")
    assert title == "archiver: syria: 3 new releases"
    assert body.splitlines() == [
        "Run 5 of schedule syria found 3 new releases:",
        "",
        "- Release 2 (2024-05-02)",
        "  https://www.amnestyusa.org/press-releases/r-2/",
        "- Release 1 (2024-05-01)",
        "  https://www.amnestyusa.org/press-releases/r-1/",
        "- and 1 more",
        "",
        "See: archiver runs --id 5",
    ]
    title, _ = new_releases_message("syria", 5, found[:1]) or ("", "")
    assert title == "archiver: syria: 1 new release"


def test_a_notification_that_cannot_be_sent_is_logged_without_its_secrets(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = closed_port()
    urls = [
        f"json://archiver:pa55word@127.0.0.1:{port}/t0ken-in-path",
        "notaservice://s3cret-token@example.org/",
        receiver.url,
    ]
    assert send_notification(urls, "archiver: syria failed", "body") == 1  # never raises
    assert [m["title"] for m in receiver.messages] == ["archiver: syria failed"]
    assert receiver.messages[0]["message"] == "body" and receiver.messages[0]["path"] == "/hook"
    assert "notification #1 (json://***) could not be sent" in caplog.text
    assert "notification #2 (notaservice://***): not a URL Apprise can use" in caplog.text
    assert "notification #3 (json://***) sent" in caplog.text
    for secret in ("pa55word", "t0ken", "s3cret"):
        assert secret not in caplog.text

    with pytest.raises(ArgumentError, match=r"--notify #2 \(notaservice://\*\*\*\)") as refused:
        check_notify_urls([receiver.url, urls[1]])
    assert "s3cret" not in str(refused.value)


# -- after real runs --------------------------------------------------------------------------


@pytest.mark.slow
def test_new_releases_are_announced_once_with_their_titles_and_links(
    db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with DemoServer() as site:
            add(db_url, "news", site.base_url, "-a", "country=syria", "-a", "max_pages=1")
            add(db_url, "quiet", site.base_url, "-a", "issue=death-penalty", "-a", "max_pages=1")
            with engine.connect() as connection:
                news, quiet = (get_schedule(connection, name) for name in ("news", "quiet"))
            assert news.settings.get("ARCHIVER_NOTIFY_NEW") is None
            add(
                db_url,
                "news",
                site.base_url,
                "-a",
                "country=syria",
                "-a",
                "max_pages=1",
                "--notify-new",
                "--replace",
            )
            with engine.connect() as connection:
                news = get_schedule(connection, "news")
            assert news.settings["ARCHIVER_NOTIFY_NEW"] == "1"

            first = fire(db_url, engine, "news", tmp_path)
            assert first.status == "finished" and first.ok, first.reason
            sent = notify_run(first, news, engine, [receiver.url], web_url=WEB)
            # Without --notify-new, new releases are nobody's news.
            other = fire(db_url, engine, "quiet", tmp_path)
            assert other.ok and other.stats.get("archiver/store/new", 0) > 0
            assert notify_run(other, quiet, engine, [receiver.url]) == []

            second = fire(db_url, engine, "news", tmp_path)
            assert second.ok and second.stats.get("archiver/store/new", 0) == 0
            assert notify_run(second, news, engine, [receiver.url], web_url=WEB) == []
        found = new_of_run(engine, first.run_id or 0)
    finally:
        engine.dispose()

    assert len(found) >= 5
    assert [(s.title, s.delivered) for s in sent] == [
        (f"archiver: news: {len(found)} new releases", 1)
    ]
    (message,) = receiver.messages  # one message in all, for the first run only
    assert message["title"] == f"archiver: news: {len(found)} new releases"
    body = message["message"]
    assert body.startswith(f"Run {first.run_id} of schedule news found {len(found)} new releases")
    for title, url in found:
        assert f"- {title}" in body and f"\n  {url}\n" in body
    assert body.endswith(f"See: https://archive.example/runs/{first.run_id}")


@pytest.mark.slow
def test_a_partial_run_names_its_missed_page(
    sqlite_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        missing = listing_path(2, "country=syria")
        with DemoServer(faults=FaultPlan({missing: Fault("status", status=503)})) as site:
            add(sqlite_url, "gappy", site.base_url, "-a", "country=syria", "-a", "max_pages=3")
            with engine.connect() as connection:
                spec = get_schedule(connection, "gappy")
            report = fire(sqlite_url, engine, "gappy", tmp_path)
            sent = notify_run(report, spec, engine, [receiver.url])
    finally:
        engine.dispose()
    assert report.status == "partial", report.reason
    assert [s.title for s in sent] == ["archiver: gappy partial"]
    (message,) = receiver.messages
    body = message["message"]
    assert f"Run {report.run_id} of schedule gappy ended partial: {report.reason}." in body
    assert "Missed listing pages:\n- page 2 (" in body and f"{site.base_url}{missing}" in body
    assert body.endswith(f"See: archiver runs --id {report.run_id}")


@pytest.mark.slow
def test_schedule_run_notifies_and_runs_id_shows_the_run(
    sqlite_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    add(sqlite_url, "broken", f"http://127.0.0.1:{closed_port()}", "--every", "1h")
    data = ["--db", sqlite_url, "--data-dir", str(tmp_path / "data")]
    done = run_cli("schedule", "run", "broken", "--notify", receiver.url, *data, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "notified 1 of 1: archiver: broken failed" in done.stdout
    (message,) = receiver.messages
    run_id = int(message["message"].split()[1])
    assert message["message"].endswith(f"See: archiver runs --id {run_id}")

    shown = run_cli("runs", "--id", str(run_id), "--db", sqlite_url, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"Run {run_id} in" in shown.stdout and "reason: no listing page could be read" in (
        " ".join(shown.stdout.split())
    )
    missing = run_cli("runs", "--id", "999", "--db", sqlite_url, cwd=tmp_path)
    assert missing.returncode == 1 and "no run 999" in missing.stderr


@pytest.mark.slow
def test_the_service_notifies_failures_and_new_releases_and_keeps_the_failure_hook(
    sqlite_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    alerts = tmp_path / "alerts.txt"
    data = tmp_path / "data"
    data.mkdir()
    with DemoServer() as site:
        add(sqlite_url, "broken", f"http://127.0.0.1:{closed_port()}")
        add(
            sqlite_url,
            "news",
            site.base_url,
            "-a",
            "country=syria",
            "-a",
            "max_pages=1",
            "--notify-new",
        )
        log = (tmp_path / "scheduler.log").open("w")
        service = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "archiver",
                "scheduler",
                "--db",
                sqlite_url,
                "--data-dir",
                str(data),
                "--sync-interval",
                "1s",
                "--notify",
                receiver.url,
                "--web-url",
                WEB,
                "--on-failure",
                f'echo "$ARCHIVER_SCHEDULE $ARCHIVER_STATUS $ARCHIVER_RUN_ID" >> {alerts}',
            ],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            finished = select(RUNS.c.id).where(
                RUNS.c.trigger == "news", RUNS.c.status == "finished"
            )

            def two_news_runs() -> bool:
                engine = make_engine(sqlite_url)
                try:
                    with engine.connect() as connection:
                        return len(connection.execute(finished).all()) >= 2
                finally:
                    engine.dispose()

            wait_for("a failure message", lambda: receiver.titled("archiver: broken"))
            wait_for("the failure hook", lambda: alerts.exists() and alerts.read_text())
            wait_for("two finished runs of news", two_news_runs)
            time.sleep(1.0)  # the second run's notifications, if it (wrongly) sent any
        finally:
            service.terminate()
            status = service.wait(timeout=60)
            log.close()
    output = (tmp_path / "scheduler.log").read_text()
    assert status == 0, output
    assert "Traceback" not in output

    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            runs = {row.id: row for row in connection.execute(select(RUNS)).all()}
        news_runs = sorted(
            i for i, row in runs.items() if row.trigger == "news" and row.status == "finished"
        )
        found = new_of_run(engine, news_runs[0])
    finally:
        engine.dispose()

    failures = receiver.titled("archiver: broken")
    assert failures and {m["title"] for m in failures} == {"archiver: broken failed"}
    for message in failures:
        run_id = int(message["message"].split()[1])
        row = runs[run_id]
        assert (row.trigger, row.status) == ("broken", "failed")
        assert f"ended failed: {row.finish_reason}." in message["message"]
        assert message["message"].endswith(f"See: https://archive.example/runs/{run_id}")
    # The --on-failure command still runs, for the same runs.
    hooked = [line.split() for line in alerts.read_text().splitlines()]
    assert hooked and all(name == "broken" and status == "failed" for name, status, _ in hooked)

    news = receiver.titled("archiver: news")
    assert [m["title"] for m in news] == [f"archiver: news: {len(found)} new releases"]
    assert news[0]["message"].startswith(f"Run {news_runs[0]} of schedule news found")
    for title, url in found:
        assert f"- {title}" in news[0]["message"] and url in news[0]["message"]


def test_the_scheduler_refuses_a_notification_url_apprise_cannot_use(
    sqlite_url: str, tmp_path: Path
) -> None:
    refused = run_cli(
        "scheduler", "--db", sqlite_url, "--notify", "nosuch://t0ken@host/", cwd=tmp_path
    )
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "Error: --notify #1 (nosuch://***) is not a notification URL Apprise knows: see"
        " https://github.com/caronc/apprise/wiki"
    ]


@pytest.mark.slow
def test_notification_urls_come_from_the_environment_where_ps_cannot_see_them(
    sqlite_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """A URL holding a token is given in ARCHIVER_NOTIFY_URLS, not on the command line."""
    add(sqlite_url, "broken", f"http://127.0.0.1:{closed_port()}", "--every", "1h")
    command = [sys.executable, "-m", "archiver", "schedule", "run", "broken", "--db", sqlite_url]
    command += ["--data-dir", str(tmp_path / "data")]
    env = {**os.environ, "ARCHIVER_NOTIFY_URLS": receiver.url}
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "notified 1 of 1: archiver: broken failed" in done.stdout
    (message,) = receiver.messages
    assert message["message"].startswith("Run ")
