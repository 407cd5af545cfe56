"""The `listing_coverage` rows: how completely each listing has been read (archiver.coverage).

Every function takes a Connection and leaves the transaction to the caller.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, select, update

from archiver.coverage import Coverage
from archiver.db.engine import dialect_insert
from archiver.db.models import utcnow
from archiver.db.tables import COVERAGE, RUNS


def _key(facet: str | None) -> str:
    return facet or ""


def read_coverage(connection: Connection, source: str, facet: str | None) -> Coverage:
    """The listing's coverage (a never-read listing has the empty one)."""
    row = connection.execute(
        select(COVERAGE).where(COVERAGE.c.source == source, COVERAGE.c.facet == _key(facet))
    ).first()
    if row is None:
        return Coverage()
    return Coverage(
        ever_complete=bool(row.ever_complete),
        gap_from_page=row.gap_from_page,
        gap_reason=row.gap_reason,
        open_run_id=row.open_run_id,
    )


def run_is_live(connection: Connection, run_id: int | None) -> bool:
    """Whether run `run_id` is still recorded as running (call `mark_dead_runs` first)."""
    if run_id is None:
        return False
    status = connection.execute(select(RUNS.c.status).where(RUNS.c.id == run_id)).scalar()
    return status == "running"


def begin_reading(connection: Connection, source: str, facet: str | None, run_id: int) -> Coverage:
    """Mark run `run_id` as reading the listing; returns the coverage as it was before.

    A run left behind as reader by a process that died becomes a gap from page 1: how far it got,
    and what it stored of what it read, is not known.
    """
    before = read_coverage(connection, source, facet)
    previous = before.open_run_id
    before = replace(before, open_run_id=None)
    if previous is not None and not run_is_live(connection, previous):
        reason = f"run {previous} ended without closing its record"
        if before.gap_from_page is None or before.gap_from_page > 1:
            before = replace(before, gap_from_page=1, gap_reason=reason)
    write_coverage(connection, source, facet, before, open_run_id=run_id)
    return before


def write_coverage(
    connection: Connection,
    source: str,
    facet: str | None,
    coverage: Coverage,
    *,
    open_run_id: int | None = None,
    run_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Store the listing's coverage; `run_id` is the run that made it so."""
    values = {
        "ever_complete": coverage.ever_complete,
        "gap_from_page": coverage.gap_from_page,
        "gap_reason": coverage.gap_reason,
        "open_run_id": open_run_id,
        "updated_at": now or utcnow(),
    }
    if run_id is not None and coverage.ever_complete and not coverage.has_gap:
        values["complete_run_id"] = run_id
    if run_id is not None and coverage.has_gap:
        values["gap_run_id"] = run_id
    stmt = dialect_insert(connection)(COVERAGE).values(source=source, facet=_key(facet), **values)
    connection.execute(
        stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=[COVERAGE.c.source, COVERAGE.c.facet], set_=values
        )
    )


def listing_coverage(connection: Connection) -> list[tuple[str, str, Coverage]]:
    """Every listing's coverage: (source, facet, coverage), by source and facet."""
    rows = connection.execute(select(COVERAGE).order_by(COVERAGE.c.source, COVERAGE.c.facet))
    return [
        (
            row.source,
            row.facet,
            Coverage(bool(row.ever_complete), row.gap_from_page, row.gap_reason, row.open_run_id),
        )
        for row in rows
    ]


def forget_reader(connection: Connection, source: str, facet: str | None, run_id: int) -> None:
    """Clear `open_run_id` if it is still `run_id` (the run closed without touching coverage)."""
    connection.execute(
        update(COVERAGE)
        .where(
            COVERAGE.c.source == source,
            COVERAGE.c.facet == _key(facet),
            COVERAGE.c.open_run_id == run_id,
        )
        .values(open_run_id=None)
    )
