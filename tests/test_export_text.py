"""`--with-text`: what each release's own page says, as extra export columns (both dialects).

The archive is filled through the real store layer; the `release_texts` rows are written with
Core inserts as `archiver.db.details.write_details` leaves them: a page read (a body of several
paragraphs with commas, quotes and a line break), a page gone (its earlier text kept), a page
whose last try failed, and a release whose page was never tried. Without the flag an export must
not change by a byte.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from archiver.cli import main
from archiver.db import write_transaction
from archiver.db.releases import releases_query
from archiver.db.tables import RELEASES, TEXTS
from archiver.export import export_releases
from archiver.export.columns import RELEASE_FIELDS, TEXT_FIELDS, VERSION_FIELDS
from tests.plugins.cli import run_cli
from tests.plugins.db import BatchWriter, open_test_run, release_item

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

BODY = (
    'First paragraph, with a comma and "straight quotes".\n\n'
    "Second paragraph: “curly”, and a line\nbreak inside it.\n\n"
    "Third, last."
)
PROVENANCE = {"headline": "h1", "body": "jsonld", "published": "meta"}
ATTACHMENTS = [
    {"url": "https://www.amnestyusa.org/files/report.pdf", "title": "Full report"},
    {"url": "https://www.amnestyusa.org/files/annex.pdf", "title": None},
]

# Releases 1-4 in export order (newest first): read, gone, failed, never read.
READ, GONE, FAILED, NEVER = 1, 2, 3, 4
DAYS = {READ: 18, GONE: 17, FAILED: 16, NEVER: 15}


def _url(number: int) -> str:
    return release_item(number).url


def _fill(engine: Engine, *, texts: bool = True) -> None:
    """Four releases (one edited, so it has history), then their pages' rows."""
    items = [
        release_item(n, published_on=date(2017, 6, day), facet="country=syria", fetched_at=T0)
        for n, day in DAYS.items()
    ]
    writer = BatchWriter(engine, open_test_run(engine, now=T0))
    writer.write_batch(items, now=T0)
    later = T0 + timedelta(days=1)
    edited = release_item(READ, title="Edited title", published_on=date(2017, 6, 18))
    edited.fetched_at = later
    writer = BatchWriter(engine, open_test_run(engine, now=later))
    writer.write_batch([edited], now=later)
    if texts:
        _write_texts(engine)


def _write_texts(engine: Engine) -> None:
    read_at = T0 + timedelta(days=1, hours=1)
    with write_transaction(engine) as connection:
        ids = dict(connection.execute(select(RELEASES.c.url, RELEASES.c.id)).all())
        rows = [
            {
                "release_id": ids[_url(READ)],
                "status": "enriched",
                "headline": "Page headline, “quoted”",
                "body": BODY,
                "published_raw": "2017-06-18T09:30:00-04:00",
                "page_published_on": date(2017, 6, 18),
                "modified_raw": "2017-06-19T10:00:00Z",
                "author": "Press office",
                "language": "en",
                "tags": ["Syria", "Death Penalty", "Armed Conflict"],  # page order
                "attachments": ATTACHMENTS,
                "canonical_url": _url(READ),
                "moved_to": "https://www.amnestyusa.org/news/release-1-moved/",
                "provenance": PROVENANCE,
                "disagreements": ["date", "title"],
                "text_hash": "a" * 64,
                "first_enriched_at": read_at,
                "text_since": read_at,
                "checked_at": read_at,
                "http_status": 200,
            },
            {  # read once, then 404: the status says gone, the earlier text stays
                "release_id": ids[_url(GONE)],
                "status": "gone",
                "headline": "Earlier headline",
                "body": "Earlier text.",
                "published_raw": "2017-06-17",
                "page_published_on": date(2017, 6, 17),
                "language": "en",
                "tags": [],
                "attachments": [],
                "canonical_url": _url(GONE),
                "provenance": {"headline": "h1"},
                "disagreements": [],
                "checked_at": T0 + timedelta(days=2),
                "gone_at": T0 + timedelta(days=2, hours=3, minutes=4, seconds=5),
                "http_status": 404,
            },
            {  # the first try failed: nothing read yet
                "release_id": ids[_url(FAILED)],
                "status": "failed",
                "checked_at": read_at,
                "attempts": 1,
                "last_error": "HTTP 503",
                "http_status": 503,
            },
        ]
        for row in rows:  # one by one: the rows set different columns
            connection.execute(TEXTS.insert().values(**row))


