"""Exports: snapshots of the archive as CSV, JSON or JSON Lines, each with a manifest.

`export_releases` does one export (filters in `ExportFilters`); `write_snapshot` is the plain
"everything, as CSV, in data/exports/" snapshot `archiver demo` ends with. See docs/export.md.
"""

from __future__ import annotations

from pathlib import Path

from archiver.errors import ExportError
from archiver.export.filters import ExportFilters
from archiver.export.run import FORMATS, ExportResult, default_export_path, export_releases

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportFilters",
    "ExportResult",
    "default_export_path",
    "export_releases",
    "write_snapshot",
]


def write_snapshot(db_url: str, data_dir: Path | None = None) -> Path:
    """Export every release as CSV to `<data>/exports/` (with its manifest); return the path."""
    filters = ExportFilters()
    path = default_export_path(filters, "csv", data_dir=data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = export_releases(db_url, path, filters=filters, fmt="csv")
    assert result.path is not None
    return result.path
