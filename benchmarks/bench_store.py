"""How fast the store layer writes to SQLite, compared with raw sqlite3 upserts in the same run.

    .venv/bin/python benchmarks/bench_store.py [--items 100000] [--big 1000000] [--small 10000]

1. Stores `--items` normalised releases (each under a facet) through `ReleaseStore.write_batch`
   (batches of 500, one transaction each, as the pipeline does) into a fresh SQLite file, and the
   same items with raw `sqlite3.executemany` upserts (same schema, same batches, same pragmas,
   the same CASE-on-content-hash update and facet merge) into another. Prints both rates and
   their ratio (target >= 0.3).
2. Repeats both with every item already stored (only last_seen / last_run move).
3. Per-item cost of the store with `--big` rows already in the archive versus `--small`: the same
   workload (half already stored, half new) against both; the ratio should stay within 1.5x
   (lookups are by the unique (source, url) index, so cost must not grow with the archive).

A script, not a test: timings are printed, never asserted. Files go to a temporary folder.
`ARCHIVER_BENCH_QUICK=1` (`make bench --quick`) runs it smoke-sized. The last lines follow
benchmarks/run_all.py's `BENCH-RESULT` protocol (one per measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from archiver.db import make_engine, upgrade, write_transaction
from archiver.db.runs import open_run
from archiver.db.store import ReleaseStore
from archiver.items import ReleaseItem
from archiver.normalize.hashing import content_hash

BATCH = 500
FACETS = ("country=syria", "issue=refugee-migrant-rights", "issue=death-penalty", None)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_items(start: int, count: int, *, fetched_at: datetime = T0) -> list[ReleaseItem]:
    """`count` normalised releases numbered from `start` (distinct URLs), as the store gets them."""
    items = []
    for number in range(start, start + count):
        title = f"Release number {number}: a statement about human rights"
        summary = f"Summary of release {number}, as shown on the listing card."
        published = date(2010, 1, 1) + timedelta(days=number % 5000)
        item = ReleaseItem(
            source="amnestyusa",
            facet=FACETS[number % len(FACETS)],
            page_url=f"https://www.amnestyusa.org/news/page/{number // 10 + 1}/",
            position=number % 10 + 1,
            layout="current",
            url_raw=f"/press-releases/release-{number}/",
            title_raw=title,
            summary_raw=summary,
            summary_html=summary,
            date_raw=published.strftime("%B %-d, %Y"),
            type_raw="Press Release",
            fetched_at=fetched_at,
            url=f"https://www.amnestyusa.org/press-releases/release-{number}/",
            title=title,
            summary=summary,
            summary_truncated=False,
            published_on=published,
            type="Press Release",
            type_source="label",
        )
        item.content_hash = content_hash(title, summary, "Press Release", published)
        items.append(item)
    return items


def batches(items: Sequence[ReleaseItem]) -> list[Sequence[ReleaseItem]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def store_layer(url: str, items: Sequence[ReleaseItem]) -> float:
    """Seconds to write `items` through ReleaseStore in batches (one new run)."""
    engine = make_engine(url)
    try:
        with write_transaction(engine) as connection:
            store = ReleaseStore(open_run(connection, spider="bench"))
        started = time.perf_counter()
        for batch in batches(items):
            # One serialised transaction per batch, as the store pipeline writes.
            with write_transaction(engine) as connection:
                written = store.write_batch(connection, batch)
            store.commit(written)
        return time.perf_counter() - started
    finally:
        engine.dispose()


RAW_UPSERT = """
INSERT INTO releases (source, url, title, summary, summary_truncated, published_on, date_raw,
    type, type_raw, type_source, content_hash, first_seen_at, last_seen_at, content_since,
    first_run_id, last_run_id, first_page_url, last_page_url)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, url) DO UPDATE SET
    title = CASE WHEN content_hash != excluded.content_hash THEN excluded.title ELSE title END,
    summary = CASE WHEN content_hash != excluded.content_hash THEN excluded.summary
        ELSE summary END,
    summary_truncated = CASE WHEN content_hash != excluded.content_hash
        THEN excluded.summary_truncated ELSE summary_truncated END,
    published_on = CASE WHEN content_hash != excluded.content_hash THEN excluded.published_on
        ELSE published_on END,
    date_raw = CASE WHEN content_hash != excluded.content_hash THEN excluded.date_raw
        ELSE date_raw END,
    type = CASE WHEN content_hash != excluded.content_hash THEN excluded.type ELSE type END,
    type_raw = CASE WHEN content_hash != excluded.content_hash THEN excluded.type_raw
        ELSE type_raw END,
    type_source = CASE WHEN content_hash != excluded.content_hash THEN excluded.type_source
        ELSE type_source END,
    content_since = CASE WHEN content_hash != excluded.content_hash THEN excluded.content_since
        ELSE content_since END,
    content_hash = excluded.content_hash,
    last_seen_at = excluded.last_seen_at,
    last_run_id = excluded.last_run_id,
    last_page_url = excluded.last_page_url
