"""Opening a new SQLite archive from several connections at once (two crawls started together).

SQLite refuses the switch to WAL with "database is locked" at once, busy timeout or not, when
another connection is switching the same new file at that moment; the engine must wait instead.
Threads with their own engines hit the same race as two `archiver crawl` processes (a few
rounds in a hundred lose it), so many rounds make a test that fails whenever the wait is gone.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from archiver.db.engine import make_engine

OPENERS = 4
ROUNDS = 150


def _open_all_at_once(url: str) -> list[str]:
    barrier = threading.Barrier(OPENERS)
    outcomes: list[str] = []

    def open_one() -> None:
        engine = make_engine(url)
        try:
            barrier.wait()
            with engine.connect() as connection:
                outcomes.append(connection.execute(text("PRAGMA journal_mode")).scalar())
        except Exception as error:  # the outcome is what the test asserts
            outcomes.append(str(error))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=open_one) for _ in range(OPENERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_connections_opening_a_new_archive_together_all_get_wal(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        outcomes = _open_all_at_once(f"sqlite:///{tmp_path / f'archive-{round_}.db'}")
        assert outcomes == ["wal"] * OPENERS, f"round {round_}: {outcomes}"
