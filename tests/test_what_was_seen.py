"""Each thing a new user ran into (issue "Nothing missed, nothing leaked"), as a test.

The fault matrix (test_reliability.py), signals, time limits and secrets
(test_process_control.py) have their own files; these are the rest, through the real command
line wherever a user would type it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archiver.db import make_engine
from archiver.db.tables import INVALID, RELEASES, RUNS
from archiver.demo.render import render_site
from archiver.demo.server import DemoServer
from archiver.outcome import EXIT_EMPTY_FILTER, EXIT_ERROR, EXIT_OK, EXIT_USAGE
from tests.plugins.cli import run_cli

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"]


def crawl_cli(server: DemoServer, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`archiver crawl amnestyusa` of the local site, into tmp_path's archive and data folder."""
    return run_cli(
        "crawl",
        "amnestyusa",
        "-a",
        f"base_url={server.base_url}",
        *FAST,
        "--db",
        f"sqlite:///{tmp_path / 'archive.db'}",
        "--data-dir",
        str(tmp_path / "data"),
        "-q",
        *extra,
        cwd=tmp_path,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single error line a command printed (fails on a traceback or several lines)."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def rows(db_url: str, table=RUNS) -> list:  # type: ignore[no-untyped-def,type-arg]
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(table).order_by(table.c.id)).all())
    finally:
        engine.dispose()


# -- feeds hold what was asked for ----------------------------------------------------------------


@pytest.mark.slow
def test_a_feed_after_a_complete_crawl_holds_the_whole_listing(tmp_path: Path) -> None:
    with DemoServer() as server:
        assert crawl_cli(server, tmp_path, "-a", "country=syria").returncode == EXIT_OK
        feed = tmp_path / "syria.jsonl"
        again = crawl_cli(server, tmp_path, "-a", "country=syria", "-o", str(feed))
        assert again.returncode == EXIT_OK, again.stderr
        assert len(feed.read_text().splitlines()) == 70  # not the 10 of an incremental stop
        command = [sys.executable, "-m", "scrapy", "crawl", "amnestyusa", "-a", "country=syria"]
        command += ["-a", f"base_url={server.base_url}", "-s", "DOWNLOAD_DELAY=0"]
        command += ["-s", f"ARCHIVER_DATABASE_URL=sqlite:///{tmp_path / 'archive.db'}"]
        command += ["-s", f"ARCHIVER_DATA_DIR={tmp_path / 'data'}", "-O", str(tmp_path / "s.jsonl")]
        scrapy = subprocess.run(
            command,
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert scrapy.returncode == 0, scrapy.stderr[-2000:]
        assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 70
        # An incremental crawl says why it stopped and after how many pages.
        plain = crawl_cli(server, tmp_path, "-a", "country=syria", "--stats-file", "s.json")
    written = json.loads((tmp_path / "s.json").read_text())
    assert written["outcome"] == "ok; stopped after 1 page(s): nothing new or edited (incremental)"
    assert "stopped after 1 page(s)" in plain.stdout


def test_an_unwritable_feed_is_refused_before_crawling(tmp_path: Path) -> None:
    result = run_cli(
        "crawl", "amnestyusa", "-o", "/proc/archiver-feed.jsonl", "--data-dir", str(tmp_path)
    )
    assert result.returncode == EXIT_USAGE
    assert "cannot write there" in one_line(result)
    assert not (tmp_path / "logs").exists() or not list((tmp_path / "logs").iterdir())


# -- the demo keeps to itself ---------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_never_writes_into_the_configured_archive(tmp_path: Path) -> None:
    production = tmp_path / "production.db"
    environment = {
        **os.environ,
        "ARCHIVER_DATABASE_URL": f"sqlite:///{production}",
        "ARCHIVER_DATA_DIR": str(tmp_path / "production-data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "archiver", "demo"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not production.exists() and not (tmp_path / "production-data").exists()
    assert (tmp_path / "data" / "demo" / "archive.db").is_file()


# -- read-only commands on no archive -------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["runs"],
        ["stats"],
        ["facets"],
        ["quarantine"],
        ["export", "--out", "-"],
        ["reparse", "--run", "1"],
    ],
)
def test_read_only_commands_without_an_archive_say_so_and_create_nothing(
    command: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "typo" / "archive.db"
    result = run_cli(*command, "--db", f"sqlite:///{missing}", cwd=tmp_path)
    assert result.returncode == EXIT_ERROR
    assert "no archive at" in one_line(result)
    assert not missing.parent.exists()


# -- honest outcomes ------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_unreachable_site_is_a_failed_run(tmp_path: Path) -> None:
    result = run_cli(
        "crawl",
        "amnestyusa",
        "-a",
        "base_url=http://127.0.0.1:1",
        "-s",
        "RETRY_TIMES=0",
        "--db",
        f"sqlite:///{tmp_path / 'archive.db'}",
        "--data-dir",
        str(tmp_path / "data"),
        "-q",
        cwd=tmp_path,
    )
    assert result.returncode == EXIT_ERROR
    assert "no listing page could be read: page 1" in " ".join(result.stderr.split())
    (run,) = rows(f"sqlite:///{tmp_path / 'archive.db'}")
    assert run.status == "failed"  # it was recorded "finished"
    assert run.finish_reason.startswith("no listing page could be read: page 1")


def test_reparse_of_an_unknown_run_is_refused_and_records_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    assert run_cli("db", "upgrade", "--db", url, cwd=tmp_path).returncode == 0
    result = run_cli("reparse", "--run", "9999", "--db", url, cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    assert "no crawl run with that id" in one_line(result)
    assert rows(url) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["-s", "CONCURRENT_REQUESTS=many"], "setting CONCURRENT_REQUESTS='many'"),
        (["-s", "ARCHIVER_INCREMENTAL=sometimes"], "ARCHIVER_INCREMENTAL must be one of"),
        (["-a", "base_url="], "base_url is empty"),
        (["-a", "base_url=ftp://example.org"], "base_url must be an http(s) URL"),
        (["-a", "country=syrie!"], "is not a slug"),
    ],
)
def test_bad_values_are_one_line_naming_the_cause(
    options: list[str], message: str, tmp_path: Path
) -> None:
    result = run_cli(
        "crawl", "amnestyusa", *options, "--data-dir", str(tmp_path / "data"), cwd=tmp_path
    )
    assert result.returncode == EXIT_USAGE
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr and "unknown reason" not in result.stderr


