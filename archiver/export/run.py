"""`export_releases`: one export from an archive to a file (or stdout) with its manifest.

The whole export reads one consistent snapshot (`archiver.db.releases.read_snapshot`), so the
count, the rows, the history and `archive_last_run_id` agree even while crawls keep writing.
The file is written under a `.part` name and renamed when complete, so a crash never leaves a
half file that looks whole.

Exports only read: a database that does not exist, or holds no archive, is an error
(`open_archive` without `create`), so a mistyped path never "succeeds" with zero rows.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from archiver.config import data_dir as resolve_data_dir
from archiver.config import mask_url
from archiver.db import database_error, open_archive
from archiver.db import releases as query
from archiver.db.models import utcnow
from archiver.errors import ExportError
from archiver.export.datapackage import write_datapackage
from archiver.export.filters import ExportFilters, iso_utc
from archiver.export.manifest import (
    base_manifest,
    file_entry,
    sanitizing_entry,
    write_manifest,
)
from archiver.export.writers import (
    WriteStats,
    nest_versions,
    release_record,
    write_csv,
    write_json,
)

FORMATS: tuple[str, ...] = ("csv", "json", "jsonl")
STDOUT = "-"
#: Rows between two progress callbacks.
PROGRESS_EVERY = 10_000

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ExportResult:
    """What an export wrote. `path` is None when it went to standard output."""

    path: Path | None
    format: str
    rows: int
    first_published: str | None = None
    last_published: str | None = None
    sha256: str | None = None
    manifest_path: Path | None = None
    history_path: Path | None = None
    history_rows: int = 0
    datapackage_path: Path | None = None
    neutralized: int = 0
    manifest: dict[str, Any] = field(default_factory=dict)


def default_export_path(
    filters: ExportFilters, fmt: str, *, data_dir: Path | None = None, now: datetime | None = None
) -> Path:
    """`<data>/exports/<source>[_<filters>]_<UTC time>.<format>`: the name says what it holds.

    >>> from datetime import UTC
    >>> default_export_path(ExportFilters.parse(countries=["syria"], since="2016"), "csv",
    ...                     data_dir=Path("/d"), now=datetime(2024, 5, 1, 12, tzinfo=UTC))
    PosixPath('/d/exports/all-sources_country-syria_since-2016-01-01_20240501T120000Z.csv')
    """
    source = "+".join(filters.sources) if filters.sources else "all-sources"
    stamp = (now or utcnow()).strftime("%Y%m%dT%H%M%SZ")
    name = "_".join(part for part in (source, filters.slug(), stamp) if part)
    return resolve_data_dir(data_dir) / "exports" / f"{name}.{fmt}"


def history_path_for(path: Path) -> Path:
    """The CSV history file beside an export: `<stem>.history.csv`.

    >>> history_path_for(Path("x/syria.csv")).as_posix()
    'x/syria.history.csv'
    """
    return path.with_name(path.stem + ".history.csv")


@contextlib.contextmanager
def _text_output(target: Path | BinaryIO, excel: bool) -> Iterator[io.TextIOWrapper]:
    """A UTF-8 text stream onto a file or a binary stream (left open), `newline=""`."""
    encoding = "utf-8-sig" if excel else "utf-8"
    if isinstance(target, Path):
        with target.open("w", encoding=encoding, newline="") as handle:
            yield handle
        return
    wrapper = io.TextIOWrapper(target, encoding=encoding, newline="", write_through=False)
    try:
        yield wrapper
        wrapper.flush()
    finally:
        wrapper.detach()  # the caller owns the binary stream (stdout stays open)


def _counted(
    rows: Iterator[Any], total: int, progress: Progress | None, facts: dict[str, Any]
) -> Iterator[Any]:
    """Pass rows through, reporting progress and keeping the publication date range."""
    done = 0
    first = last = None
    for row in rows:
        published = row[2]
        if published is not None:
            if first is None or published < first:
                first = published
            if last is None or published > last:
                last = published
        yield row
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
    if progress is not None:
        progress(done, total)
    facts["first"], facts["last"] = first, last


def _resolve_target(out: Path | str | None, fmt: str, filters: ExportFilters) -> Path | None:
    if out is None:
        return default_export_path(filters, fmt)  # its folder is made once the archive opened
    if str(out) == STDOUT:
        return None
    path = Path(out).expanduser()
    if path.is_dir():
        raise ExportError(f"--out {out} is a folder: give a file name")
    if not path.parent.is_dir():
        raise ExportError(f"output folder {path.parent} does not exist")
    return path.absolute()


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """How an export writes (everything but what it selects and where it goes)."""

    fmt: str = "csv"
    excel: bool = False
    sanitize: bool = True
    with_history: bool = False
    datapackage: bool = False
    with_text: bool = False


def _check_options(options: ExportOptions, target: Path | None) -> None:
    if options.fmt not in FORMATS:
        raise ExportError(f"unknown format {options.fmt!r} (known: {', '.join(FORMATS)})")
    if options.excel and options.fmt != "csv":
        raise ExportError("--excel only applies to --format csv")
    if target is None and (options.datapackage or (options.with_history and options.fmt == "csv")):
        raise ExportError(
            "standard output holds one file: --datapackage and CSV --with-history need --out"
        )
    if options.datapackage and options.fmt != "csv":
        raise ExportError("--datapackage describes CSV files: use --format csv")


def export_releases(
    db_url: str,
    out: Path | str | None = None,
    *,
    filters: ExportFilters | None = None,
    fmt: str = "csv",
    excel: bool = False,
    sanitize: bool = True,
    with_history: bool = False,
    datapackage: bool = False,
    with_text: bool = False,
    progress: Progress | None = None,
    stdout: BinaryIO | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Export the releases `filters` select from the archive at `db_url`.

    `out`: a file path, `"-"` for standard output (`stdout`, default `sys.stdout.buffer`), or
    None for `default_export_path`. Writes `<file>.manifest.json` (not for stdout), the history
    (`--with-history`: `<stem>.history.csv`, or nested `versions` in JSON) and, with
    `datapackage`, `<stem>.datapackage.json`. `with_text` adds what each release's own page
    says (`release_texts`: headline, body, ...; `archiver.export.columns.TEXT_COLUMNS`) after
    the release columns, empty/null for a release whose page was never read; without it the
    export neither reads that table nor changes by a byte. `progress(done, total)` is called as
    rows go out.
    Raises `ExportError` (or another `ArchiverError`) for anything the user can fix.
    """
    filters = filters or ExportFilters()
    options = ExportOptions(fmt, excel, sanitize, with_history, datapackage, with_text)
    target = _resolve_target(out, fmt, filters)
    _check_options(options, target)
    engine = open_archive(db_url)
    try:
        if target is not None:
            _make_folder(target.parent)
        result, totals = _write_files(engine, target, filters, options, progress, stdout)
        if target is not None:
            _finish(result, db_url, filters, options, totals, now or utcnow())
    except SQLAlchemyError as error:
        raise database_error(error, db_url) from None
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        raise ExportError(f"cannot write the export{where}: {error.strerror or error}") from None
    finally:
        engine.dispose()
    return result


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create the export folder {folder}: {error.strerror}") from None


