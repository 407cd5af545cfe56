"""The dispatcher to Scrapyd nodes, against small fake nodes: which node gets a fire, what a run
row says however its job ended, no overlap across nodes, retries when a node is down, and the
node report. The real thing (two Scrapyd processes, real crawls, PostgreSQL) is
tests/test_scrapyd.py; these run in a second."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, update

from archiver.cli import main
from archiver.db import write_transaction
from archiver.db.migrate import HEAD_REVISION
from archiver.db.models import utcnow
from archiver.db.runs import RunEnd, close_run, open_run
from archiver.db.schedules import ScheduleSpec
from archiver.db.store import StoreCounts
from archiver.db.tables import RUNS
from archiver.scheduler.dispatch import Dispatcher, job_settings, schedule_of_job
from archiver.scheduler.nodes import node_reports
from archiver.scheduler.scrapyd import NodeError, ScrapydNode, node_name
from tests.plugins.db import read_run, read_runs

ROOT = Path(__file__).resolve().parents[1]
# A fake node that never finishes a job would hang the dispatcher: fail fast instead.
pytestmark = pytest.mark.timeout(60)


@dataclass
class FakeScrapyd:
    """Answers the part of Scrapyd's JSON API the dispatcher uses; jobs change state when the
    test says so (`on_schedule` plays the crawl)."""

    pending: int = 0
    running: int = 0
    states: dict[str, str] = field(default_factory=dict)
    scheduled: list[dict[str, list[str]]] = field(default_factory=list)
    cancelled: list[tuple[str, str]] = field(default_factory=list)
    refuse: str | None = None  # schedule.json answers this error
    logs: dict[str, str] = field(default_factory=dict)
    on_schedule: Any = None
    auth: str | None = None  # the Authorization header last seen

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, payload: dict[str, Any] | str, code: int = 200) -> None:
                body = (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                )
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                fake.auth = self.headers.get("Authorization")
                parts = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                if parts.path == "/daemonstatus.json":
                    self._answer(
                        {
                            "status": "ok",
                            "pending": fake.pending,
                            "running": fake.running,
                            "finished": 0,
                        }
                    )
                elif parts.path == "/status.json":
                    self._answer({"status": "ok", "currstate": fake.states.get(query["job"])})
                elif parts.path == "/listjobs.json":
                    jobs = {"pending": [], "running": [], "finished": []}
                    for job, state in fake.states.items():
                        jobs[state].append({"id": job, "spider": "amnestyusa"})
                    self._answer({"status": "ok", **jobs})
                elif parts.path.startswith("/logs/"):
                    job = parts.path.rsplit("/", 1)[-1].removesuffix(".log")
                    if job in fake.logs:
                        self._answer(fake.logs[job])
                    else:
                        self._answer("no such log", 404)
                else:
                    self._answer("not found", 404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                if self.path == "/schedule.json":
                    if fake.refuse:
                        self._answer({"status": "error", "message": fake.refuse})
                        return
                    job = form["jobid"][0]
                    fake.scheduled.append(form)
                    fake.states[job] = "pending"
                    if fake.on_schedule is not None:
                        fake.on_schedule(fake, job, form)
                    self._answer({"status": "ok", "jobid": job})
                elif self.path == "/cancel.json":
                    job, signal = form["job"][0], form["signal"][0]
                    fake.cancelled.append((job, signal))
                    prev = fake.states.get(job)
                    fake.states[job] = "finished"
                    self._answer({"status": "ok", "prevstate": prev})
                else:
                    self._answer("not found", 404)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fakes() -> Iterator[list[FakeScrapyd]]:
    nodes = [FakeScrapyd(), FakeScrapyd()]
    yield nodes
    for node in nodes:
        node.stop()


def closed_port() -> str:
    """The URL of a port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def open_remote_run(connection: Any, **values: Any) -> int:
    """A running row as a crawl on another machine opens it (its pid cannot be probed here)."""
    return open_run(
        connection, **{"spider": "amnestyusa", "pid": 4242, "hostname": "node-host", **values}
    )


SPEC = ScheduleSpec("syria", "amnestyusa", arguments={"country": "syria"}, interval_seconds=3600)


def dispatcher(engine: Engine, urls: list[str], **options: Any) -> Dispatcher:
    options = {"poll_interval": 0.02, "lost_after": 0.3, "grace": 0.1, **options}
    return Dispatcher(engine, [ScrapydNode(url, timeout=2) for url in urls], **options)


