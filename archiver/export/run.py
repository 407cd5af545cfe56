"""`export_releases`: one export from an archive to a file (or stdout) with its manifest.

The whole export reads one consistent snapshot: a single connection, one read transaction
(`REPEATABLE READ` on PostgreSQL, SQLite's WAL snapshot), so the count, the rows, the history
and `archive_last_run_id` agree even while crawls keep writing. The file is written under a
`.part` name and renamed when complete, so a crash never leaves a half file that looks whole.

Exports only read: a database that does not exist, or holds no archive, is an error (opening
it the usual way would create and migrate an empty one, and the export would "succeed" with
zero rows from a mistyped path).
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

from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from archiver.config import data_dir as resolve_data_dir
from archiver.config import mask_url
from archiver.db.models import utcnow
from archiver.export import query
from archiver.export.datapackage import write_datapackage
from archiver.export.filters import ExportError, ExportFilters, iso_utc
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


def _scrub(message: str, url: str) -> str:
    try:
        password = make_url(url).password
    except Exception:
        password = None
    if password:
        message = message.replace(str(password), "***")
    return " ".join(message.split())[:300]


def open_archive_readonly(url: str) -> Engine:
    """An engine on an existing archive; `ExportError` when there is no archive to read.

    Never creates a SQLite file nor migrates: the file must exist and hold the current schema.
    """
    from archiver.db.engine import engine_url, make_engine
    from archiver.db.migrate import current_revision, head_revision

    shown = mask_url(url)
    try:
        parsed = engine_url(url)
    except Exception:
        raise ExportError(f"{shown!r} is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise ExportError(f"database {shown}: an in-memory database holds no archive")
        if not database.startswith("file:") and not Path(database).expanduser().is_file():
            raise ExportError(
                f"no archive at {shown}: the file does not exist"
                " (crawl first, e.g. `archiver demo`, or pass --db)"
            )
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            has_releases = inspect(connection).has_table("releases")
        revision = current_revision(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        detail = getattr(error, "orig", None) or error
        raise ExportError(f"database {shown}: {_scrub(str(detail), url)}") from None
    if not has_releases or revision is None:
        engine.dispose()
        raise ExportError(f"database {shown} holds no archive (no releases table)")
    head = head_revision()
    if revision != head:
        engine.dispose()
        raise ExportError(
            f"database {shown} is at schema revision {revision}, this archiver reads {head}:"
            f" run `archiver db upgrade` first"
        )
    return engine


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction that every query of the export shares."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin():
            yield connection


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
    progress: Progress | None = None,
    stdout: BinaryIO | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Export the releases `filters` select from the archive at `db_url`.

    `out`: a file path, `"-"` for standard output (`stdout`, default `sys.stdout.buffer`), or
    None for `default_export_path`. Writes `<file>.manifest.json` (not for stdout), the history
    (`--with-history`: `<stem>.history.csv`, or nested `versions` in JSON) and, with
    `datapackage`, `<stem>.datapackage.json`. `progress(done, total)` is called as rows go out.
    Raises `ExportError` for anything the user can fix.
    """
    filters = filters or ExportFilters()
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if excel and fmt != "csv":
        raise ExportError("--excel only applies to --format csv")
    target = _resolve_target(out, fmt, filters)
    if target is None and (datapackage or (with_history and fmt == "csv")):
        raise ExportError(
            "standard output holds one file: --datapackage and CSV --with-history need --out"
        )
    if datapackage and fmt != "csv":
        raise ExportError("--datapackage describes CSV files: use --format csv")
    now = now or utcnow()
    engine = open_archive_readonly(db_url)
    try:
        return _export(
            engine,
            db_url,
            target,
            filters=filters,
            fmt=fmt,
            excel=excel,
            sanitize=sanitize,
            with_history=with_history,
            datapackage=datapackage,
            progress=progress,
            stdout=stdout,
            now=now,
        )
    except SQLAlchemyError as error:
        detail = getattr(error, "orig", None) or error
        raise ExportError(f"database {mask_url(db_url)}: {_scrub(str(detail), db_url)}") from None
    finally:
        engine.dispose()


