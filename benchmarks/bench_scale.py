"""Scale-out: the same set of facet crawls on one Scrapyd node, then on two.

    .venv/bin/python benchmarks/bench_scale.py [--delay 2.5] [--crawls 12] [--max-proc 2]

The local copy of the site answers every request after `--delay` seconds (as the real site, read
politely, is slow per page), so the crawls are wait-bound. The set: `--crawls` crawls taken in
turn from six listings of six or seven pages (three filters and the unfiltered newsroom cut into
pages 1-7, 8-14 and 15-21), every page read (`ARCHIVER_INCREMENTAL=off`); a multiple of four
crawls fills one node's two slots and two nodes' four alike, wave after wave. Each
configuration gets a fresh PostgreSQL database (`ARCHIVER_BENCH_PG_URL`, default the local
server; SQLite when it cannot be reached), fresh nodes (`max_proc` each) with the project
deployed by `scrapyd-deploy`, and the dispatcher of `archiver scheduler --scrapyd`, which sends
all the fires at once and follows them.

Measured: releases per second (releases the runs saw / wall-clock time from the first fire to
the last run's end) on one node and on two, their ratio (target >= 1.8), and each node's peak
resident memory (Scrapyd and its crawls together; Scrapyd alone, idle, for comparison). A
script, not a test: nothing is asserted. `ARCHIVER_BENCH_QUICK=1` runs 4 crawls with a shorter
delay (about 35 s, most of it starting nodes and deploying; too short to reach the target). The
last line follows benchmarks/run_all.py's `BENCH-RESULT` protocol.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

from scrapydnodes import LocalNode, MemorySampler, deploy, node_environment  # noqa: E402

from archiver.db import make_engine, upgrade  # noqa: E402
from archiver.db.runs import list_runs  # noqa: E402
from archiver.db.schedules import ScheduleSpec  # noqa: E402
from archiver.demo.server import DemoServer  # noqa: E402
from archiver.process.crawl import LOCAL_SITE_SETTINGS  # noqa: E402
from archiver.scheduler.dispatch import Dispatcher  # noqa: E402
from archiver.scheduler.scrapyd import ScrapydNode  # noqa: E402

TARGET_RATIO = 1.8
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: (name, spider arguments): six listings of six or seven pages each.
LISTINGS: tuple[tuple[str, dict[str, str]], ...] = (
    ("syria", {"country": "syria"}),
    ("refugees", {"issue": "refugee-migrant-rights"}),
    ("death-penalty", {"issue": "death-penalty"}),
    ("news-1", {"start_page": "1", "max_pages": "7"}),
    ("news-8", {"start_page": "8", "max_pages": "7"}),
    ("news-15", {"start_page": "15", "max_pages": "7"}),
)


@dataclass
class Measure:
    nodes: int
    seconds: float
    releases: int
    runs: int
    statuses: dict[str, int]
    peaks_mb: list[float]
    idle_mb: list[float]

    @property
    def rate(self) -> float:
        return self.releases / self.seconds if self.seconds else 0.0


@contextmanager
def fresh_database(workdir: Path, label: str) -> Iterator[str]:
    """A new PostgreSQL database (dropped afterwards), or a SQLite file if there is no server."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin_url = make_url(os.environ.get("ARCHIVER_BENCH_PG_URL", DEFAULT_PG_URL))
    conninfo = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:
        print("PostgreSQL unreachable: using SQLite", flush=True)
        yield f"sqlite:///{workdir / f'{label}.db'}"
        return
    name = f"archiver_bench_scale_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(conninfo).set(database=name).render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def specs(server: DemoServer, crawls: int) -> list[ScheduleSpec]:
    """`crawls` fires, the listings in turn (each fire its own schedule: they may overlap)."""
    settings = {
        **{name: str(value) for name, value in LOCAL_SITE_SETTINGS.items()},
        "ARCHIVER_INCREMENTAL": "off",
    }
    fires = []
    for number in range(crawls):
        name, arguments = LISTINGS[number % len(LISTINGS)]
        fires.append(
            ScheduleSpec(
                f"{name}-{number}",
                "amnestyusa",
                arguments={**arguments, "base_url": server.base_url},
                settings=settings,
            )
        )
    return fires


