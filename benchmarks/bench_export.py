"""How fast `archiver export` writes CSV compared with the bare minimum, and how much memory.

    .venv/bin/python benchmarks/bench_export.py [--rows 1000000] [--repeat 3] [--db PATH] [--keep]

Creates a SQLite archive with `upgrade` (the real schema), fills it fast with raw `sqlite3`
inserts (`--rows` releases, a third of them with one or two facets), then, each in its own
child process so neither inherits the other's memory:

- the export: `archiver.export.export_releases(..., fmt="csv")`, the library the CLI calls
  (streamed rows, formatting, formula sanitising, manifest with SHA-256);
- the baseline: the same SELECT (same order, facets with `group_concat`) through raw `sqlite3`
  written with `csv.writer`, with no formatting at all.

Prints both rates, their ratio (target >= 0.5) and each child's peak resident memory
(`ru_maxrss`; target for the export: under 150 MB, flat in the number of rows). A script, not a
test: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

EXPORT_CHILD = """
import json, resource, sys, time
from archiver.export import export_releases
started = time.perf_counter()
result = export_releases(sys.argv[1], sys.argv[2], fmt="csv")
seconds = time.perf_counter() - started
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": result.rows, "seconds": seconds, "peak_kb": peak_kb}))
"""

BASELINE_CHILD = """
import csv, json, resource, sqlite3, sys, time
started = time.perf_counter()
connection = sqlite3.connect(sys.argv[1])
cursor = connection.execute(
    "SELECT url, title, published_on, type, type_raw, summary, summary_truncated,"
    " (SELECT group_concat(facet, ';') FROM release_facets f WHERE f.release_id = r.id),"
    " first_seen_at, last_seen_at FROM releases r"
    " ORDER BY published_on DESC NULLS LAST, url, id"
)
rows = 0
with open(sys.argv[2], "w", encoding="utf-8", newline="") as out:
    writer = csv.writer(out, lineterminator="\\n")
    writer.writerow([d[0] for d in cursor.description])
    while batch := cursor.fetchmany(2000):
        writer.writerows(batch)
        rows += len(batch)
