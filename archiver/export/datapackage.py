"""A Frictionless Data Package descriptor for a CSV export (`--datapackage`).

`frictionless validate <name>.datapackage.json` then checks every cell against the column
types, the uniqueness of `url` and, with history, that every version row points at an exported
release. Only CSV gets one: Frictionless reads JSON resources only with optional extras, and
CSV is what the tools that read Data Packages (R's `frictionless`, pandas via `frictionless`)
handle everywhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from archiver.export.columns import VERSION_COLUMNS, Column, release_columns

FORMAT_HINTS = {"date": "default", "datetime": "%Y-%m-%dT%H:%M:%SZ"}
#: The values `text_status` takes (`release_texts.status`); empty when the page was never tried.
TEXT_STATUSES = ("enriched", "failed", "gone")


def datapackage_path(path: Path) -> Path:
    """Where the descriptor of export `path` goes: `<stem>.datapackage.json` beside it.

    One per export, so several exports can share a folder.

    >>> datapackage_path(Path("exports/syria.csv")).as_posix()
    'exports/syria.datapackage.json'
    """
    return path.with_name(path.stem + ".datapackage.json")


def _package_name(text: str) -> str:
    """A Data Package name: lower case, digits, `-`, `_`, `.` only.

    >>> _package_name("amnestyusa_country-syria_20240501T120000Z")
    'amnestyusa_country-syria_20240501t120000z'
    """
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "export"


def _fields(columns: tuple[Column, ...]) -> list[dict[str, Any]]:
    fields = []
    for column in columns:
        field: dict[str, Any] = {
            "name": column.name,
            "type": column.type,
            "description": column.description,
        }
        if column.type == "datetime":
            field["format"] = FORMAT_HINTS["datetime"]
        if column.type == "boolean":
            field["trueValues"], field["falseValues"] = ["true"], ["false"]
        if column.name in ("url", "title", "summary_truncated", "first_seen_at", "last_seen_at"):
            field["constraints"] = {"required": True}
        if column.name == "text_status":
            field["constraints"] = {"enum": list(TEXT_STATUSES)}
        fields.append(field)
    return fields


def _resource(name: str, path: Path, columns: tuple[Column, ...], excel: bool) -> dict[str, Any]:
    return {
        "name": name,
        "path": path.name,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8-sig" if excel else "utf-8",
        "dialect": {
            "delimiter": ",",
            "quoteChar": '"',
            "doubleQuote": True,
            "lineTerminator": "\r\n" if excel else "\n",
            "header": True,
        },
        "schema": {"fields": _fields(columns), "missingValues": [""]},
    }


def write_datapackage(
    path: Path,
    *,
    title: str,
    description: str,
    created: str,
    excel: bool,
    history_path: Path | None = None,
    with_text: bool = False,
) -> Path:
    """Write the descriptor for the CSV export `path` (and its history file); return its path.

    `with_text`: the releases file has the `--with-text` columns too.
    """
    releases = _resource("releases", path, release_columns(with_text), excel)
    releases["schema"]["primaryKey"] = ["url"]
    resources = [releases]
    if history_path is not None:
        history = _resource("release_versions", history_path, VERSION_COLUMNS, excel)
        history["schema"]["foreignKeys"] = [
            {"fields": ["url"], "reference": {"resource": "releases", "fields": ["url"]}}
        ]
        resources.append(history)
    descriptor = {
        "profile": "tabular-data-package",
        "name": _package_name(path.stem),
        "title": title,
        "description": description,
        "created": created,
        "resources": resources,
    }
    target = datapackage_path(path)
    target.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target