def measure(
    count: int, server: DemoServer, workdir: Path, *, crawls: int, max_proc: int
) -> Measure:
    """Run the set of crawls on `count` fresh nodes; what it took."""
    folder = workdir / f"{count}-node"
    with fresh_database(workdir, f"{count}-node") as db_url:
        upgrade(db_url)
        nodes = [
            LocalNode(
                folder / f"node{number}",
                node_environment(db_url, folder / f"node{number}" / "data"),
                max_proc=max_proc,
                poll_interval=0.2,
            )
            for number in range(1, count + 1)
        ]
        engine = make_engine(db_url)
        try:
            for node in nodes:
                node.start()
            deploy(nodes, folder / "build")
            idle = [node.rss_bytes() for node in nodes]  # Scrapyd alone, waiting for jobs
            fires = specs(server, crawls)
            dispatcher = Dispatcher(
                engine, [ScrapydNode(node.url) for node in nodes], poll_interval=0.1
            )
            with MemorySampler(nodes) as memory, ThreadPoolExecutor(len(fires)) as pool:
                started = time.perf_counter()
                reports = list(pool.map(dispatcher.dispatch, fires))
                seconds = time.perf_counter() - started
            with engine.connect() as connection:
                runs = list_runs(connection, limit=len(fires) + 10)
        finally:
            for node in nodes:
                node.stop()
            engine.dispose()
    statuses: dict[str, int] = {}
    for report in reports:
        statuses[report.status] = statuses.get(report.status, 0) + 1
    return Measure(
        nodes=count,
        seconds=seconds,
        releases=sum(run.items_seen for run in runs),
        runs=len(runs),
        statuses=statuses,
        peaks_mb=[round(peak / 2**20, 1) for peak in memory.peaks],
        idle_mb=[round(rss / 2**20, 1) for rss in idle],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=2.5, help="seconds per request")
    parser.add_argument("--crawls", type=int, default=12, help="crawls of 6-7 pages each")
    parser.add_argument("--max-proc", type=int, default=2, help="crawls at once per node")
    options = parser.parse_args()
    if os.environ.get("ARCHIVER_BENCH_QUICK") == "1":
        options.delay, options.crawls = 0.5, 4
    print(
        f"{options.crawls} crawls of 6-7 pages, {options.delay} s per request,"
        f" max_proc {options.max_proc} per node",
        flush=True,
    )
    measures: list[Measure] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp,
        DemoServer(layout="current", delay=options.delay) as server,
    ):
        for count in (1, 2):
            result = measure(
                count, server, Path(tmp), crawls=options.crawls, max_proc=options.max_proc
            )
            measures.append(result)
            print(
                f"{count} node(s): {result.releases} releases in {result.seconds:.1f} s ="
                f" {result.rate:.1f} releases/s; runs {result.statuses};"
                f" peak memory per node {', '.join(f'{mb} MB' for mb in result.peaks_mb)}"
                f" (idle Scrapyd {', '.join(f'{mb} MB' for mb in result.idle_mb)})",
                flush=True,
            )
    one, two = measures
    ratio = two.rate / one.rate if one.rate else 0.0
    print(f"two nodes / one node: {ratio:.2f}x (target >= {TARGET_RATIO})")
    record: dict[str, Any] = {
        "name": "scale",
        "metric": "releases/s, 2 Scrapyd nodes vs 1 (wait-bound facet crawls)",
        "value": round(two.rate, 2),
        "baseline": round(one.rate, 2),
        "ratio": round(ratio, 3),
        "target": TARGET_RATIO,
        "passed": ratio >= TARGET_RATIO,
        "peak_mb_one_node": one.peaks_mb,
        "peak_mb_two_nodes": two.peaks_mb,
    }
    print("BENCH-RESULT " + json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