connection.close()
seconds = time.perf_counter() - started
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": rows, "seconds": seconds, "peak_kb": peak_kb}))
"""

WORDS = [
    "Syria",
    "Aleppo",
    "detention",
    "refugees",
    "“release”",
    "Amnesty",
    "urges",
    "authorities",
    "death",
    "penalty",
    "café",
    "São",
    "Paulo,",
    "torture",
    "prisoners",
    "evacuation",
    "=",
    "+",
    "-",
    "rights",
    "defenders",
    "Ukraine",
]


def fill(path: Path, rows: int, seed: int = 6) -> None:
    """Create the schema with `upgrade`, then insert `rows` releases with raw sqlite3."""
    sys.path.insert(0, str(REPO))
    from archiver.db import upgrade

    upgrade(f"sqlite:///{path}")
    rng = random.Random(seed)
    facets = ["country=syria", "country=russian-federation,ukraine", "issue=death-penalty"]
    types = ["Press Release", "Report", "Update", "Urgent Action", "News"]
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous = OFF")
    start = date(2000, 1, 1)
    batch = 50_000
    with connection:
        for first in range(0, rows, batch):
            releases = []
            facet_rows = []
            for n in range(first, min(first + batch, rows)):
                title = " ".join(rng.choices(WORDS, k=8))
                summary = " ".join(rng.choices(WORDS, k=30))
                seen = f"2024-05-{1 + n % 28:02d} 12:{n % 60:02d}:00.000000"
                published = (start + timedelta(days=n % 9000)).isoformat() if n % 50 else None
                releases.append(
                    (
                        n + 1,
                        "amnestyusa",
                        f"https://www.amnestyusa.org/press-releases/release-{n}/",
                        title,
                        summary,
                        n % 7 == 0,
                        published,
                        "",
                        types[n % len(types)],
                        types[n % len(types)],
                        "label",
                        f"{n:064x}",
                        seen,
                        seen,
                        seen,
                    )
                )
                if n % 3 == 0:
                    facet_rows.append((n + 1, facets[n % 2], seen))
                if n % 9 == 0:
                    facet_rows.append((n + 1, facets[2], seen))
            connection.executemany(
                "INSERT INTO releases (id, source, url, title, summary, summary_truncated,"
                " published_on, date_raw, type, type_raw, type_source, content_hash,"
                " first_seen_at, last_seen_at, content_since)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                releases,
            )
            connection.executemany(
                "INSERT OR IGNORE INTO release_facets (release_id, facet, first_seen_at)"
                " VALUES (?, ?, ?)",
                facet_rows,
            )
    connection.close()


def child(code: str, *args: str) -> dict[str, float]:
    """Run `code` in a fresh interpreter; it prints its own rows, seconds and peak memory."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    quick = os.environ.get("ARCHIVER_BENCH_QUICK") == "1"  # make bench --quick: a smoke run
    parser.add_argument(
        "--rows", type=int, default=20_000 if quick else 1_000_000, help="releases to store"
    )
    parser.add_argument("--db", type=Path, help="archive file to (re)use [default: temporary]")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (best time wins)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--fill-only", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.fill_only:
        fill(options.db, options.rows)
        return

    folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
    db = options.db or folder / "archive.db"
    if not db.exists():
        started = time.perf_counter()
        # In a child: Linux carries a parent's peak RSS into children it forks, so a parent that
        # held the fill's batches would inflate every measurement below.
        subprocess.run(
            [sys.executable, __file__, "--fill-only", "--rows", str(options.rows), "--db", str(db)],
            cwd=REPO,
            check=True,
        )
        print(
            f"filled {db} with {options.rows:,} releases in {time.perf_counter() - started:.1f} s"
        )

    # Alternate the two, best time of --repeat each: a shared machine's load hits both alike.
    exports, baselines = [], []
    for _ in range(options.repeat):
        exports.append(child(EXPORT_CHILD, f"sqlite:///{db}", str(folder / "export.csv")))
        baselines.append(child(BASELINE_CHILD, str(db), str(folder / "baseline.csv")))
    export = min(exports, key=lambda run: run["seconds"])
    export["peak_kb"] = max(run["peak_kb"] for run in exports)
    baseline = min(baselines, key=lambda run: run["seconds"])
    baseline["peak_kb"] = max(run["peak_kb"] for run in baselines)

    export_rate = export["rows"] / export["seconds"]
    baseline_rate = baseline["rows"] / baseline["seconds"]
    print()
    print(f"{'':28} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak RSS':>9}")
    for name, run, rate in (
        ("archiver export (CSV)", export, export_rate),
        ("raw sqlite3 + csv.writer", baseline, baseline_rate),
    ):
        print(
            f"{name:28} {run['rows']:>10,} {run['seconds']:>8.1f} {rate:>10,.0f}"
            f" {run['peak_kb'] / 1024:>6.0f} MB"
        )
    print(f"best of {options.repeat} runs each, alternated")
    print(f"ratio export/baseline: {export_rate / baseline_rate:.2f} (target >= 0.5)")
    print(f"export peak memory: {export['peak_kb'] / 1024:.0f} MB (target < 150 MB)")
    sizes = {p.name: p.stat().st_size for p in folder.glob("*.csv")}
    print(
        "files:", ", ".join(f"{name} {size / 1e6:.0f} MB" for name, size in sorted(sizes.items()))
    )
    ratio = export_rate / baseline_rate
    peak_mb = export["peak_kb"] / 1024
    result = {
        "name": "export",
        "metric": "CSV rows/s vs raw sqlite3 + csv.writer",
        "value": round(export_rate),
        "baseline": round(baseline_rate),
        "ratio": round(ratio, 3),
        "target": 0.5,
        "passed": ratio >= 0.5 and peak_mb < 150,
        "peak_mb": round(peak_mb),
    }
    print("BENCH-RESULT " + json.dumps(result))
    if options.keep:
        print(f"kept {folder}")
    else:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
