"""Crawl runs: opened, closed with counts, and found out when their process died."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import Engine

from archiver.db import open_archive
from archiver.db.models import utcnow
from archiver.db.runs import RunEnd, pid_alive
from archiver.db.store import StoreCounts
from tests.plugins.db import (
    BatchWriter,
    close_test_run,
    mark_dead,
    open_test_run,
    read_run,
    read_runs,
    release_item,
)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_open_and_close_a_run_with_its_counts(archive_engine: Engine) -> None:
    run_id = open_test_run(archive_engine, arguments={"country": "syria"}, trigger="syria-6h")
    run = read_run(archive_engine, run_id)
    assert run is not None
    assert (run.status, run.trigger, run.pid) == ("running", "syria-6h", os.getpid())
    assert run.hostname == socket.gethostname()
    assert run.started_at.tzinfo is not None

    end = RunEnd(status="finished", reason="ok", pages=3, cards=36, errors=1, stats={"a": 1})
    close_test_run(archive_engine, run_id, end, StoreCounts(new=30, unchanged=4, invalid=2))

    run = read_run(archive_engine, run_id)
    assert run is not None
    assert (run.status, run.finish_reason, run.pages, run.cards, run.errors) == (
        "finished",
        "ok",
        3,
        36,
        1,
    )
    assert (run.items_seen, run.items_new, run.items_unchanged, run.items_invalid) == (34, 30, 4, 2)
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.stats == {"a": 1}


def test_run_whose_process_died_is_marked_interrupted_and_keeps_its_items(
    archive_engine: Engine, archive_url: str
) -> None:
    dead = open_test_run(archive_engine, pid=_dead_pid())
    BatchWriter(archive_engine, dead).write_batch([release_item(n) for n in range(3)])
    alive = open_test_run(archive_engine)  # this very process

    open_archive(archive_url).dispose()  # what every command and crawl does first

    dead_run, alive_run = read_run(archive_engine, dead), read_run(archive_engine, alive)
    assert dead_run is not None and alive_run is not None
    assert dead_run.status == "interrupted"
    assert "gone" in (dead_run.finish_reason or "")
    assert dead_run.items_new == 3  # the committed batch's counts stay
    assert dead_run.finished_at is not None
    assert alive_run.status == "running"


def test_run_of_another_host_is_interrupted_only_when_its_heartbeat_is_stale(
    archive_engine: Engine,
) -> None:
    run_id = open_test_run(archive_engine, hostname="elsewhere", pid=1)

    assert mark_dead(archive_engine) == []
    later = utcnow() + timedelta(hours=2)
    assert mark_dead(archive_engine, now=later) == [run_id]
    run = read_run(archive_engine, run_id)
    assert run is not None and run.status == "interrupted"


def test_finished_runs_are_never_touched(archive_engine: Engine) -> None:
    run_id = open_test_run(archive_engine, pid=_dead_pid())
    close_test_run(archive_engine, run_id, RunEnd(status="finished", reason="ok"), StoreCounts())

    assert mark_dead(archive_engine, now=utcnow() + timedelta(days=9)) == []


def test_list_runs_newest_first(archive_engine: Engine) -> None:
    ids = [open_test_run(archive_engine, spider=name) for name in ("a", "b", "a")]

    assert [run.id for run in read_runs(archive_engine)] == ids[::-1]
    assert [run.id for run in read_runs(archive_engine, limit=1)] == ids[-1:]
    assert [run.id for run in read_runs(archive_engine, spider="a")] == [ids[2], ids[0]]


def test_pid_alive_sees_a_killed_but_unreaped_child_as_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert pid_alive(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, still a zombie
        assert not pid_alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not pid_alive(child.pid)
    assert pid_alive(os.getpid())