def crawl_closes_its_run(engine: Engine, status: str = "finished", reason: str = "ok") -> Any:
    """`on_schedule` that plays a crawl which opens its run, closes it, and ends."""

    def play(fake: FakeScrapyd, job: str, form: dict[str, list[str]]) -> None:
        settings = dict(value.split("=", 1) for value in form.get("setting", []))
        with write_transaction(engine) as connection:
            run_id = open_run(
                connection,
                spider=form["spider"][0],
                arguments={"country": form["country"][0]},
                trigger=settings["ARCHIVER_TRIGGER"],
                node=settings["ARCHIVER_NODE"],
                job_id=job,
                pid=0,
            )
            end = RunEnd(status, reason, stats={"archiver/exit_code": 0})
            close_run(connection, run_id, end, StoreCounts(new=3))
        fake.states[job] = "finished"

    return play


def test_a_fire_goes_to_the_least_busy_node_and_its_run_names_node_and_job(
    archive_engine: Engine, fakes: list[FakeScrapyd]
) -> None:
    busy, idle = fakes
    busy.running = 2
    idle.on_schedule = crawl_closes_its_run(archive_engine)
    report = dispatcher(archive_engine, [busy.url, idle.url]).dispatch(SPEC)
    assert (report.status, report.exit_code) == ("finished", 0)
    assert busy.scheduled == [] and len(idle.scheduled) == 1
    form = idle.scheduled[0]
    assert form["spider"] == ["amnestyusa"] and form["country"] == ["syria"]
    job = form["jobid"][0]
    assert schedule_of_job(job) == "syria"
    assert sorted(form["setting"]) == [f"ARCHIVER_NODE={idle.url}", "ARCHIVER_TRIGGER=syria"]
    run = read_run(archive_engine, report.run_id)
    assert (run.node, run.job_id, run.trigger) == (idle.url, job, "syria")
    assert report.log_path == f"{idle.url}/logs/archiver/amnestyusa/{job}.log"


def test_the_node_and_job_of_a_run_are_shown(
    archive_engine: Engine, archive_url: str, fakes: list[FakeScrapyd], tmp_path: Path
) -> None:
    from archiver.web import create_app

    with warnings.catch_warnings():
        # Starlette asks for `httpx2`; the project's test client is httpx (as in test_web.py).
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    fakes[0].on_schedule = crawl_closes_its_run(archive_engine)
    report = dispatcher(archive_engine, [fakes[0].url]).dispatch(SPEC)
    job = fakes[0].scheduled[0]["jobid"][0]
    shown = CliRunner().invoke(main, ["runs", "--db", archive_url, "--id", str(report.run_id)])
    assert shown.exit_code == 0 and f"node: {fakes[0].url}, job {job}" in shown.output
    with TestClient(create_app(archive_url, data_dir=tmp_path)) as client:
        assert f"{fakes[0].url}, job {job}" in client.get(f"/runs/{report.run_id}").text
        assert f"on {fakes[0].url}" in client.get("/runs").text


def test_equal_nodes_take_turns(archive_engine: Engine, fakes: list[FakeScrapyd]) -> None:
    for fake in fakes:
        fake.on_schedule = crawl_closes_its_run(archive_engine)
    send = dispatcher(archive_engine, [fake.url for fake in fakes])
    for number in range(4):
        send.dispatch(ScheduleSpec(f"s{number}", "amnestyusa", arguments={"country": "syria"}))
    assert [len(fake.scheduled) for fake in fakes] == [2, 2]


def test_a_node_that_is_down_or_refuses_is_passed_over(
    archive_engine: Engine, fakes: list[FakeScrapyd]
) -> None:
    refusing, working = fakes
    refusing.refuse = "spider 'amnestyusa' not found"
    working.on_schedule = crawl_closes_its_run(archive_engine)
    report = dispatcher(archive_engine, [closed_port(), refusing.url, working.url]).dispatch(SPEC)
    assert report.status == "finished"
    assert read_run(archive_engine, report.run_id).node == working.url


def test_no_node_takes_the_job_a_failed_run_says_why(
    archive_engine: Engine, fakes: list[FakeScrapyd]
) -> None:
    fakes[0].refuse = "project 'archiver' not found"
    report = dispatcher(archive_engine, [closed_port(), fakes[0].url]).dispatch(SPEC)
    assert (report.status, report.exit_code) == ("failed", 1)
    assert "unreachable" in report.reason and "project 'archiver' not found" in report.reason
    assert read_run(archive_engine, report.run_id).status == "failed"