@pytest.mark.slow
def test_a_mistyped_setting_name_is_warned_about_with_the_closest_name(tmp_path: Path) -> None:
    with DemoServer() as server:
        result = crawl_cli(server, tmp_path, "-a", "max_pages=1", "-s", "DOWNLOAD_DELAI=0")
    assert result.returncode == EXIT_OK, result.stderr
    assert "unknown setting DOWNLOAD_DELAI (did you mean DOWNLOAD_DELAY?)" in " ".join(
        result.stderr.split()
    )


def test_a_component_dict_adds_to_the_archivers_own_and_cannot_remove_what_it_needs(
    tmp_path: Path,
) -> None:
    """`-s EXTENSIONS=...` used to replace the archiver's extensions: 206 releases crawled,
    none stored, "crawl process exited with status 1"."""
    added = json.dumps({"scrapy.extensions.closespider.CloseSpider": 0})
    removed = json.dumps({"pipelines.store.StorePipeline": None})
    with DemoServer() as server:
        result = crawl_cli(server, tmp_path, "-s", f"EXTENSIONS={added}")
        refused = crawl_cli(server, tmp_path, "-s", f"ITEM_PIPELINES={removed}")
    assert result.returncode == EXIT_OK, result.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(RELEASES)).scalar()
            runs = connection.execute(select(RUNS.c.status)).scalars().all()
    finally:
        engine.dispose()
    assert stored == 206  # every valid release of the demo site (one card lacks its date)
    assert runs == ["finished"]  # the refused crawl left no run behind
    assert refused.returncode == EXIT_USAGE
    assert (
        "setting ITEM_PIPELINES cannot remove pipelines.store.StorePipeline: use "
        "ARCHIVER_STORE_ENABLED=0 to crawl without storing" in " ".join(refused.stderr.split())
    )