def _base_csv(db_url: str) -> list[dict[str, str]]:
    """The plain export of the archive, read back: the first columns of every text row."""
    sink = io.BytesIO()
    export_releases(db_url, "-", stdout=sink)
    return list(csv.DictReader(io.StringIO(sink.getvalue().decode("utf-8"))))


EMPTY_TEXT = dict.fromkeys(TEXT_FIELDS, "")
EXPECTED_TEXT_CELLS = {
    READ: {
        "headline": "Page headline, “quoted”",
        "body": BODY,
        "page_published": "2017-06-18T09:30:00-04:00",
        "page_modified": "2017-06-19T10:00:00Z",
        "language": "en",
        "page_tags": "Syria;Death Penalty;Armed Conflict",
        "attachments": (
            "https://www.amnestyusa.org/files/report.pdf https://www.amnestyusa.org/files/annex.pdf"
        ),
        "canonical_url": _url(READ),
        "moved_to": "https://www.amnestyusa.org/news/release-1-moved/",
        "text_status": "enriched",
        "gone_at": "",
        "disagreements": "date;title",
        "provenance": '{"body": "jsonld", "headline": "h1", "published": "meta"}',
    },
    GONE: EMPTY_TEXT
    | {
        "headline": "Earlier headline",
        "body": "Earlier text.",
        "page_published": "2017-06-17",
        "language": "en",
        "canonical_url": _url(GONE),
        "text_status": "gone",
        "gone_at": "2024-05-03T15:04:05Z",
        "provenance": '{"headline": "h1"}',
    },
    FAILED: EMPTY_TEXT | {"text_status": "failed"},
    NEVER: EMPTY_TEXT,
}
EXPECTED_TEXT_FIELDS = {
    READ: {
        "headline": "Page headline, “quoted”",
        "body": BODY,
        "page_published": "2017-06-18T09:30:00-04:00",
        "page_modified": "2017-06-19T10:00:00Z",
        "language": "en",
        "page_tags": ["Syria", "Death Penalty", "Armed Conflict"],
        "attachments": ATTACHMENTS,
        "canonical_url": _url(READ),
        "moved_to": "https://www.amnestyusa.org/news/release-1-moved/",
        "text_status": "enriched",
        "gone_at": None,
        "disagreements": ["date", "title"],
        "provenance": PROVENANCE,
    },
    GONE: dict.fromkeys(TEXT_FIELDS)
    | {
        "headline": "Earlier headline",
        "body": "Earlier text.",
        "page_published": "2017-06-17",
        "language": "en",
        "page_tags": [],
        "attachments": [],
        "canonical_url": _url(GONE),
        "text_status": "gone",
        "gone_at": "2024-05-03T15:04:05Z",
        "disagreements": [],
        "provenance": {"headline": "h1"},
    },
    FAILED: dict.fromkeys(TEXT_FIELDS) | {"text_status": "failed"},
    NEVER: dict.fromkeys(TEXT_FIELDS),
}