def test_a_job_that_ended_without_closing_its_run_is_failed(
    archive_engine: Engine, fakes: list[FakeScrapyd]
) -> None:
    def crash(fake: FakeScrapyd, job: str, form: dict[str, list[str]]) -> None:
        with write_transaction(archive_engine) as connection:
            open_remote_run(connection, trigger="syria", job_id=job)
        fake.states[job] = "finished"

    fakes[0].on_schedule = crash
    report = dispatcher(archive_engine, [fakes[0].url]).dispatch(SPEC)
    assert report.status == "failed"
    assert "ended without closing its run" in report.reason and fakes[0].url in report.reason


def test_a_job_that_never_opened_a_run_leaves_a_failed_row_with_its_last_error(
    archive_engine: Engine, fakes: list[FakeScrapyd]
) -> None:
    def broken(fake: FakeScrapyd, job: str, form: dict[str, list[str]]) -> None:
        fake.logs[job] = (
            "2026 [scrapy.core] INFO: start\n"
            "2026 [scrapy.core] ERROR: could not reach postgresql://me:hunter2@db/archive\n"
        )
        fake.states[job] = "finished"

    fakes[0].on_schedule = broken
    report = dispatcher(archive_engine, [fakes[0].url]).dispatch(SPEC)
    assert report.status == "failed"
    assert "before its crawl opened a run" in report.reason
    assert "could not reach postgresql://me:***@db/archive" in report.reason
    run = read_run(archive_engine, report.run_id)
    assert (run.node, run.job_id) == (fakes[0].url, fakes[0].scheduled[0]["jobid"][0])


def test_a_lost_node_fails_the_run_once_its_heartbeat_is_stale(
    archive_engine: Engine, fakes: list[FakeScrapyd]
) -> None:
    def then_vanish(fake: FakeScrapyd, job: str, form: dict[str, list[str]]) -> None:
        with write_transaction(archive_engine) as connection:
            run_id = open_remote_run(connection, trigger="syria", job_id=job)
            # Another host's crawl: only its heartbeat tells whether it lives.
            connection.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id)
                .values(hostname="elsewhere", updated_at=utcnow() - timedelta(minutes=5))
            )
        fake.states.pop(job)  # the node restarted and forgot it

    fakes[0].on_schedule = then_vanish
    report = dispatcher(archive_engine, [fakes[0].url]).dispatch(SPEC)
    assert report.status == "failed"
    assert "no longer knows job" in report.reason


def test_no_overlap_while_the_previous_run_is_running_or_pending_anywhere(
    archive_engine: Engine, fakes: list[FakeScrapyd]
) -> None:
    first, second = fakes
    send = dispatcher(archive_engine, [first.url, second.url])
    # A job of the schedule still pending on a node (no run row yet).
    first.states["syria~aaaaaaaaaaaa"] = "pending"
    report = send.dispatch(SPEC)
    assert report.status == "skipped" and "syria~aaaaaaaaaaaa" in report.reason
    assert first.url in report.reason
    # A running row of it on a node that still runs the job.
    first.states["syria~aaaaaaaaaaaa"] = "running"
    with write_transaction(archive_engine) as connection:
        open_run(
            connection,
            spider="amnestyusa",
            trigger="syria",
            node=first.url,
            job_id="syria~aaaaaaaaaaaa",
            pid=0,
            hostname="elsewhere",
        )
    report = send.dispatch(SPEC)
    assert report.status == "skipped" and f"still running on {first.url}" in report.reason
    assert first.scheduled == second.scheduled == []
    # The node finished the job without its run being closed: settled, then the fire goes.
    first.states["syria~aaaaaaaaaaaa"] = "finished"
    first.running = 1  # busier: the fire goes to the other node
    second.on_schedule = crawl_closes_its_run(archive_engine)
    report = send.dispatch(SPEC)
    assert report.status == "finished"
    statuses = [run.status for run in reversed(read_runs(archive_engine))]
    assert statuses == ["skipped", "failed", "skipped", "finished"]


def test_a_job_over_its_max_run_time_is_cancelled_and_interrupted(
    archive_engine: Engine, fakes: list[FakeScrapyd]
) -> None:
    def hang(fake: FakeScrapyd, job: str, form: dict[str, list[str]]) -> None:
        with write_transaction(archive_engine) as connection:
            open_remote_run(connection, trigger="syria", job_id=job)
        fake.states[job] = "running"

    fakes[0].on_schedule = hang
    report = dispatcher(archive_engine, [fakes[0].url]).dispatch(SPEC, max_runtime=0.2)
    assert (report.status, report.exit_code) == ("interrupted", 4)
    assert report.reason == "interrupted: max run time 0s reached"
    assert fakes[0].cancelled[0][1] == "TERM"


