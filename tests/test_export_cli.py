"""`archiver export` as a user meets it: data only on stdout with `-`, one clear line for bad
input, a summary naming the file, and no database created by a mistyped --db."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from archiver.cli import main
from tests.plugins.db import BatchWriter, open_test_run, release_item


def _fill(engine: Engine) -> None:
    store = BatchWriter(engine, open_test_run(engine))
    store.write_batch(
        [release_item(1, facet="country=syria", title="=cmd"), release_item(2, type="Report")]
    )


def test_stdout_gets_nothing_but_csv(archive_url: str, archive_engine: Engine) -> None:
    _fill(archive_engine)

    result = CliRunner().invoke(main, ["export", "--db", archive_url, "--out", "-"])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["title"] for row in rows] == ["'=cmd", "Release 2"]


def test_export_to_file_prints_where_it_went(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    _fill(archive_engine)
    out = tmp_path / "reports.jsonl"

    result = CliRunner().invoke(
        main,
        ["export", "--db", archive_url, "--format", "jsonl", "--type", "report", "-o", str(out)],
    )

    assert result.exit_code == 0, result.output
    assert "exported 1 releases" in result.stdout and str(out) in result.stdout
    assert len(out.read_text().splitlines()) == 1
    assert (tmp_path / "reports.jsonl.manifest.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "interview"], "unknown type 'interview'"),
        (["--since", "2016-13-01"], "'2016-13-01' is not a date"),
        (["--until", "last year"], "'last year' is not a date"),
        (["--seen-since", "yesterday"], "is neither a run id"),
        (["--seen-since", "77"], "no crawl run with that id"),
        (["--country", "syria;drop"], "is not a slug"),
        (["--source", "bbc"], "unknown source 'bbc'"),
        (["--out", "/nonexistent/folder/x.csv"], "output folder /nonexistent/folder does not"),
        (["--format", "json", "--datapackage", "-o", "x.json"], "--datapackage describes CSV"),
        (["--format", "jsonl", "--excel"], "--excel only applies to --format csv"),
    ],
)
def test_bad_input_is_one_clear_line(
    sqlite_url: str, args: list[str], message: str, tmp_path: Path
) -> None:
    from archiver.db import upgrade

    upgrade(sqlite_url)
    result = CliRunner().invoke(main, ["export", "--db", sqlite_url, *args])

    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_unknown_format_is_refused_by_the_option(sqlite_url: str) -> None:
    result = CliRunner().invoke(main, ["export", "--db", sqlite_url, "--format", "xml"])
    assert result.exit_code == 2
    assert "'xml' is not one of 'csv', 'json', 'jsonl'" in result.stderr


def test_missing_database_is_an_error_and_stays_missing(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = CliRunner().invoke(main, ["export", "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert "no archive at" in result.stderr
    assert not missing.exists()
    assert not (tmp_path / "exports").exists()


@pytest.mark.postgres
def test_missing_postgres_database_hides_the_password(pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(password="s3cret", database="archiver_no_such_db")
    result = CliRunner().invoke(main, ["export", "--db", url.render_as_string(hide_password=False)])
    assert result.exit_code == 1
    assert "s3cret" not in result.output
    assert "archiver_no_such_db" in result.stderr
