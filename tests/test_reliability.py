"""The reliability matrix (tests/reliability.py): faults × positions, on SQLite and PostgreSQL.

A run that missed a page is never `ok`; what it read is stored once; the next plain crawl heals
the gap, so no release is missing once the site recovered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.demo.dataset import Dataset
from archiver.outcome import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL
from tests.reliability import FAULTS, POSITIONS, expected, run_case

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("position", list(POSITIONS))
@pytest.mark.parametrize("kind", list(FAULTS))
def test_fault_is_reported_and_healed(
    kind: str, position: str, db_url: str, tmp_path: Path, dataset: Dataset
) -> None:
    result = run_case(kind, position, db_url, tmp_path / "data", dataset)
    want = expected(kind, position, dataset)
    during = result.during
    assert (during.outcome.status, during.returncode) == (want.status, want.exit_code), (
        during.message
    )
    assert result.stored_during == want.stored
    if want.exit_code in (EXIT_ERROR, EXIT_PARTIAL):
        # It says which page and why, in the message every report carries.
        assert f"page {POSITIONS[position]} (" in during.message, during.message
    after = result.after
    assert (after.outcome.status, after.returncode) == ("finished", EXIT_OK), after.message
    assert result.missing_after == 0
    assert result.unexpected_after == 0
    assert result.stored_after == 70
    assert result.garbled_titles == 0
