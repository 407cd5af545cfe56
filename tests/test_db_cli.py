"""`archiver db upgrade`, `archiver runs`, `archiver stats` on real databases, through click."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import Engine

from archiver.cli import main
from archiver.db import make_engine
from archiver.db.runs import RunOutcome, close_run, open_run
from archiver.db.store import ReleaseStore
from tests.plugins.db import release_item


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _fill(engine: Engine) -> None:
    store = ReleaseStore(engine, open_run(engine, spider="amnestyusa", trigger="syria-6h"))
    store.write_batch([release_item(n, facet="country=syria") for n in range(3)])
    store.write_batch([release_item(0, title="Edited", facet="issue=refugee-migrant-rights")])
    assert store.run_id is not None
    close_run(engine, store.run_id, RunOutcome("finished", "finished", pages=2), store.totals)


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


def test_runs_on_a_fresh_sqlite_database_creates_it(sqlite_url: str) -> None:
    code, out, _ = _invoke("runs", "--db", sqlite_url)
    assert code == 0 and "no runs yet" in out


def test_unreachable_database_is_one_line_without_the_password() -> None:
    url = "postgresql://archiver:s3cret-pw@127.0.0.1:1/news"
    code, out, err = _invoke("stats", "--db", url)
    assert code == 1
    assert "s3cret-pw" not in out + err
    assert "archiver:***@127.0.0.1:1/news" in err
    assert len(err.strip().splitlines()) == 1