def test_a_corrupt_database_or_a_missing_driver_is_one_line(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    result = run_cli("runs", "--db", f"sqlite:///{corrupt}", cwd=tmp_path)
    assert result.returncode == EXIT_ERROR
    assert "file is not a database" in one_line(result)
    crawl = run_cli(
        "crawl", "amnestyusa", "--db", f"sqlite:///{corrupt}", "--data-dir", str(tmp_path), "-q"
    )
    assert crawl.returncode == EXIT_ERROR
    assert "file is not a database" in " ".join(crawl.stderr.split())
    assert "unknown reason" not in crawl.stderr
    driver = run_cli("runs", "--db", "postgresql+pg8000://u:secret@127.0.0.1/x", cwd=tmp_path)
    assert driver.returncode == EXIT_ERROR
    line = one_line(driver)
    assert "pg8000" in line and "secret" not in line


@pytest.mark.parametrize(
    ("command", "environment", "message"),
    [
        (["export", "-o", "/proc/x.csv"], {}, "cannot write"),
        (["runs", "--db", "mysql://u:p@h/x"], {}, "the archive supports SQLite and PostgreSQL"),
        (["db", "upgrade", "--revision", "bogus"], {}, "unknown schema revision 'bogus'"),
        (["export"], {"ARCHIVER_DATA_DIR": "FILE"}, "cannot create the export folder"),
        (["crawl", "amnestyusa", "--data-dir", "/proc/archiver-data"], {}, "cannot write there"),
    ],
)
def test_what_used_to_be_a_traceback_is_one_line(
    command: list[str], environment: dict[str, str], message: str, tmp_path: Path
) -> None:
    archive = f"sqlite:///{tmp_path / 'archive.db'}"
    assert run_cli("db", "upgrade", "--db", archive, cwd=tmp_path).returncode == 0
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    command = [str(a_file) if part == "FILE" else part for part in command]
    env = {**os.environ, "ARCHIVER_DATABASE_URL": archive}
    env.update(
        {key: str(a_file) if value == "FILE" else value for key, value in environment.items()}
    )
    result = subprocess.run(
        [sys.executable, "-m", "archiver", *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (EXIT_ERROR, EXIT_USAGE)
    assert message in one_line(result)


@pytest.mark.slow
def test_robots_txt_forbidding_the_listing_is_named(tmp_path: Path, dataset) -> None:  # type: ignore[no-untyped-def]
    site = render_site(dataset, "current")
    site.robots_txt = "User-agent: *\nDisallow: /news/\n"
    with DemoServer(site) as server:
        result = crawl_cli(server, tmp_path, "-a", "country=syria")
    assert result.returncode == EXIT_ERROR
    assert "robots.txt forbids the listing" in " ".join(result.stderr.split())


@pytest.mark.slow
def test_a_filter_value_that_matches_nothing_is_not_a_redesign(tmp_path: Path) -> None:
    with DemoServer() as server:
        result = crawl_cli(server, tmp_path, "-a", "country=nonexistent-country")
    assert result.returncode == EXIT_EMPTY_FILTER
    assert "the filter country=nonexistent-country matched nothing" in " ".join(
        result.stderr.split()
    )
    (run,) = rows(f"sqlite:///{tmp_path / 'archive.db'}")
    assert run.health is None  # no redesign alarm
    facets = run_cli("facets", "--db", f"sqlite:///{tmp_path / 'archive.db'}", cwd=tmp_path)
    assert facets.returncode == 0 and "no filtered listing crawled yet" in facets.stdout
    assert "gap" not in facets.stdout  # an empty listing was read whole: there is no gap


# -- the scheduler --------------------------------------------------------------------------------


def test_one_scheduler_per_database_however_the_path_is_spelled(tmp_path: Path) -> None:
    from archiver.scheduler.lock import LockHeldError, ServiceLock

    real = tmp_path / "real" / "archive.db"
    real.parent.mkdir()
    (tmp_path / "link").symlink_to(real.parent)
    with ServiceLock(f"sqlite:///{real}"):
        with pytest.raises(LockHeldError):
            ServiceLock(f"sqlite:///{tmp_path / 'link' / 'archive.db'}").acquire(wait=0)
        with pytest.raises(LockHeldError):
            ServiceLock(f"sqlite:///{real.parent / '..' / 'real' / 'archive.db'}").acquire(wait=0)


def test_a_cron_expression_that_never_fires_is_refused(tmp_path: Path) -> None:
    result = run_cli(
        "schedule",
        "add",
        "never",
        "--spider",
        "amnestyusa",
        "--cron",
        "0 3 31 2 *",
        "--db",
        f"sqlite:///{tmp_path / 'archive.db'}",
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "never fires" in one_line(result)


# -- the quarantine -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_card_refused_on_every_run_is_one_row_with_a_count(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    with DemoServer() as server:
        for _ in range(3):  # the whole newsroom holds one card without a date
            result = crawl_cli(server, tmp_path, "--full")
            assert result.returncode == EXIT_OK, result.stderr
    refused = rows(url, INVALID)
    assert len(refused) == 1
    assert refused[0].times_seen == 3 and refused[0].reasons == ["missing_date"]
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            runs_with_refusals = connection.execute(
                select(func.count()).select_from(RUNS).where(RUNS.c.items_invalid > 0)
            ).scalar_one()
    finally:
        engine.dispose()
    assert runs_with_refusals == 3  # each run still counts what it refused
    listed = run_cli("quarantine", "--db", url, cwd=tmp_path)
    assert listed.returncode == 0 and "missing_date" in listed.stdout
    exported = run_cli("quarantine", "--db", url, "--out", "refused.csv", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    lines = (tmp_path / "refused.csv").read_text().splitlines()
    assert len(lines) == 2 and lines[0].startswith("reasons,times_seen")
    assert lines[1].startswith("missing_date,3,")
