"""What is kept of an item validation refused: enough to see why and to re-normalise it later.

The validate pipeline refuses items without a usable URL, title or plausible date; they are
never dropped silently. `quarantine_record` is the JSON form (the JSONL quarantine file, the
`raw` column), `quarantined_item` the form the store keeps in `invalid_items`
(`archiver.items.QuarantinedItem`). Pure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from archiver.items import QuarantinedItem
from archiver.jsonsafe import json_safe
from archiver.normalize import item_fields

RAW_FIELDS = (
    "url_raw",
    "title_raw",
    "summary_raw",
    "summary_html",
    "date_raw",
    "type_raw",
    "image_alt",
    "caption",
    "credit",
)
CLEAN_FIELDS = ("url", "title", "summary", "published_on", "type")


def quarantine_record(item: Any, reasons: list[str], now: datetime) -> dict[str, Any]:
    """The JSON-ready record of a refused item.

    >>> from datetime import UTC
    >>> from archiver.items import ReleaseItem
    >>> item = ReleaseItem(source="amnestyusa", facet="country=syria", position=3, layout="current",
    ...     page_url="https://www.amnestyusa.org/news/", url_raw="", title_raw="T", summary_raw="",
    ...     summary_html="", date_raw="someday", type_raw="")
    >>> record = quarantine_record(item, ["missing_url"], datetime(2024, 1, 1, tzinfo=UTC))
    >>> record["reasons"], record["page_url"], record["raw"]["date_raw"], record["time"]
    (['missing_url'], 'https://www.amnestyusa.org/news/', 'someday', '2024-01-01T00:00:00+00:00')
    """
    fields = item_fields(item)
    return json_safe(
        {
            "time": now,
            "reasons": list(reasons),
            "source": fields.get("source"),
            "facet": fields.get("facet"),
            "page_url": fields.get("page_url"),
            "position": fields.get("position"),
            "layout": fields.get("layout"),
            "fetched_at": fields.get("fetched_at"),
            "raw": {name: fields.get(name) for name in RAW_FIELDS},
            "normalized": {name: fields.get(name) for name in CLEAN_FIELDS},
        }
    )


def quarantined_item(item: Any, reasons: list[str], now: datetime) -> QuarantinedItem:
    """The store's form of a refused item (its raw values and where it was found)."""
    record = quarantine_record(item, reasons, now)
    fields = item_fields(item)
    return QuarantinedItem(
        source=fields.get("source") or "unknown",
        url=fields.get("url_raw") or None,
        reasons=tuple(reasons),
        raw={key: value for key, value in record.items() if key not in ("reasons", "time")},
        page_url=fields.get("page_url"),
    )
