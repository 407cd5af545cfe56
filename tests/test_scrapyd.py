"""Scale-out for real: two Scrapyd processes on 127.0.0.1, the project deployed to both with
scrapyd-deploy, one PostgreSQL archive, the local copy of the site.

Each node has its own port, folder and `max_proc`, and the environment a systemd unit would give
it: the database URL (with a password, which trust authentication ignores) and its data folder.
The dispatcher is driven directly (`Dispatcher.dispatch`), not through wall-clock schedules.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from archiver.db import make_engine, upgrade
from archiver.db.coverage import listing_coverage
from archiver.db.migrate import HEAD_REVISION, current_revision
from archiver.db.schedules import ScheduleSpec
from archiver.db.tables import FACETS, INVALID, RELEASES, RUNS, VERSIONS
from archiver.demo.dataset import FILTERS, Dataset
from archiver.demo.render import listing_path
from archiver.demo.server import DemoServer
from archiver.process.crawl import LOCAL_SITE_SETTINGS
from archiver.scheduler.dispatch import Dispatcher
from archiver.scheduler.nodes import node_reports
from archiver.scheduler.scrapyd import ScrapydNode
from benchmarks.scrapydnodes import LocalNode, deploy, node_environment, wait_idle
from tests.plugins.cli import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

#: The database password of the nodes' environment: it must show nowhere on a node.
PASSWORD = "s3cret-Sc4le0ut"
SETTINGS = {name: str(value) for name, value in LOCAL_SITE_SETTINGS.items()}
NAMES = {None: "all", **{facet: facet.split("=")[1].split(",")[0] for facet in FILTERS}}
FACET = {name: facet for facet, name in NAMES.items()}


@dataclass
class Cluster:
    db_url: str
    nodes: list[LocalNode]
    engine: Engine
    samples: list[dict[str, Any]] = field(default_factory=list)

    def dispatcher(self, **options: Any) -> Dispatcher:
        options = {"poll_interval": 0.2, "lost_after": 30.0, **options}
        return Dispatcher(self.engine, [ScrapydNode(node.url) for node in self.nodes], **options)

    def runs(self) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(RUNS).order_by(RUNS.c.id)))


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Two nodes (max_proc 2) with the project deployed, on an archive made before scale-out
    (schema 0006): the nodes' first crawl upgrades it with the migrations in the egg."""
    db_url = make_url(pg_url).set(password=PASSWORD).render_as_string(hide_password=False)
    upgrade(db_url, "0006_release_texts")
    nodes = [
        LocalNode(
            tmp_path / f"node{number}",
            node_environment(
                db_url,
                tmp_path / f"node{number}" / "data",
                ARCHIVER_CONTACT_URL="https://example.org/scale-out-test",
            ),
            max_proc=2,
            poll_interval=0.1,
        )
        for number in (1, 2)
    ]
    engine = make_engine(db_url)
    try:
        for node in nodes:
            node.start()
        answers = deploy(nodes, tmp_path / "build")
        assert [answer["spiders"] for answer in answers] == [3, 3]
        yield Cluster(db_url, nodes, engine)
    finally:
        for node in nodes:
            node.stop()
        engine.dispose()


def spec(facet: str | None, server: DemoServer, **settings: str) -> ScheduleSpec:
    arguments = {"base_url": server.base_url}
    if facet:
        key, value = facet.split("=", 1)
        arguments[key] = value
    return ScheduleSpec(
        NAMES[facet], "amnestyusa", arguments=arguments, settings={**SETTINGS, **settings}
    )


def first_job_by_hand(cluster: Cluster, server: DemoServer) -> None:
    """A job sent by hand (as with curl): it upgrades the archive from the egg's migrations."""
    node = ScrapydNode(cluster.nodes[0].url)
    node.schedule(
        "archiver",
        "amnestyusa",
        job_id="by-hand",
        arguments={"country": "syria", "base_url": server.base_url},
        settings=SETTINGS,
    )
    wait_idle(cluster.nodes)