"""
RAW_FACET = """
INSERT INTO release_facets (release_id, facet, first_seen_at, first_run_id)
SELECT id, ?, ?, ? FROM releases WHERE source = ? AND url = ?
ON CONFLICT (release_id, facet) DO NOTHING
"""


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def raw_sqlite(path: Path, items: Sequence[ReleaseItem], run_id: int) -> float:
    """Seconds to write `items` with plain sqlite3 executemany upserts, same batches."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute(
            "INSERT INTO crawl_runs (id, spider, arguments, started_at, updated_at) "
            "VALUES (?, 'raw', '{}', ?, ?)",
            (run_id, _sqlite_time(T0), _sqlite_time(T0)),
        )
        started = time.perf_counter()
        for batch in batches(items):
            now = _sqlite_time(datetime.now(UTC))
            rows = []
            facets = []
            for item in batch:
                seen = _sqlite_time(item.fetched_at or datetime.now(UTC))
                rows.append(
                    (
                        item.source,
                        item.url,
                        item.title,
                        item.summary,
                        int(bool(item.summary_truncated)),
                        item.published_on.isoformat() if item.published_on else None,
                        item.date_raw,
                        item.type,
                        item.type_raw,
                        item.type_source,
                        item.content_hash,
                        seen,
                        seen,
                        seen,
                        run_id,
                        run_id,
                        item.page_url,
                        item.page_url,
                    )
                )
                if item.facet:
                    facets.append((item.facet, now, run_id, item.source, item.url))
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(RAW_UPSERT, rows)
            connection.executemany(RAW_FACET, facets)
            connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()


def fresh_db(folder: Path, name: str) -> tuple[str, Path]:
    path = folder / f"{name}.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url, path


def prefill(path: Path, count: int) -> None:
    """Put `count` releases (and their facets) in the archive quickly (setup, not measured)."""
    chunk = 50_000
    for start in range(0, count, chunk):
        raw_sqlite(path, make_items(start, min(chunk, count - start)), run_id=900_000 + start)


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f} items/s ({seconds:6.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="rows already stored (large)")
    parser.add_argument("--small", type=int, default=10_000, help="rows already stored (small)")
    parser.add_argument("--workload", type=int, default=20_000, help="items for the scaling test")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the database files")
    options = parser.parse_args()
    if os.environ.get("ARCHIVER_BENCH_QUICK") == "1":
        options.items, options.big, options.small, options.workload = 10_000, 100_000, 5_000, 4_000
    summary: list[dict[str, object]] = []

    with tempfile.TemporaryDirectory(prefix="bench-store-", dir=options.dir) as tmp:
        folder = Path(tmp)
        items = make_items(0, options.items)
        later = make_items(0, options.items, fetched_at=T0 + timedelta(days=1))
        store_url, _ = fresh_db(folder, "store")
        _, raw_path = fresh_db(folder, "raw")

        print(f"SQLite {sqlite3.sqlite_version}, {options.items:,} items, batches of {BATCH}")
        results: list[tuple[str, float, float]] = []
        for label, batch_items in (("all new", items), ("all already stored", later)):
            layer = store_layer(store_url, batch_items)
            raw = raw_sqlite(raw_path, batch_items, run_id=len(results) + 1)
            results.append((label, layer, raw))
            print(f"\n{label}:")
            print(f"  store layer   {rate(len(batch_items), layer)}")
            print(f"  raw sqlite3   {rate(len(batch_items), raw)}")
            print(f"  ratio store/raw = {raw / layer:.2f} (target >= 0.3)")
            summary.append(
                {
                    "name": f"store ({label})",
                    "metric": "store layer items/s vs raw sqlite3 executemany",
                    "value": round(len(batch_items) / layer),
                    "baseline": round(len(batch_items) / raw),
                    "ratio": round(raw / layer, 3),
                    "target": 0.3,
                }
            )

        print(f"\nscaling: {options.workload:,} items (half stored, half new) through the store")
        costs: dict[int, float] = {}
        for size in (options.small, options.big):
            url, path = fresh_db(folder, f"scale-{size}")
            started = time.perf_counter()
            prefill(path, size)
            print(f"  prefilled {size:>9,} rows in {time.perf_counter() - started:.1f} s (setup)")
            half = options.workload // 2
            workload = make_items(size - half, half, fetched_at=T0 + timedelta(days=2))
            workload += make_items(size + 10_000_000, half)
            seconds = store_layer(url, workload)
            costs[size] = seconds / options.workload * 1e6
            print(f"  with {size:>9,} rows stored: {costs[size]:6.1f} µs per item")
            path.unlink()
        ratio = costs[options.big] / costs[options.small]
        print(
            f"  cost ratio {options.big:,} / {options.small:,} rows = {ratio:.2f} (target <= 1.5)"
        )
        summary.append(
            {
                "name": "store (archive size)",
                "metric": f"µs/item with {options.big:,} rows stored vs {options.small:,}",
                "value": round(costs[options.big], 1),
                "baseline": round(costs[options.small], 1),
                "ratio": round(1 / ratio, 3),  # higher is better: 1.5x slower = 0.667
                "target": round(1 / 1.5, 3),
            }
        )
    for record in summary:
        record["passed"] = record["ratio"] >= record["target"]  # type: ignore[operator]
        print("BENCH-RESULT " + json.dumps(record, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
