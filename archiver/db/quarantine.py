"""The quarantine: the cards validation refused, one row each (`invalid_items`).

Every function takes a Connection and leaves the transaction to the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from archiver.db.tables import INVALID


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused card: why, where, when first and last, how often (by how many runs)."""

    id: int
    source: str
    reasons: tuple[str, ...]
    url: str | None  # the raw link on the card, if any
    title: str  # the raw title, as on the card
    date: str  # the raw date, as on the card
    page_url: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    times_seen: int
    first_run_id: int | None
    last_run_id: int | None
    raw: dict[str, Any]


def refusals(
    connection: Connection,
    *,
    reason: str | None = None,
    source: str | None = None,
    limit: int | None = None,
) -> Iterator[Refusal]:
    """Refused cards, most recently seen first (`reason`: only those refused for it)."""
    query = select(INVALID).order_by(INVALID.c.last_seen_at.desc(), INVALID.c.id.desc())
    if source:
        query = query.where(INVALID.c.source == source)
    rows = connection.execute(query)
    shown = 0
    for row in rows:
        if reason and reason not in (row.reasons or []):
            continue  # a JSON list: filtered here the same way on both dialects
        fields = (row.raw or {}).get("raw", row.raw or {})
        yield Refusal(
            id=row.id,
            source=row.source,
            reasons=tuple(row.reasons or ()),
            url=row.url,
            title=fields.get("title_raw") or "",
            date=fields.get("date_raw") or "",
            page_url=row.page_url,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            times_seen=row.times_seen,
            first_run_id=row.run_id,
            last_run_id=row.last_run_id,
            raw=row.raw or {},
        )
        shown += 1
        if limit is not None and shown >= limit:
            return


def refusal_count(connection: Connection) -> int:
    """How many refused cards the quarantine holds."""
    return int(connection.execute(select(func.count(INVALID.c.id))).scalar_one())