def _export(
    engine: Engine,
    db_url: str,
    target: Path | None,
    *,
    filters: ExportFilters,
    fmt: str,
    excel: bool,
    sanitize: bool,
    with_history: bool,
    datapackage: bool,
    progress: Progress | None,
    stdout: BinaryIO | None,
    now: datetime,
) -> ExportResult:
    result = ExportResult(path=target, format=fmt, rows=0)
    parts: list[Path] = []
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _snapshot(engine) as connection:
            dialect = connection.dialect.name
            if isinstance(filters.seen_since, int) and not query.run_exists(
                connection, filters.seen_since
            ):
                raise ExportError(f"--seen-since {filters.seen_since}: no crawl run with that id")
            facets = query.stored_facets(connection) if filters.facet_values() else None
            clauses = query.where_clauses(filters, facets)
            totals = query.snapshot_facts(connection, clauses)
            facts: dict[str, Any] = {}
            rows = _counted(
                query.stream(connection, query.releases_query(dialect, clauses)),
                totals["rows"],
                progress,
                facts,
            )
            part = target.with_name(target.name + ".part") if target else None
            if part is not None:
                parts.append(part)
            sink: Path | BinaryIO = part if part is not None else (stdout or sys.stdout.buffer)
            with _text_output(sink, excel) as handle:
                if fmt == "csv":
                    stats = write_csv(handle, rows, excel=excel, sanitize=sanitize)
                else:
                    if with_history:
                        versions = query.stream(connection, query.versions_query(dialect, clauses))
                        records = (
                            release_record(row, mine) for row, mine in nest_versions(rows, versions)
                        )
                    else:
                        records = (release_record(row) for row in rows)
                    stats = write_json(handle, records, lines=fmt == "jsonl")
            history_stats: WriteStats | None = None
            history_target = history_path_for(target) if target and with_history else None
            if history_target is not None and fmt == "csv":
                history_part = history_target.with_name(history_target.name + ".part")
                parts.append(history_part)
                with _text_output(history_part, excel) as handle:
                    history_stats = write_csv(
                        handle,
                        query.stream(connection, query.versions_query(dialect, clauses)),
                        history=True,
                        excel=excel,
                        sanitize=sanitize,
                    )
    except BaseException:
        for part in parts:
            part.unlink(missing_ok=True)
        raise

    result.rows = stats.rows
    result.neutralized = stats.neutralized + (history_stats.neutralized if history_stats else 0)
    result.first_published, result.last_published = facts.get("first"), facts.get("last")
    if target is None:
        return result

    os.replace(parts[0], target)
    files = [
        file_entry(
            target,
            rows=stats.rows,
            history=False,
            fmt=fmt,
            excel=excel,
            nested_history=with_history and fmt != "csv",
        )
    ]
    if history_target is not None and history_stats is not None:
        os.replace(parts[1], history_target)
        result.history_path, result.history_rows = history_target, history_stats.rows
        files.append(
            file_entry(history_target, rows=history_stats.rows, history=True, fmt=fmt, excel=excel)
        )
    result.sha256 = files[0]["sha256"]
    created = iso_utc(now)
    description = (
        f"{stats.rows} press releases exported by archiver from {mask_url(db_url)}"
        f" with filters {filters.as_dict() or 'none'}"
    )
    if datapackage:
        result.datapackage_path = write_datapackage(
            target,
            title=f"Press releases: {target.stem}",
            description=description,
            created=created,
            excel=excel,
            history_path=result.history_path,
        )
    manifest = base_manifest(
        exported_at=created,
        database=mask_url(db_url),
        filters=filters.as_dict(),
        rows=stats.rows,
        published_on_range={"first": result.first_published, "last": result.last_published},
        archive_last_run_id=totals["last_run_id"],
        sha256=result.sha256,
        formula_sanitizing=sanitizing_entry(fmt, sanitize, result.neutralized),
        files=files,
        datapackage=result.datapackage_path.name if result.datapackage_path else None,
    )
    result.manifest = manifest
    result.manifest_path = write_manifest(target, manifest)
    return result
