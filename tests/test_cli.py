"""The command line as a user meets it: help texts, clear one-line errors, the demo end to end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archiver.cli import COMMANDS, main
from tests.plugins.cli import run_cli


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    context = click.Context(main)
    names = main.list_commands(context)
    assert names == list(COMMANDS) and all(name in top.output for name in names)
    for name in names:
        command = main.get_command(context, name)
        assert command is not None, name
        commands = [([name], command)]
        if isinstance(command, click.Group):
            commands += [([name, sub], command.commands[sub]) for sub in command.commands]
        for path, each in commands:
            result = runner.invoke(main, [*path, "--help"])
            assert result.exit_code == 0, path
            assert each.help and len(each.help) > 40, f"{' '.join(path)} needs a real --help"


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """`archiver --help` (and every command's startup) stays quick: each command imports
    Scrapy, SQLAlchemy, APScheduler and the rest only when it runs."""
    heavy = ("sqlalchemy", "apscheduler", "alembic", "scrapy", "twisted", "dateparser", "warcio")
    probe = f"import sys, archiver.cli; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", "nosuchspider"], "unknown spider 'nosuchspider'"),
        (["crawl", "amnestyusa", "-a", "start_page=zero"], "start_page must be a whole number"),
        (["crawl", "amnestyusa", "-a", "base_url=ftp://x"], "base_url must be an http(s) URL"),
        (["crawl", "amnestyusa", "-a", "colour=red"], "unknown argument 'colour'"),
        (["crawl", "amnestyusa", "-a", "country"], "is not KEY=VALUE"),
        (["crawl", "amnestyusa", "-o", "/nonexistent/dir/x.jsonl"], "does not exist"),
        (["crawl", "amnestyusa", "--stats-file", "/nonexistent/dir/s.json"], "does not exist"),
    ],
)
def test_bad_crawl_arguments_are_one_clear_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_crawl_command_against_local_site(tmp_path: Path) -> None:
    from archiver.demo.server import DemoServer

    feed = tmp_path / "syria.jsonl"
    with DemoServer() as server:
        result = run_cli(
            "crawl",
            "amnestyusa",
            "-a",
            "country=syria",
            "-a",
            "max_pages=2",
            "-a",
            f"base_url={server.base_url}",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "ARCHIVER_STORE_ENABLED=0",
            "-o",
            str(feed),
            "--data-dir",
            str(tmp_path),
            "--quiet",
            "--stats-file",
            str(tmp_path / "stats.json"),
        )
    assert result.returncode == 0, result.stderr
    assert "listing pages read" in result.stdout and "Crawl summary" in result.stdout
    assert len(feed.read_text().splitlines()) == 20
    written = json.loads((tmp_path / "stats.json").read_text())
    assert (written["exit_status"], written["status"]) == (0, "finished")
    assert written["outcome"] == "ok; stopped after 2 page(s) by max_pages"
    assert written["stats"]["archiver/listing_pages"] == 2
    assert written["stats"]["item_scraped_count"] == 20
    assert written["stats"]["finish_reason"] == "finished" and written["log"].endswith(".log")
    assert list((tmp_path / "logs").glob("amnestyusa-*.log"))


@pytest.mark.slow
def test_scrapy_crawl_works_as_scrapy_users_expect(tmp_path: Path) -> None:
    from archiver.demo.server import DemoServer

    repo = Path(__file__).resolve().parent.parent
    out = tmp_path / "syria.jsonl"
    with DemoServer() as server:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "amnestyusa",
                "-a",
                "country=syria",
                "-a",
                f"base_url={server.base_url}",
                "-s",
                "DOWNLOAD_DELAY=0",
                "-s",
                "ARCHIVER_STORE_ENABLED=0",
                "-s",
                f"ARCHIVER_DATA_DIR={tmp_path}",
                "-O",
                str(out),
            ],
            capture_output=True,
            text=True,
            cwd=repo,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(out.read_text().splitlines()) == 70
    listed = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"],
        capture_output=True,
        text=True,
        cwd=repo,
        check=True,
    )
    assert listed.stdout.split() == ["amnestyusa", "enrich", "reparse"]


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path) -> None:
    result = run_cli("demo", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The archive now holds" in result.stdout
    assert "Press Release" in result.stdout
    assert re.search(r"│ all\s+│\s+206 │", result.stdout)  # every valid release of the site
    assert re.search(r"items seen 422, new 206,", result.stdout)
    assert list((tmp_path / "data" / "feeds").glob("*.jsonl"))
    snapshots = list((tmp_path / "data" / "exports").glob("all-sources_*.csv"))
    assert len(snapshots) == 1 and "CSV snapshot:" in result.stdout

    again = run_cli("demo", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r"new 0, updated 0,", again.stdout)  # the second run finds nothing new
    assert re.search(r"│ all\s+│\s+206 │", again.stdout)  # and the archive still holds all


@pytest.mark.slow
def test_demo_of_the_redesign_archives_everything_through_the_fallback(tmp_path: Path) -> None:
    """Exit 7 is what the made-up redesign is for: the demo shows it, flagged, and succeeds."""
    result = run_cli(
        "demo", "--layout", "redesign", "--data-dir", str(tmp_path / "data"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("fallback (7)") == 5  # the newsroom and the four filters
    assert re.search(r"│ all\s+│\s+206 │", result.stdout)  # the same releases as the current layout
    assert "every run flagged fallback_layout" in result.stdout
    assert "demo failed" not in result.stderr