def _write_files(
    engine: Engine,
    target: Path | None,
    filters: ExportFilters,
    options: ExportOptions,
    progress: Progress | None,
    stdout: BinaryIO | None,
) -> tuple[ExportResult, dict[str, Any]]:
    """Write the data (and CSV history) files under `.part` names, or to stdout, from one
    snapshot; returns the result so far and the snapshot's totals."""
    result = ExportResult(path=target, format=options.fmt, rows=0)
    parts: list[Path] = []
    try:
        with query.read_snapshot(engine) as connection:
            dialect = connection.dialect.name
            if isinstance(filters.seen_since, int) and not query.run_exists(
                connection, filters.seen_since
            ):
                raise ExportError(f"--seen-since {filters.seen_since}: no crawl run with that id")
            facets = query.stored_facets(connection) if filters.facet_values() else None
            clauses = query.where_clauses(filters, facets)
            totals = dict(query.snapshot_facts(connection, clauses))
            facts: dict[str, Any] = {}
            rows = _counted(
                query.stream(
                    connection,
                    query.releases_query(dialect, clauses, with_text=options.with_text),
                ),
                totals["rows"],
                progress,
                facts,
            )
            part = target.with_name(target.name + ".part") if target else None
            sink: Path | BinaryIO = part if part is not None else (stdout or sys.stdout.buffer)
            if part is not None:
                parts.append(part)
            stats = _write_data(sink, rows, connection, dialect, clauses, options)
            history_stats = None
            if target is not None and options.with_history and options.fmt == "csv":
                history_part = history_path_for(target).with_name(
                    history_path_for(target).name + ".part"
                )
                parts.append(history_part)
                with _text_output(history_part, options.excel) as handle:
                    history_stats = write_csv(
                        handle,
                        query.stream(connection, query.versions_query(dialect, clauses)),
                        history=True,
                        excel=options.excel,
                        sanitize=options.sanitize,
                    )
    except BaseException:
        for part in parts:
            part.unlink(missing_ok=True)
        raise
    result.rows = stats.rows
    result.neutralized = stats.neutralized + (history_stats.neutralized if history_stats else 0)
    result.first_published, result.last_published = facts.get("first"), facts.get("last")
    if history_stats is not None:
        result.history_rows = history_stats.rows
    return result, totals