def _read_csv(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_with_text_has_the_page_columns_after_the_release_columns(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    _fill(archive_engine)
    out = tmp_path / "text.csv"

    result = export_releases(archive_url, out, with_text=True, with_history=True)

    rows = _read_csv(out)
    assert list(rows[0]) == [*RELEASE_FIELDS, *TEXT_FIELDS]
    assert [row["url"] for row in rows] == [_url(n) for n in DAYS]
    base = _base_csv(archive_url)
    for row, plain, number in zip(rows, base, DAYS, strict=True):
        assert {name: row[name] for name in RELEASE_FIELDS} == plain
        assert {name: row[name] for name in TEXT_FIELDS} == EXPECTED_TEXT_CELLS[number], number
    assert rows[0]["body"].split("\n\n") == [
        'First paragraph, with a comma and "straight quotes".',
        "Second paragraph: “curly”, and a line\nbreak inside it.",
        "Third, last.",
    ]
    assert result.rows == 4 and result.neutralized == 0
    history = _read_csv(tmp_path / "text.history.csv")  # the history file is unchanged
    assert list(history[0]) == list(VERSION_FIELDS)
    assert [row["url"] for row in history] == [_url(READ)]

    manifest = json.loads((tmp_path / "text.csv.manifest.json").read_text())
    assert manifest["with_text"] is True
    columns = manifest["files"][0]["columns"]
    assert [column["name"] for column in columns] == [*RELEASE_FIELDS, *TEXT_FIELDS]
    assert all(column["type"] and column["description"] for column in columns)
    assert {c["name"]: c["type"] for c in columns}["gone_at"] == "datetime"
    assert [c["name"] for c in manifest["files"][1]["columns"]] == list(VERSION_FIELDS)
    sanitized = manifest["formula_sanitizing"]["columns"]
    assert {"headline", "body", "page_tags", "attachments"} <= set(sanitized)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_with_text_has_lists_and_objects_not_strings(
    archive_url: str, archive_engine: Engine, tmp_path: Path, fmt: str
) -> None:
    _fill(archive_engine)
    out = tmp_path / f"text.{fmt}"

    export_releases(archive_url, out, fmt=fmt, with_text=True, with_history=True)

    text = out.read_text(encoding="utf-8")
    records = (
        json.loads(text) if fmt == "json" else [json.loads(line) for line in text.split("\n")[:-1]]
    )
    assert [record["url"] for record in records] == [_url(n) for n in DAYS]
    for record, number in zip(records, DAYS, strict=True):
        assert list(record) == [*RELEASE_FIELDS, *TEXT_FIELDS, "versions"]
        assert {name: record[name] for name in TEXT_FIELDS} == EXPECTED_TEXT_FIELDS[number]
    read = records[0]
    assert isinstance(read["page_tags"], list) and isinstance(read["provenance"], dict)
    assert read["attachments"][0] == {"url": ATTACHMENTS[0]["url"], "title": "Full report"}
    assert [version["title"] for version in read["versions"]] == [f"Release {READ}"]
    assert "“curly”" in text  # UTF-8 as is
    manifest = json.loads((tmp_path / f"text.{fmt}.manifest.json").read_text())
    assert manifest["with_text"] is True
    names = [column["name"] for column in manifest["files"][0]["columns"]]
    assert names == [*RELEASE_FIELDS, *TEXT_FIELDS, "versions"]


def test_without_the_flag_nothing_changes_by_a_byte(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    _fill(archive_engine, texts=False)
    formats = ("csv", "json", "jsonl")
    for fmt in formats:  # before any page was read
        export_releases(archive_url, tmp_path / f"before.{fmt}", fmt=fmt, with_history=True)
    _write_texts(archive_engine)

    for fmt in formats:
        after = tmp_path / f"after.{fmt}"
        export_releases(archive_url, after, fmt=fmt, with_history=True)
        assert after.read_bytes() == (tmp_path / f"before.{fmt}").read_bytes(), fmt
        manifest = json.loads((tmp_path / f"after.{fmt}.manifest.json").read_text())
        assert manifest["with_text"] is False
        names = [column["name"] for column in manifest["files"][0]["columns"]]
        assert not set(names) & set(TEXT_FIELDS)
    assert (tmp_path / "after.history.csv").read_bytes() == (
        tmp_path / "before.history.csv"
    ).read_bytes()
    assert _read_csv(tmp_path / "after.csv")[0].keys() == set(RELEASE_FIELDS)
    csv_manifest = json.loads((tmp_path / "after.csv.manifest.json").read_text())
    assert csv_manifest["formula_sanitizing"]["columns"] == [
        "url",
        "title",
        "type",
        "type_raw",
        "summary",
        "facets",
    ]
    # The plain query never touches release_texts; with the flag it joins it.
    plain = str(releases_query(archive_engine.dialect.name, []))
    assert "release_texts" not in plain
    assert "LEFT OUTER JOIN release_texts" in str(
        releases_query(archive_engine.dialect.name, [], with_text=True)
    )


FORMULAS = {
    "headline": '=HYPERLINK("http://x","click")',
    "body": "- first bullet\n\nsecond paragraph",
    "page_tags": "@tag;plain",
    "language": "+en",
}


def test_formula_like_page_text_is_neutralised_in_csv_and_exact_in_json(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    _fill(archive_engine, texts=False)
    with write_transaction(archive_engine) as connection:
        release_id = connection.execute(
            select(RELEASES.c.id).where(RELEASES.c.url == _url(NEVER))
        ).scalar_one()
        connection.execute(
            TEXTS.insert().values(
                release_id=release_id,
                status="enriched",
                headline=FORMULAS["headline"],
                body=FORMULAS["body"],
                language=FORMULAS["language"],
                tags=["@tag", "plain"],
                checked_at=T0,
            )
        )
    safe, exact, as_json = tmp_path / "safe.csv", tmp_path / "exact.csv", tmp_path / "r.json"

    result = export_releases(archive_url, safe, with_text=True)
    export_releases(archive_url, exact, with_text=True, sanitize=False)
    export_releases(archive_url, as_json, fmt="json", with_text=True)

    row = _read_csv(safe)[-1]
    assert {name: row[name] for name in FORMULAS} == {
        name: "'" + value for name, value in FORMULAS.items()
    }
    assert result.neutralized == len(FORMULAS)
    manifest = json.loads((tmp_path / "safe.csv.manifest.json").read_text())
    assert manifest["formula_sanitizing"]["values_changed"] == len(FORMULAS)
    exact_row = _read_csv(exact)[-1]
    assert {name: exact_row[name] for name in FORMULAS} == FORMULAS
    record = json.loads(as_json.read_text())[-1]
    assert record["headline"] == FORMULAS["headline"]
    assert record["page_tags"] == ["@tag", "plain"]


def test_datapackage_with_text_validates_with_frictionless(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    from frictionless import Package

    _fill(archive_engine)
    out = tmp_path / "package.csv"

    result = export_releases(
        archive_url, out, excel=True, with_history=True, datapackage=True, with_text=True
    )

    assert result.datapackage_path is not None
    report = Package(str(result.datapackage_path)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    descriptor = json.loads(result.datapackage_path.read_text())
    fields = descriptor["resources"][0]["schema"]["fields"]
    assert [field["name"] for field in fields] == [*RELEASE_FIELDS, *TEXT_FIELDS]
    types = {field["name"]: field["type"] for field in fields}
    assert (types["gone_at"], types["provenance"], types["body"]) == (
        "datetime",
        "object",
        "string",
    )
    assert _read_csv(out, "utf-8-sig")[0]["body"] == BODY  # CRLF file, body line ends kept


def test_with_text_streams_to_stdout(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    _fill(archive_engine)
    sink = io.BytesIO()

    result = export_releases(archive_url, "-", fmt="jsonl", with_text=True, stdout=sink)

    records = [json.loads(line) for line in sink.getvalue().decode("utf-8").splitlines()]
    assert [record["text_status"] for record in records] == ["enriched", "gone", "failed", None]
    assert records[0]["body"] == BODY
    assert result.path is None and result.manifest_path is None


def test_cli_with_text(archive_url: str, archive_engine: Engine, tmp_path: Path) -> None:
    _fill(archive_engine)
    out = tmp_path / "cli.csv"

    completed = run_cli("export", "--db", archive_url, "--with-text", "--out", str(out))

    assert completed.returncode == 0, completed.stderr
    assert "exported 4 releases" in completed.stdout
    rows = _read_csv(out)
    assert [row["text_status"] for row in rows] == ["enriched", "gone", "failed", ""]
    assert rows[0]["body"] == BODY
    assert json.loads((tmp_path / "cli.csv.manifest.json").read_text())["with_text"] is True
    usage = CliRunner().invoke(main, ["export", "--help"]).output
    assert "--with-text" in usage and "Example: --with-text" in usage
