"""`archiver quarantine --out FILE`: the refused cards as CSV or JSON Lines, for a closer look.

The same CSV rules as every export (RFC 4180, UTF-8, formula-like values neutralised) and the same
one-line errors; the rows come from `archiver.db.quarantine`.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from archiver.db import database_error, open_archive
from archiver.db.quarantine import Refusal, refusals
from archiver.errors import ExportError
from archiver.export.filters import iso_utc
from archiver.export.writers import neutralize

COLUMNS = (
    "reasons",
    "times_seen",
    "first_seen_at",
    "last_seen_at",
    "url",
    "title",
    "date",
    "page_url",
    "source",
    "first_run_id",
    "last_run_id",
)


def _record(refusal: Refusal) -> dict[str, object]:
    return {
        "reasons": list(refusal.reasons),
        "times_seen": refusal.times_seen,
        "first_seen_at": iso_utc(refusal.first_seen_at),
        "last_seen_at": iso_utc(refusal.last_seen_at),
        "url": refusal.url,
        "title": refusal.title,
        "date": refusal.date,
        "page_url": refusal.page_url,
        "source": refusal.source,
        "first_run_id": refusal.first_run_id,
        "last_run_id": refusal.last_run_id,
    }


def write_refusals(out: TextIO, rows: Iterable[Refusal], fmt: str) -> int:
    """Write the refusals as CSV (reasons joined with `;`) or JSON Lines; returns how many."""
    count = 0
    if fmt == "jsonl":
        for refusal in rows:
            out.write(json.dumps(_record(refusal), ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for refusal in rows:
        record = _record(refusal)
        record["reasons"] = ";".join(refusal.reasons)
        writer.writerow(
            neutralize(value) if isinstance(value, str) else ("" if value is None else value)
            for value in (record[name] for name in COLUMNS)
        )
        count += 1
    return count


def export_refusals(db_url: str, out: str, *, fmt: str = "csv", reason: str | None = None) -> int:
    """Export the quarantine to `out` (a file, or `-` for standard output); returns the rows."""
    if fmt not in ("csv", "jsonl"):
        raise ExportError(f"unknown format {fmt!r} (known: csv, jsonl)")
    path = None if out == "-" else Path(out).expanduser()
    if path is not None and not path.absolute().parent.is_dir():
        raise ExportError(f"output folder {path.absolute().parent} does not exist")
    engine = open_archive(db_url)
    try:
        with engine.connect() as connection:
            rows = refusals(connection, reason=reason)
            if path is None:
                return write_refusals(sys.stdout, rows, fmt)
            with path.open("w", encoding="utf-8", newline="") as handle:
                return write_refusals(handle, rows, fmt)
    except SQLAlchemyError as error:
        raise database_error(error, db_url) from None
    except OSError as error:
        raise ExportError(f"cannot write {out}: {error.strerror or error}") from None
    finally:
        engine.dispose()
