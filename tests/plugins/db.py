"""Database fixtures: a fresh SQLite file or a fresh PostgreSQL database for every test.

`db_url` runs a test on both dialects. PostgreSQL comes from `ARCHIVER_TEST_PG_URL` (default: the
local server, `postgresql://postgres@127.0.0.1:5432/postgres`); each test gets its own database,
created and dropped here, so tests (and parallel CI jobs) never see each other's rows. When the
server is unreachable, PostgreSQL tests are skipped locally but fail under `CI=true`: CI must never
pass by silently not testing PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from archiver.db import make_engine, upgrade, write_transaction
from archiver.db.models import CrawlRun
from archiver.db.runs import (
    RunEnd,
    close_run,
    get_run,
    list_runs,
    mark_dead_runs,
    open_run,
    record_progress,
)
from archiver.db.store import ReleaseStore, StoreCounts
from archiver.items import QuarantinedItem, ReleaseItem
from archiver.normalize.hashing import content_hash

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin_conninfo() -> str:
    """The maintenance database as a libpq URI (also a valid SQLAlchemy URL)."""
    url = make_url(os.environ.get("ARCHIVER_TEST_PG_URL", DEFAULT_PG_URL))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite file (not yet migrated) in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'archive.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, uniquely named PostgreSQL database, dropped after the test."""
    conninfo = _admin_conninfo()
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL unreachable ({error.__class__.__name__}): {str(error)[:200]}"
        if _in_ci():
            pytest.fail(f"CI=true requires PostgreSQL: {message}")
        pytest.skip(message)
    name = f"archiver_test_{uuid.uuid4().hex[:12]}"
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(conninfo).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database URL: the test runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(name)


@pytest.fixture
def archive_url(db_url: str) -> str:
    """Like `db_url`, already upgraded to the current schema."""
    upgrade(db_url)
    return db_url


@pytest.fixture
def archive_engine(archive_url: str) -> Iterator[Engine]:
    """An engine on a migrated fresh database (both dialects), disposed after the test."""
    engine = make_engine(archive_url)
    try:
        yield engine
    finally:
        engine.dispose()


def release_item(number: int, **changes: Any) -> ReleaseItem:
    """A normalised, valid `ReleaseItem` as the store receives it (number → distinct release)."""
    fields: dict[str, Any] = {
        "source": "amnestyusa",
        "facet": None,
        "page_url": "https://www.amnestyusa.org/news/",
        "position": number % 12 + 1,
        "layout": "current",
        "url_raw": f"/press-releases/release-{number}/",
        "title_raw": f"Release {number}",
        "summary_raw": f"Summary of release {number}.",
        "summary_html": f"Summary of release {number}.",
        "date_raw": "June 16, 2017",
        "type_raw": "Press Release",
        "url": f"https://www.amnestyusa.org/press-releases/release-{number}/",
        "title": f"Release {number}",
        "summary": f"Summary of release {number}.",
        "summary_truncated": False,
        "published_on": date(2017, 6, 16),
        "type": "Press Release",
        "type_source": "label",
        "fetched_at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    }
    fields.update(changes)
    item = ReleaseItem(**fields)
    if "content_hash" not in changes:
        item.content_hash = content_hash(item.title, item.summary, item.type, item.published_on)
    return item


# -- one-transaction helpers, as the crawl components use the db layer ---------------------------


def open_test_run(engine: Engine, **values: Any) -> int:
    """Open a run row (`archiver.db.runs.open_run`) in its own transaction."""
    with write_transaction(engine) as connection:
        return open_run(connection, **{"spider": "amnestyusa", **values})


def close_test_run(engine: Engine, run_id: int, end: RunEnd, totals: StoreCounts) -> None:
    """Close a run row in its own transaction."""
    with write_transaction(engine) as connection:
        close_run(connection, run_id, end, totals)


def read_runs(engine: Engine, **filters: Any) -> list[CrawlRun]:
    """`archiver.db.runs.list_runs`, newest first."""
    with engine.connect() as connection:
        return list_runs(connection, **filters)


def read_run(engine: Engine, run_id: int) -> CrawlRun | None:
    """`archiver.db.runs.get_run`."""
    with engine.connect() as connection:
        return get_run(connection, run_id)


def mark_dead(engine: Engine, **options: Any) -> list[int]:
    """`archiver.db.runs.mark_dead_runs` in its own transaction."""
    with write_transaction(engine) as connection:
        return mark_dead_runs(connection, **options)


class BatchWriter:
    """A run's `ReleaseStore`, each batch in its own transaction with the run's counts, as the
    store pipeline writes."""

    def __init__(self, engine: Engine, run_id: int | None = None) -> None:
        self.engine = engine
        self.store = ReleaseStore(run_id)

    @property
    def run_id(self) -> int | None:
        return self.store.run_id

    @property
    def totals(self) -> StoreCounts:
        return self.store.totals

    def write_batch(
        self,
        items: Iterable[Any],
        invalid: Iterable[QuarantinedItem] = (),
        *,
        now: datetime | None = None,
    ) -> StoreCounts:
        with write_transaction(self.engine) as connection:
            batch = self.store.write_batch(connection, items, invalid, now=now)
            if self.run_id is not None:
                record_progress(connection, self.run_id, self.totals + batch.counts)
        self.store.commit(batch)
        return batch.counts
