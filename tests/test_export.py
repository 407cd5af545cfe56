"""Exports on real archives (SQLite file and PostgreSQL), filled through the real store layer.

What a researcher relies on: every format reads back to exactly the rows in the database (curly
quotes, accents, newlines, commas), formula-looking values are harmless in CSV and exact in JSON,
filters combine as documented, the manifest's count and hash describe the file, and the
Frictionless package validates.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from archiver.config import mask_url
from archiver.db.models import Release, ReleaseFacet, ReleaseVersion
from archiver.errors import ArchiveNotFoundError
from archiver.export import ExportError, ExportFilters, export_releases
from archiver.export.columns import RELEASE_FIELDS, VERSION_FIELDS
from tests.plugins.db import BatchWriter, open_test_run, release_item

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

TRICKY_SUMMARIES = [
    "He said: “We will not stop,” and left.",
    "Café, crème brûlée, Łódź, São Paulo, İstanbul — and commas, many, of them",
    'First line\nsecond line, with "straight quotes"\r\nthird line',
    "Tab\there; a semicolon; and a trailing space ",
    "An old Mac line end\rinside",
]


def _store(engine: Engine, items: list[Any], when: datetime = T0) -> int:
    """Write `items` as one crawl run fetching them at `when`; returns the run id."""
    for item in items:
        item.fetched_at = when
    store = BatchWriter(engine, open_test_run(engine, now=when))
    store.write_batch(items, now=when)
    return store.run_id or 0


def _fill_tricky(engine: Engine) -> None:
    """Releases with hard text, missing values, several facets, and one edited release."""
    items = [
        release_item(
            n,
            summary=TRICKY_SUMMARIES[n % len(TRICKY_SUMMARIES)],
            title=f"Título nº{n}: “quoted”, with comma",
            published_on=date(2017, 6, 16) - timedelta(days=n % 3),
            summary_truncated=n % 2 == 0,
            facet="country=syria" if n % 2 else "country=iraq,syria&issue=death-penalty",
            fetched_at=T0,
        )
        for n in range(8)
    ]
    items.append(release_item(90, published_on=None, summary=None, type=None, type_raw=""))
    _store(engine, items)
    edited = release_item(1, title="Edited “title”, now", facet="issue=refugee-migrant-rights")
    _store(engine, [edited], T0 + timedelta(days=1))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _database_rows(engine: Engine) -> list[dict[str, Any]]:
    """The releases as the database holds them, in export order, formatted as JSON values."""
    with engine.connect() as connection:
        releases = connection.execute(select(Release)).mappings().all()
        facets = connection.execute(select(ReleaseFacet.release_id, ReleaseFacet.facet)).all()
        versions = (
            connection.execute(select(ReleaseVersion).order_by(ReleaseVersion.seen_from))
            .mappings()
            .all()
        )
    by_release: dict[int, list[str]] = {}
    for release_id, facet in facets:
        by_release.setdefault(release_id, []).append(facet)
    rows = []
    for release in releases:
        rows.append(
            {
                "url": release["url"],
                "title": release["title"],
                "published_on": (
                    release["published_on"].isoformat() if release["published_on"] else None
                ),
                "type": release["type"],
                "type_raw": release["type_raw"],
                "summary": release["summary"],
                "summary_truncated": release["summary_truncated"],
                "facets": sorted(by_release.get(release["id"], [])),
                "first_seen_at": _iso(release["first_seen_at"]),
                "last_seen_at": _iso(release["last_seen_at"]),
                "versions": [
                    {
                        "title": version["title"],
                        "published_on": version["published_on"].isoformat(),
                        "type": version["type"],
                        "type_raw": version["type_raw"],
                        "summary": version["summary"],
                        "summary_truncated": version["summary_truncated"],
                        "seen_from": _iso(version["seen_from"]),
                        "seen_until": _iso(version["seen_until"]),
                        "replaced_at": _iso(version["replaced_at"]),
                    }
                    for version in versions
                    if version["release_id"] == release["id"]
                ],
            }
        )
    # The documented order: newest first, undated last, then URL.
    rows.sort(key=lambda row: row["url"])
    rows.sort(key=lambda row: row["published_on"] or "", reverse=True)
    return rows


def _as_csv_row(row: dict[str, Any]) -> dict[str, str]:
    """What a CSV reader gets back for a database row (missing → empty, lists joined)."""
    cells = {}
    for name in RELEASE_FIELDS:
        value = row[name]
        if name == "facets":
            value = ";".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        cells[name] = "" if value is None else value
    return cells


def _read_csv(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_round_trips_to_the_database_rows(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    _fill_tricky(archive_engine)
    out = tmp_path / "releases.csv"

    result = export_releases(archive_url, out, fmt="csv", with_history=True)

    expected = _database_rows(archive_engine)
    read = _read_csv(out)
    assert list(read[0]) == list(RELEASE_FIELDS)
    assert read == [_as_csv_row(row) for row in expected]
    assert any("\r\n" in row["summary"] for row in read)  # CR LF inside a value survives
    assert any(row["summary"].endswith("\rinside") for row in read)  # so does a lone CR
    assert result.rows == len(expected) == 9
    history = _read_csv(tmp_path / "releases.history.csv")
    assert list(history[0]) == list(VERSION_FIELDS)
    assert [(row["url"], row["title"]) for row in history] == [
        (row["url"], version["title"]) for row in expected for version in row["versions"]
    ]
    assert history[0]["title"] == "Título nº1: “quoted”, with comma"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_formats_round_trip_with_nested_history(
    archive_url: str, archive_engine: Engine, tmp_path: Path, fmt: str
) -> None:
    _fill_tricky(archive_engine)
    out = tmp_path / f"releases.{fmt}"

    export_releases(archive_url, out, fmt=fmt, with_history=True)

    text = out.read_text(encoding="utf-8")
    read = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert read == _database_rows(archive_engine)
    assert "“quoted”" in text and "Łódź" in text  # UTF-8 as is, not \u escapes


def test_excel_csv_has_bom_and_crlf_and_reads_back(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    _fill_tricky(archive_engine)
    out = tmp_path / "excel.csv"

    export_releases(archive_url, out, excel=True)

    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfurl,title,")
    assert raw.split(b"\n", 1)[0].endswith(b"\r")
    assert _read_csv(out, "utf-8-sig") == [
        _as_csv_row(row) for row in _database_rows(archive_engine)
    ]


FORMULAS = ["=SUM(A1:A9)", "+1 555 0100", "-5 degrees", "@cmd", "\tindented", "\rreturn"]


def test_formula_titles_neutralised_in_csv_untouched_in_json(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    _store(archive_engine, [release_item(n, title=title) for n, title in enumerate(FORMULAS)])
    safe, exact, as_json = tmp_path / "safe.csv", tmp_path / "exact.csv", tmp_path / "r.json"

    result = export_releases(archive_url, safe)
    export_releases(archive_url, exact, sanitize=False)
    export_releases(archive_url, as_json, fmt="json")

    by_url = {row["url"]: row["title"] for row in _read_csv(safe)}
    expected = {release_item(n).url: title for n, title in enumerate(FORMULAS)}
    assert by_url == {url: "'" + title for url, title in expected.items()}
    assert {row["url"]: row["title"] for row in _read_csv(exact)} == expected
    assert {row["url"]: row["title"] for row in json.loads(as_json.read_text())} == expected
    manifest = json.loads((tmp_path / "safe.csv.manifest.json").read_text())
    assert manifest["formula_sanitizing"]["applied"] is True
    assert manifest["formula_sanitizing"]["values_changed"] == len(FORMULAS) == result.neutralized
    exact_manifest = json.loads((tmp_path / "exact.csv.manifest.json").read_text())
    assert exact_manifest["formula_sanitizing"]["applied"] is False


def _fill_for_filters(engine: Engine) -> tuple[int, int]:
    """Six releases across facets, types, dates, texts and two runs; returns the run ids."""
    first_run = _store(
        engine,
        [
            release_item(1, facet="country=syria", published_on=date(2015, 12, 31)),
            release_item(
                2,
                facet="country=russian-federation,ukraine",
                published_on=date(2016, 1, 1),
                type="Report",
                title="Aleppo siege report",
            ),
            release_item(
                3,
                facet="country=syria&issue=death-penalty",
                published_on=date(2019, 6, 30),
                summary="Executions in Syria’s prisons",
            ),
            release_item(4, facet="issue=death-penalty", published_on=date(2020, 1, 1)),
        ],
    )
    second_run = _store(
        engine,
        [
            release_item(5, facet="country=ukraine", published_on=date(2021, 5, 5), type="Update"),
            release_item(6, published_on=None),
            release_item(1, facet="issue=refugee-migrant-rights", published_on=date(2015, 12, 31)),
        ],
        T0 + timedelta(days=3),
    )
    return first_run, second_run


# (filters, releases expected in export order): one archive, filled once, for every case.
FILTER_CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({}, [5, 4, 3, 2, 1, 6]),
    ({"countries": ["syria"]}, [3, 1]),
    ({"countries": ["ukraine"]}, [5, 2]),  # alone or with another country
    ({"countries": ["syria", "ukraine"]}, [5, 3, 2, 1]),  # repeated: any of them
    ({"countries": ["syria"], "issues": ["death-penalty"]}, [3]),
    ({"countries": ["syria"], "issues": ["refugee-migrant-rights"]}, [1]),  # two facets
    ({"issues": ["death-penalty"], "since": "2020"}, [4]),
    ({"since": "2016", "until": "2019-06"}, [3, 2]),
    ({"types": ["report", "update"]}, [5, 2]),
    ({"types": ["press release"], "countries": ["syria"], "until": "2015"}, [1]),
    ({"search": "ALEPPO"}, [2]),  # title, case ignored
    ({"search": "syria’s"}, [3]),  # summary, curly apostrophe
    ({"search": "%"}, []),  # LIKE wildcards are plain text
    ({"countries": ["iraq"]}, []),
    ({"sources": ["amnestyusa"], "types": ["Other"]}, []),
]


def test_filters_combine_and_manifest_describes_the_file(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    _fill_for_filters(archive_engine)
    for number, (options, numbers) in enumerate(FILTER_CASES):
        filters = ExportFilters.parse(**options)
        out = tmp_path / f"filtered-{number}.csv"

        result = export_releases(archive_url, out, filters=filters)

        urls = [row["url"] for row in _read_csv(out)]
        assert urls == [release_item(n).url for n in numbers], options
        manifest = json.loads((tmp_path / f"filtered-{number}.csv.manifest.json").read_text())
        assert manifest["rows"] == len(numbers) == result.rows, options
        assert manifest["sha256"] == _sha256(out) == manifest["files"][0]["sha256"]
        assert manifest["files"][0]["bytes"] == out.stat().st_size
        assert manifest["filters"] == filters.as_dict()
        assert manifest["database"] == mask_url(archive_url)
        columns = [column["name"] for column in manifest["files"][0]["columns"]]
        assert columns == list(RELEASE_FIELDS)


def test_seen_since_run_id_or_date_selects_what_is_new(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    first_run, second_run = _fill_for_filters(archive_engine)
    snapshot = export_releases(archive_url, tmp_path / "first.csv")
    assert snapshot.manifest["archive_last_run_id"] == second_run

    def urls(seen_since: str) -> list[str]:
        out = tmp_path / f"new-{seen_since.replace(':', '')}.jsonl"
        filters = ExportFilters.parse(seen_since=seen_since)
        export_releases(archive_url, out, fmt="jsonl", filters=filters)
        return [json.loads(line)["url"] for line in out.read_text().splitlines()]

    new = [release_item(5).url, release_item(6).url]
    assert urls(str(first_run)) == new
    assert urls(str(second_run)) == []
    assert urls((T0 + timedelta(days=2)).date().isoformat()) == new
    assert urls("2024-05-01T12:00:00Z") == [release_item(n).url for n in (5, 4, 3, 2, 1, 6)]
    with pytest.raises(ExportError, match="no crawl run with that id"):
        urls("999")


def test_datapackage_validates_with_frictionless(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    from frictionless import Package

    _fill_tricky(archive_engine)
    _store(archive_engine, [release_item(50, title="=formula", summary="-dash")])
    out = tmp_path / "package.csv"

    result = export_releases(archive_url, out, excel=True, with_history=True, datapackage=True)

    assert result.datapackage_path == tmp_path / "package.datapackage.json"
    report = Package(str(result.datapackage_path)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    descriptor = json.loads(result.datapackage_path.read_text())
    assert [resource["path"] for resource in descriptor["resources"]] == [
        "package.csv",
        "package.history.csv",
    ]


def test_export_streams_to_a_binary_stream_without_manifest(
    archive_url: str, archive_engine: Engine, tmp_path: Path
) -> None:
    import io

    _fill_tricky(archive_engine)
    sink = io.BytesIO()

    result = export_releases(archive_url, "-", fmt="jsonl", stdout=sink)

    lines = sink.getvalue().decode("utf-8").splitlines()
    assert [json.loads(line)["url"] for line in lines] == [
        row["url"] for row in _database_rows(archive_engine)
    ]
    assert result.path is None and result.manifest_path is None
    assert not sink.closed


def test_default_path_names_source_filters_and_time(
    archive_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVER_DATA_DIR", str(tmp_path / "data"))
    filters = ExportFilters.parse(sources=["amnestyusa"], countries=["syria"], since="2016")

    result = export_releases(archive_url, None, filters=filters, fmt="jsonl")

    assert result.path is not None
    assert result.path.parent == tmp_path / "data" / "exports"
    assert result.path.name.startswith("amnestyusa_country-syria_since-2016-01-01_")
    assert result.path.name.endswith("Z.jsonl")
    assert result.manifest_path is not None and result.manifest_path.exists()


def test_missing_sqlite_archive_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "archive.db"
    with pytest.raises(ArchiveNotFoundError, match="no archive at"):
        export_releases(f"sqlite:///{missing}", tmp_path / "x.csv")
    assert not missing.parent.exists()
    assert not (tmp_path / "x.csv").exists()


def test_database_without_archive_is_an_error(db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("sqlite"):
        import sqlite3

        sqlite3.connect(db_url.removeprefix("sqlite:///")).close()  # an empty file
    with pytest.raises(ArchiveNotFoundError, match="holds no archive"):
        export_releases(db_url, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
