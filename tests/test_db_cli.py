"""`archiver db upgrade`, `archiver runs`, `archiver stats` on real databases, through click."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine

from archiver.cli import main
from archiver.db import make_engine
from archiver.db.runs import RunEnd
from tests.plugins.db import BatchWriter, close_test_run, open_test_run, release_item


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _fill(engine: Engine) -> None:
    store = BatchWriter(engine, open_test_run(engine, trigger="syria-6h"))
    store.write_batch([release_item(n, facet="country=syria") for n in range(3)])
    store.write_batch([release_item(0, title="Edited", facet="issue=refugee-migrant-rights")])
    assert store.run_id is not None
    close_test_run(engine, store.run_id, RunEnd("finished", "ok", pages=2), store.totals)


def test_db_upgrade_creates_then_reports_current(db_url: str) -> None:
    code, out, _ = _invoke("db", "upgrade", "--db", db_url)
    assert code == 0 and "upgraded from empty" in out
    code, out, _ = _invoke("db", "upgrade", "--db", db_url)
    assert code == 0 and "already at schema revision" in out


def test_runs_and_stats_show_what_was_stored(db_url: str) -> None:
    _invoke("db", "upgrade", "--db", db_url)
    engine = make_engine(db_url)
    try:
        _fill(engine)
    finally:
        engine.dispose()

    code, out, _ = _invoke("runs", "--db", db_url)
    assert code == 0
    assert "finished" in out and "syria-6h" in out
    code, out, _ = _invoke("stats", "--db", db_url)
    assert code == 0
    assert "country=syria" in out and "issue=refugee-migrant-rights" in out
    assert "Press Release" in out and "2017" in out


def test_runs_without_an_archive_says_so_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "archive.db"
    for command in ("runs", "stats"):
        code, out, err = _invoke(command, "--db", f"sqlite:///{missing}")
        assert code == 1, (command, out, err)
        assert "no archive at" in err and len(err.strip().splitlines()) == 1
    assert not missing.exists() and not missing.parent.exists()


def test_runs_on_an_empty_archive_say_there_are_none(sqlite_url: str) -> None:
    _invoke("db", "upgrade", "--db", sqlite_url)
    code, out, _ = _invoke("runs", "--db", sqlite_url)
    assert code == 0 and "no runs yet" in out


def test_unreachable_database_is_one_line_without_the_password() -> None:
    url = "postgresql://archiver:s3cret-pw@127.0.0.1:1/news"
    code, out, err = _invoke("stats", "--db", url)
    assert code == 1
    assert "s3cret-pw" not in out + err
    assert "archiver:***@127.0.0.1:1/news" in err
    assert len(err.strip().splitlines()) == 1


def test_runs_fit_an_80_column_terminal_without_cutting_counts(sqlite_url: str) -> None:
    """Long filters give way (cut with "…"); dates, statuses and every count stay whole."""
    _invoke("db", "upgrade", "--db", sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        arguments = {"base_url": "http://127.0.0.1:8000/", "country": "russian-federation,ukraine"}
        run_id = open_test_run(engine, arguments=arguments)
        store = BatchWriter(engine, run_id)
        store.write_batch([release_item(n) for n in range(12)])
        end = RunEnd("interrupted", "interrupted: stopped (Ctrl-C or SIGTERM)", pages=123, errors=7)
        close_test_run(engine, run_id, end, store.totals)
    finally:
        engine.dispose()
    result = CliRunner().invoke(main, ["runs", "--db", sqlite_url], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    header = next(line for line in lines if line.lstrip().startswith("run "))
    assert header.split()[:9] == [
        "run",
        "started",
        "took",
        "status",
        "pages",
        "seen",
        "new",
        "upd",
        "same",
    ]
    row = next(line for line in lines if line.lstrip().startswith(f"{run_id} "))
    assert "interrupted" in row and " 123 " in row and " 12 " in row and " 7 " in row
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)
    assert "stopped" in row and "cou" in row and "…" in row