def test_stopping_the_service_leaves_the_job_running(
    archive_engine: Engine, fakes: list[FakeScrapyd]
) -> None:
    fakes[0].on_schedule = lambda fake, job, form: fake.states.__setitem__(job, "running")
    report = dispatcher(archive_engine, [fakes[0].url]).dispatch(
        SPEC, stop_reason=lambda: "scheduler stopped"
    )
    assert report.status == "running" and "scheduler stopped" in report.reason
    assert fakes[0].cancelled == []


def test_secrets_and_node_settings_are_never_sent() -> None:
    spec = ScheduleSpec(
        "s",
        "amnestyusa",
        settings={
            "ARCHIVER_DATABASE_URL": "postgresql://me:pw@db/a",
            "ARCHIVER_DATA_DIR": "/srv/data",
            "EXTENSIONS": {"x.Y": 1},
            "PROXY": "http://u:pw@proxy:3128",
            "DOWNLOAD_DELAY": 0.5,
        },
    )
    sent, left_out = job_settings(spec)
    assert sent == {"ARCHIVER_TRIGGER": "s", "DOWNLOAD_DELAY": "0.5"}
    assert [line.split(":")[0] for line in left_out] == [
        "ARCHIVER_DATABASE_URL",
        "ARCHIVER_DATA_DIR",
        "EXTENSIONS",
        "PROXY",
    ]


def test_node_credentials_go_in_a_header_and_are_never_shown(fakes: list[FakeScrapyd]) -> None:
    url = fakes[0].url.replace("http://", "http://ops:s3cret@")
    node = ScrapydNode(url)
    assert node.name == fakes[0].url and "s3cret" not in repr(node)
    node.daemon_status()
    assert fakes[0].auth == "Basic b3BzOnMzY3JldA=="
    with pytest.raises(NodeError) as caught:
        ScrapydNode(closed_port().replace("http://", "http://ops:s3cret@")).daemon_status()
    assert "s3cret" not in str(caught.value) and caught.value.unreachable
    assert node_name("https://a:b@[::1]:6800/x/") == "https://[::1]:6800/x"


def test_nodes_report_and_command(
    archive_engine: Engine, archive_url: str, fakes: list[FakeScrapyd]
) -> None:
    fakes[0].states.update({"syria~000000000001": "running", "dp~000000000002": "pending"})
    fakes[0].running, fakes[0].pending = 1, 1
    with write_transaction(archive_engine) as connection:
        run_id = open_run(connection, spider="amnestyusa", node=fakes[0].url, job_id="j", pid=0)
        close_run(connection, run_id, RunEnd("failed", "failed: no listing page"), StoreCounts())
    down = closed_port()
    reports = node_reports([fakes[0].url, down], archive_engine)
    assert [report.up for report in reports] == [True, False]
    assert reports[0].runs is not None and reports[0].runs.runs == 1
    assert reports[0].last_error == f"run {run_id} failed: no listing page"
    assert "unreachable" in (reports[1].last_error or "")
    assert [report.name for report in node_reports([], archive_engine)] == [fakes[0].url]
    result = CliRunner().invoke(
        main, ["nodes", "--db", archive_url, "--scrapyd", fakes[0].url, "--scrapyd", down]
    )
    assert result.exit_code == 1, result.output
    assert "syria~000000000001" in result.output and "dp~000000000002" in result.output
    assert "down" in result.output
    assert f"{fakes[0].url}  last error: run {run_id} failed: no listing page" in result.output
    result = CliRunner().invoke(main, ["nodes", "--db", archive_url])
    assert result.exit_code == 0, result.output


def test_an_old_archive_upgrades_from_a_zipped_package(tmp_path: Path) -> None:
    """A Scrapyd node runs the deployed egg, a zip: Alembic still finds the migrations."""
    from archiver.db import upgrade

    egg = tmp_path / "archiver.egg"
    with zipfile.ZipFile(egg, "w") as archive:
        for path in (ROOT / "archiver").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(ROOT).as_posix())
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0006_release_texts")
    code = (
        "import archiver, archiver.db.migrate as m;"
        " from archiver.db import open_archive;"
        f" open_archive({url!r}).dispose();"
        " print(archiver.__file__, m.MIGRATIONS_DIR.is_dir(), m.migrations_dir().is_dir())"
    )
    env = {**os.environ, "PYTHONPATH": str(egg)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    location, packaged, unpacked = result.stdout.split()
    assert location.startswith(str(egg)) and (packaged, unpacked) == ("False", "True")
    from archiver.db import make_engine
    from archiver.db.migrate import current_revision

    engine = make_engine(url)
    try:
        assert current_revision(engine) == HEAD_REVISION
    finally:
        engine.dispose()
