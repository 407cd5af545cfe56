"""`<file>.manifest.json`: what an export holds, written next to it, for the researcher who
opens the file a year later and for the one who checks that it was not altered.

It names the archiver version, the moment, the source database (password masked), the filters,
whether each release page's text was included (`with_text`), the order, the row count and
publication date range, the SHA-256 of each file, the encoding and line ends, whether
formula-looking values were neutralised, and every column written with its type and meaning.
`archive_last_run_id` is what to pass to `--seen-since` next time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archiver import __version__
from archiver.export.columns import VERSION_COLUMNS, describe, release_columns
from archiver.export.writers import (
    FORMULA_GUARD,
    FORMULA_TRIGGERS,
    SANITIZED_RELEASE_COLUMNS,
    SANITIZED_TEXT_COLUMNS,
)

#: Bump when the manifest's keys change meaning (readers can check it).
MANIFEST_VERSION = 1

ORDER = "published_on descending (undated releases last), then url (byte order)"


def manifest_path(path: Path) -> Path:
    """Where the manifest of `path` goes: `<file>.manifest.json` beside it.

    >>> manifest_path(Path("exports/syria.csv")).as_posix()
    'exports/syria.csv.manifest.json'
    """
    return path.with_name(path.name + ".manifest.json")


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks (exports can be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def file_entry(
    path: Path,
    *,
    rows: int,
    history: bool,
    fmt: str,
    excel: bool,
    nested_history: bool = False,
    with_text: bool = False,
) -> dict[str, Any]:
    """One exported file as the manifest describes it (hash computed from the file on disk):
    its columns are the ones actually written (`with_text` adds the page's)."""
    columns = describe(VERSION_COLUMNS if history else release_columns(with_text))
    if nested_history:
        columns.append(
            {
                "name": "versions",
                "type": "array",
                "description": "Earlier values of the release, oldest first (objects with the"
                " history columns but url); empty when never edited.",
            }
        )
    entry: dict[str, Any] = {
        "path": path.name,
        "format": fmt,
        "rows": rows,
        "bytes": path.stat().st_size,
        "sha256": sha256_of(path),
        "encoding": "utf-8-sig" if excel else "utf-8",
        "columns": columns,
    }
    if fmt == "csv":
        entry["byte_order_mark"] = excel
        entry["line_terminator"] = "\r\n" if excel else "\n"
        entry["header"] = True
        entry["missing_value"] = ""
    else:
        entry["missing_value"] = None
    return entry


def sanitizing_entry(
    fmt: str, sanitize: bool, neutralized: int, *, with_text: bool = False
) -> dict[str, Any]:
    """What was done to values a spreadsheet would run as formulas.

    >>> sanitizing_entry("csv", True, 0)["columns"][-1]
    'facets'
    >>> sanitizing_entry("csv", True, 0, with_text=True)["columns"][6:8]
    ['headline', 'body']
    """
    if fmt != "csv":
        return {"applied": False, "reason": "JSON is never evaluated: values are exact"}
    columns = SANITIZED_RELEASE_COLUMNS + (SANITIZED_TEXT_COLUMNS if with_text else ())
    entry: dict[str, Any] = {
        "applied": sanitize,
        "triggers": list(FORMULA_TRIGGERS),
        "prefix": FORMULA_GUARD,
        "columns": list(columns),
    }
    if sanitize:
        entry["values_changed"] = neutralized
        entry["note"] = (
            f"text values starting with a trigger got {FORMULA_GUARD!r} in front so that"
            " spreadsheets show them as text; strip one leading apostrophe from such values"
            " to get the stored text back (or export with --no-sanitize)"
        )
    else:
        entry["note"] = "values are exact; opening this file in a spreadsheet may run formulas"
    return entry


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> Path:
    """Write `manifest` as `<path>.manifest.json` (pretty, UTF-8) and return its path."""
    target = manifest_path(path)
    target.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target


def base_manifest(**fields: Any) -> dict[str, Any]:
    """The manifest's fixed head, then `fields` in the order given."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "archiver_version": __version__,
        **fields,
        "order": ORDER,
    }
