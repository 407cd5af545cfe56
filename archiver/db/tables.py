"""The archive's tables as `Table` objects, for Core statements (the one set of aliases).

The store, the run records, the exports and the schedules write Core statements (batched
inserts, upserts, streamed selects) rather than ORM queries; they all take their tables here.
"""

from __future__ import annotations

from sqlalchemy import Table

from archiver.db.models import (
    CrawlRun,
    InvalidItem,
    ListingCoverage,
    ListingValidator,
    Release,
    ReleaseFacet,
    ReleaseText,
    ReleaseTextVersion,
    ReleaseVersion,
    Schedule,
    WarcPage,
)

RELEASES: Table = Release.__table__  # type: ignore[assignment]
FACETS: Table = ReleaseFacet.__table__  # type: ignore[assignment]
VERSIONS: Table = ReleaseVersion.__table__  # type: ignore[assignment]
INVALID: Table = InvalidItem.__table__  # type: ignore[assignment]
RUNS: Table = CrawlRun.__table__  # type: ignore[assignment]
SCHEDULES: Table = Schedule.__table__  # type: ignore[assignment]
WARC_PAGES: Table = WarcPage.__table__  # type: ignore[assignment]
VALIDATORS: Table = ListingValidator.__table__  # type: ignore[assignment]
COVERAGE: Table = ListingCoverage.__table__  # type: ignore[assignment]
TEXTS: Table = ReleaseText.__table__  # type: ignore[assignment]
TEXT_VERSIONS: Table = ReleaseTextVersion.__table__  # type: ignore[assignment]