class Watcher:
    """Samples both nodes' daemonstatus.json and listjobs.json while fires go on."""

    def __init__(self, nodes: list[LocalNode]) -> None:
        self.nodes = nodes
        self.peak_running = [0] * len(nodes)
        self.peak_total = 0
        self.pending_seen = 0
        self.listings: list[str] = []  # raw listjobs.json answers (pending jobs show their args)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for index, node in enumerate(self.nodes):
                try:
                    status = node.get("daemonstatus.json")
                    self.listings.append(node.page("listjobs.json?project=archiver"))
                except OSError:
                    continue
                self.peak_running[index] = max(self.peak_running[index], status["running"])
                self.pending_seen = max(self.pending_seen, status["pending"])
                total += status["running"]
            self.peak_total = max(self.peak_total, total)
            self._stop.wait(0.1)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def overlapping(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


def stored(engine: Engine) -> tuple[dict[str, int], dict[str, set[str]]]:
    """Releases by URL (how many rows each), and the URLs seen under each facet."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(RELEASES.c.url, func.count()).group_by(RELEASES.c.url)
        ).all()
        facets: dict[str, set[str]] = {}
        for facet, url in connection.execute(
            select(FACETS.c.facet, RELEASES.c.url).join(
                RELEASES, RELEASES.c.id == FACETS.c.release_id
            )
        ):
            facets.setdefault(facet, set()).add(url)
    return {url: count for url, count in rows}, facets


def valid_urls(dataset: Dataset, facet: str | None) -> set[str]:
    """The releases a listing shows that the archive keeps (a card without a date is refused)."""
    return {release.canonical_url for release in dataset.listing(facet) if release.date_text}


def assert_no_password_anywhere(cluster: Cluster, watcher_listings: list[str]) -> None:
    """Not in job arguments (listjobs.json, pending jobs included), the nodes' logs (Scrapyd's
    own and every job's), or the nodes' web pages; but in their environment, where it belongs."""
    checked = 0
    for node in cluster.nodes:
        assert node.process is not None
        environ = Path(f"/proc/{node.process.pid}/environ").read_bytes()
        assert PASSWORD.encode() in environ  # the test could fail: the node has it
        pages = ["", "jobs", "logs/", "logs/archiver/", "logs/archiver/amnestyusa/"]
        pages.append("listjobs.json?project=archiver")
        for log in sorted(node.logs_dir.rglob("*.log")):
            pages.append("logs/" + log.relative_to(node.logs_dir).as_posix())
            assert PASSWORD not in log.read_text(errors="replace"), log
            checked += 1
        assert PASSWORD not in node.service_log.read_text(errors="replace")
        for page in pages:
            assert PASSWORD not in node.page(page), page
    for listing in watcher_listings:
        assert PASSWORD not in listing
    assert checked >= 2


def test_twenty_fires_over_several_facets_on_two_nodes(cluster: Cluster, dataset: Dataset) -> None:
    with DemoServer(layout="current", delay=0.03) as server:
        first_job_by_hand(cluster, server)
        assert current_revision(cluster.engine) == HEAD_REVISION  # upgraded from the egg
        # Every listing read to its end each time (no incremental stop): five crawls at once
        # write the same releases (the whole newsroom and the filters overlap) four times over.
        specs = [spec(facet, server, ARCHIVER_INCREMENTAL="off") for facet in NAMES]
        dispatcher = cluster.dispatcher()
        reports = []
        with Watcher(cluster.nodes) as watcher, ThreadPoolExecutor(len(specs)) as pool:
            for _ in range(4):  # 4 rounds of 5 fires: 5 jobs at once for 2 x 2 slots
                reports += list(pool.map(dispatcher.dispatch, specs))
            wait_idle(cluster.nodes)

    urls = {node.url for node in cluster.nodes}
    runs = cluster.runs()
    by_hand = [run for run in runs if run.job_id == "by-hand"]
    assert len(by_hand) == 1 and by_hand[0].trigger == "manual" and by_hand[0].node is None
    fired = [run for run in runs if run.trigger in {s.name for s in specs}]
    # Every fire was a crawl on a node, and went well.
    assert len(fired) == 20 == len(reports)
    assert {run.status for run in fired} == {"finished"}, [
        (run.status, run.finish_reason) for run in fired
    ]
    crawled = fired
    for run in crawled:
        assert run.node in urls and run.job_id.startswith(f"{run.trigger}~")
        assert run.finish_reason == "ok" and run.stats["archiver/exit_code"] == 0
        assert run.pages == len(dataset.pages(None if run.trigger == "all" else FACET[run.trigger]))
    for report in reports:
        if report.status == "finished":
            assert report.exit_code == 0 and str(report.log_path).startswith(tuple(urls))
    # Both nodes ran crawls, each as its own job, logged on the node that ran it.
    for node in cluster.nodes:
        mine = [run for run in crawled if run.node == node.url]
        assert mine, f"node {node.url} ran nothing"
        finished = {job["id"] for job in node.get("listjobs.json?project=archiver")["finished"]}
        for run in mine:
            assert run.job_id in finished
            assert (node.logs_dir / "archiver" / "amnestyusa" / f"{run.job_id}.log").exists()
        # max_proc = 2: never more than two crawls at once on a node.
        assert overlapping([(run.started_at, run.finished_at) for run in mine]) <= 2
    assert max(watcher.peak_running) <= 2
    assert watcher.peak_total >= 3  # both nodes crawled at the same time
    # No schedule overlapped itself, across nodes.
    for name in {s.name for s in specs}:
        spans = [(run.started_at, run.finished_at) for run in crawled if run.trigger == name]
        assert overlapping(spans) == 1, name
    assert watcher.pending_seen >= 1  # more jobs than slots: the nodes queued them

    # One archive, many writers: every release once, every facet merged, no spurious version,
    # each release counted new by exactly one run.
    counts, facets = stored(cluster.engine)
    expected = valid_urls(dataset, None)
    assert set(counts) == expected and set(counts.values()) == {1}
    for facet in FILTERS:
        assert facets[facet] == valid_urls(dataset, facet)
    with cluster.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(VERSIONS)).scalar() == 0
        # The card without a date is quarantined once, however many runs refused it.
        refused = select(func.count(func.distinct(INVALID.c.identity))).select_from(INVALID)
        assert connection.execute(refused).scalar() == len(dataset.listing(None)) - len(expected)
        coverage = listing_coverage(connection)
    assert sum(run.items_new for run in runs) == len(expected)
    for _, facet, state in coverage:
        assert state.ever_complete and not state.has_gap, (facet, state)
    assert len(coverage) == len(NAMES)

    assert_no_password_anywhere(cluster, watcher.listings)


def test_a_node_killed_mid_job(cluster: Cluster, dataset: Dataset) -> None:
    expected = valid_urls(dataset, None)
    with DemoServer(layout="current", delay=0.25) as server:
        first_job_by_hand(cluster, server)
        # Batches flushed every half second: the killed run has stored part of the listing.
        everything = spec(None, server, ARCHIVER_STORE_FLUSH_INTERVAL="0.5")
        dispatcher = cluster.dispatcher(lost_after=20.0)
        reports: list[Any] = []
        fire = threading.Thread(target=lambda: reports.append(dispatcher.dispatch(everything)))
        fire.start()
        # The first fire goes to node 1 (equal loads: the first node); kill it mid-listing.
        deadline = time.monotonic() + 120
        while listing_path(None, 8) not in server.requests:
            assert time.monotonic() < deadline and fire.is_alive()
            time.sleep(0.05)
        # A fire of the same schedule meanwhile (from a dispatcher that did not send the first,
        # as after a restart) is skipped: its run is going on node 1.
        skipped = cluster.dispatcher().dispatch(everything)
        victim, survivor = cluster.nodes
        assert skipped.status == "skipped" and f"still running on {victim.url}" in skipped.reason
        victim.kill()
        fire.join(timeout=120)
        assert not fire.is_alive()
        killed = reports[0]
        assert killed.status in ("interrupted", "failed"), killed
        with cluster.engine.connect() as connection:
            row = connection.execute(select(RUNS).where(RUNS.c.id == killed.run_id)).one()
        assert row.node == victim.url and row.status == killed.status
        killed_job = row.job_id
        assert re.search(r"process \d+ is gone|ended without closing its run", row.finish_reason)
        assert 0 < row.items_new < len(expected)  # it stored part of the listing, then died

        # The node does not answer: `archiver nodes` says so, the next fire goes elsewhere.
        reports_now = node_reports([node.url for node in cluster.nodes], cluster.engine)
        assert [report.up for report in reports_now] == [False, True]
        healed = dispatcher.dispatch(everything)
        assert healed.status == "finished", healed
        with cluster.engine.connect() as connection:
            row = connection.execute(select(RUNS).where(RUNS.c.id == healed.run_id)).one()
            coverage = {facet: state for _, facet, state in listing_coverage(connection)}
        assert row.node == survivor.url
        # The gap the killed run left is healed: the next run read the listing to its end.
        assert row.pages == len(dataset.pages(None))
        assert coverage[""].ever_complete and not coverage[""].has_gap

    counts, _ = stored(cluster.engine)
    assert set(counts) == expected and set(counts.values()) == {1}
    assert sum(run.items_new for run in cluster.runs()) == len(expected)
    # Back up (same folder and port): the node has forgotten the job it was killed in.
    victim.start()
    assert ScrapydNode(victim.url).job_state("archiver", killed_job) is None
    assert all(report.up for report in node_reports([n.url for n in cluster.nodes]))


def test_the_scheduler_service_sends_its_fires_to_the_nodes(
    cluster: Cluster, tmp_path: Path
) -> None:
    """`archiver scheduler --scrapyd URL --scrapyd URL`, as systemd runs it: every fire a job on
    a node, recorded with node and job; a schedule's secret setting never reaches a node."""
    urls = [node.url for node in cluster.nodes]
    log = tmp_path / "scheduler.log"
    with DemoServer(layout="current") as server:
        for name, facet in (("syria", "country=syria"), ("dp", "issue=death-penalty")):
            added = run_cli(
                "schedule", "add", name, "--spider", "amnestyusa", "-a", facet,
                "-a", f"base_url={server.base_url}", "--every", "2s",
                *(part for key, value in SETTINGS.items() for part in ("-s", f"{key}={value}")),
                # A setting that would carry the password: kept from the nodes.
                "-s", f"ARCHIVER_DATABASE_URL={cluster.db_url}",
                "--db", cluster.db_url, cwd=tmp_path,
            )  # fmt: skip
            assert added.returncode == 0, added.stderr
        with open(log, "w") as output:
            service = subprocess.Popen(
                [sys.executable, "-m", "archiver", "scheduler", "--db", cluster.db_url,
                 "--data-dir", str(tmp_path / "data"), "--sync-interval", "1s",
                 "--scrapyd", urls[0], "--scrapyd", urls[1]],
                cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 120
                while True:
                    done = [
                        run
                        for run in cluster.runs()
                        if run.status == "finished" and run.node in urls
                    ]
                    if {run.trigger for run in done} == {"syria", "dp"} and len(done) >= 4:
                        break
                    assert time.monotonic() < deadline, log.read_text()
                    assert service.poll() is None, log.read_text()
                    time.sleep(0.5)
            finally:
                service.send_signal(signal.SIGTERM)
                status = service.wait(timeout=60)
    assert status == 0, log.read_text()
    text = log.read_text()
    assert re.search(r"schedule (syria|dp): job \1~[0-9a-f]{12} sent to http://127", text)
    assert "ARCHIVER_DATABASE_URL: a node takes it from its own environment" in text
    assert PASSWORD not in text
    for run in cluster.runs():
        if run.trigger in ("syria", "dp") and run.status != "skipped":
            assert run.node in urls and run.job_id.startswith(f"{run.trigger}~")
    wait_idle(cluster.nodes)
    assert_no_password_anywhere(cluster, [])