def _write_data(
    sink: Path | BinaryIO,
    rows: Iterator[Any],
    connection: Connection,
    dialect: str,
    clauses: Any,
    options: ExportOptions,
) -> WriteStats:
    """The data file: CSV cells, or JSON records (with nested history when asked)."""
    with _text_output(sink, options.excel) as handle:
        if options.fmt == "csv":
            return write_csv(
                handle,
                rows,
                with_text=options.with_text,
                excel=options.excel,
                sanitize=options.sanitize,
            )
        text = options.with_text
        if options.with_history:
            versions = query.stream(connection, query.versions_query(dialect, clauses))
            records = (
                release_record(row, mine, with_text=text)
                for row, mine in nest_versions(rows, versions)
            )
        else:
            records = (release_record(row, with_text=text) for row in rows)
        return write_json(handle, records, lines=options.fmt == "jsonl")


def _finish(
    result: ExportResult,
    db_url: str,
    filters: ExportFilters,
    options: ExportOptions,
    totals: dict[str, Any],
    now: datetime,
) -> None:
    """Give the finished files their names, then write the data package and the manifest."""
    target = result.path
    assert target is not None
    os.replace(target.with_name(target.name + ".part"), target)
    files = [
        file_entry(
            target,
            rows=result.rows,
            history=False,
            fmt=options.fmt,
            excel=options.excel,
            nested_history=options.with_history and options.fmt != "csv",
            with_text=options.with_text,
        )
    ]
    if options.with_history and options.fmt == "csv":
        history = history_path_for(target)
        os.replace(history.with_name(history.name + ".part"), history)
        result.history_path = history
        files.append(
            file_entry(
                history, rows=result.history_rows, history=True, fmt="csv", excel=options.excel
            )
        )
    result.sha256 = files[0]["sha256"]
    created = iso_utc(now)
    if options.datapackage:
        result.datapackage_path = write_datapackage(
            target,
            title=f"Press releases: {target.stem}",
            description=(
                f"{result.rows} press releases exported by archiver from {mask_url(db_url)}"
                f" with filters {filters.as_dict() or 'none'}"
            ),
            created=created,
            excel=options.excel,
            history_path=result.history_path,
            with_text=options.with_text,
        )
    result.manifest = base_manifest(
        exported_at=created,
        database=mask_url(db_url),
        filters=filters.as_dict(),
        with_text=options.with_text,
        rows=result.rows,
        published_on_range={"first": result.first_published, "last": result.last_published},
        archive_last_run_id=totals["last_run_id"],
        sha256=result.sha256,
        formula_sanitizing=sanitizing_entry(
            options.fmt, options.sanitize, result.neutralized, with_text=options.with_text
        ),
        files=files,
        datapackage=result.datapackage_path.name if result.datapackage_path else None,
    )
    result.manifest_path = write_manifest(target, result.manifest)
