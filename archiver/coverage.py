"""How completely the archive has read a listing, and how one run changes that. Pure.

A listing (a source and a facet) is *complete* once a run read it from page 1 to its last page
without missing one. A run that could not read a page (an error after retries, an unexpected
404, an empty or garbled page, a page cut short), or that stopped before the end without the
incremental rule saying the rest is known (interrupted, killed, a page limit), leaves a *gap*:
what lies from that page on was not read. While a listing has a gap, crawls of it are not
incremental: the next one reads to the end, and only then is the gap closed. So a gap heals by
itself on the next plain or scheduled run, and an incremental run only ever skips pages that a
complete read already covered.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the archive knows of one listing (a `listing_coverage` row)."""

    ever_complete: bool = False
    gap_from_page: int | None = None
    gap_reason: str | None = None
    open_run_id: int | None = None  # a run reading it; left behind by a run that died

    @property
    def has_gap(self) -> bool:
        return self.gap_from_page is not None


@dataclass(frozen=True, slots=True)
class ListingRead:
    """What one run did to a listing."""

    start_page: int = 1
    last_page_read: int | None = None  # the highest listing page read (or answered 304)
    first_missed: int | None = None  # the first page the run could not read
    missed_cause: str | None = None
    reached_end: bool = False  # read a page without a next-page link
    stopped_by: str | None = None  # incremental, max_pages, a closespider_* limit


def incremental_blocked(coverage: Coverage) -> str | None:
    """Why this listing must be read to its end now (None: an incremental crawl is safe).

    >>> incremental_blocked(Coverage())
    'no run has read the listing to its end yet'
    >>> incremental_blocked(Coverage(ever_complete=True, gap_from_page=3, gap_reason="HTTP 500"))
    'pages from 3 on were not read (HTTP 500): reading to the end'
    >>> incremental_blocked(Coverage(ever_complete=True)) is None
    True
    """
    if coverage.has_gap:
        why = f" ({coverage.gap_reason})" if coverage.gap_reason else ""
        return f"pages from {coverage.gap_from_page} on were not read{why}: reading to the end"
    if not coverage.ever_complete:
        return "no run has read the listing to its end yet"
    return None


def after_run(before: Coverage, read: ListingRead, run_id: int | None = None) -> Coverage:
    """The listing's coverage once a run that read it has closed.

    >>> complete = after_run(Coverage(), ListingRead(last_page_read=7, reached_end=True))
    >>> complete.ever_complete, complete.has_gap
    (True, False)
    >>> gap = after_run(complete, ListingRead(last_page_read=2, first_missed=3, missed_cause="x"))
    >>> gap.gap_from_page, gap.ever_complete
    (3, True)
    >>> after_run(gap, ListingRead(last_page_read=1, stopped_by="max_pages")).gap_from_page
    2
    >>> after_run(gap, ListingRead(last_page_read=7, reached_end=True)).has_gap
    False
    """
    after = replace(before, open_run_id=None)
    if read.first_missed is not None:
        return _with_gap(after, read.first_missed, read.missed_cause or "a page was not read")
    if read.reached_end and read.start_page == 1:
        return replace(after, ever_complete=True, gap_from_page=None, gap_reason=None)
    if read.stopped_by == "incremental" or read.last_page_read is None or read.start_page != 1:
        # What it did not read, a complete read had (or it read nothing, or only a slice of
        # the listing from `start_page` on, which says nothing of the pages before it).
        return after
    # It stopped before the end with pages still to read: what lies beyond was not seen.
    why = f"stopped after page {read.last_page_read}" + (
        f" ({read.stopped_by})" if read.stopped_by else ""
    )
    return _with_gap(after, read.last_page_read + 1, why)


def _with_gap(coverage: Coverage, page: int, reason: str) -> Coverage:
    if coverage.gap_from_page is not None and coverage.gap_from_page <= page:
        return coverage  # an earlier gap is still open: it covers this one
    return replace(coverage, gap_from_page=page, gap_reason=reason)
