"""Values made JSON-ready one way everywhere: run rows, stats files, the quarantine, manifests.

Scrapy's stats hold datetimes, items hold dates, and a value JSON cannot hold must never make a
run lose its record, so anything else becomes its `str()`. Pure (standard library only).
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any


def json_safe(value: Any) -> Any:
    """`value` with dates as ISO strings, containers walked, and anything else JSON lacks as str.

    >>> json_safe({"at": datetime(2024, 5, 1, 12), 1: (date(2024, 5, 1), None), "x": {3}})
    {'at': '2024-05-01T12:00:00', '1': ['2024-05-01', None], 'x': '{3}'}
    """
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def write_json_atomic(path: Path, data: Any, *, mode: int | None = None) -> None:
    """Replace `path` with `data` as JSON so a reader never sees half a file.

    `mode` (e.g. 0o600) is set before any byte is written, for files holding settings.
    """
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    descriptor = os.open(
        tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 if mode is None else mode
    )
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(json_safe(data), handle, ensure_ascii=False)
    os.replace(tmp, path)
