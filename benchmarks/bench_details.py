"""Release (detail) pages: the archiver's enrichment path against trafilatura alone, and the body
text it reads against the local copy's ground truth (issue 16).

    .venv/bin/python benchmarks/bench_details.py [--rounds 5] [--quick]

The pages are the local copy's release pages, every one that answers 200
(`archiver.demo.details.detail_pages(build_dataset())`: 204 pages of about 8 KB, in the site's
markup, with its quirks: pages with JSON-LD and OpenGraph, with one of them, or with only a
visible date; figures with captions and credits, press-contact boxes, related releases, Spanish
pages, moved pages), given as UTF-8 bytes as a crawl gets them.

1. Speed: pages per second, `--rounds` rounds (5; 1 with `--quick`) over every page, two ways:

   (a) the reference, what a user who wants a release's text would write:
       `trafilatura.extract(body.decode("utf-8"), include_comments=False, include_tables=False)`
       per page, nothing else;
   (b) the archiver's whole enrichment path after the download, as its pipeline runs it:
       `archiver.extract.detail.extract_detail(body, url, encoding="utf-8")`, a
       `archiver.items.DetailItem` per page (as `spiders/release_pages.py` builds it: status
       200, the final URL, `redirected` for a moved page), and every 50 items (the pipeline's
       `ARCHIVER_DETAILS_BATCH`) one `archiver.db.write_transaction` with
       `archiver.db.details.write_details`: the release looked up, the listing cross-checks,
       the `release_texts` upsert and the search index's triggers (FTS5), into a fresh SQLite
       archive per round. The archive (`open_archive(url, create=True)`) holds the dataset's
       releases, stored through the real store layer (`ReleaseStore.write_batch`) from the
       newsroom's listing pages as the spider reads them (`extract_listing`,
       `ReleaseItem.from_card`, `normalize_in_place`, `validate_item`); building it, copying it
       for each round and opening the engine are not timed. The items are stored as first
       reads: each round finds no text stored, as a crawl of new releases does.

   The two ways take turns batch by batch (50 pages of trafilatura, the same 50 through the
   archiver's path, the next 50 the other way round, ...): a shared machine's load drifts over
   seconds, and whole rounds taking turns gave per-round ratios from 0.89 to 1.77 in one run,
   batches 0.89 to 1.08. The figure is the median over rounds of the per-round ratio, pages/s
   (b) / pages/s (a), by wall clock and by CPU time (`time.process_time`, the steadier on a
   busy machine); each batch's fastest round, summed, is printed beside it as a check. Target
   >= 0.7. Before the first round one untimed round warms imports and caches (round 0).

   In-process on purpose: the network part of a crawl with `--details` is the same Scrapy
   downloader as for listing pages (robots.txt, delay, AutoThrottle, retries), which
   `bench_crawl.py` measures against plain Scrapy; a local HTTP crawl here would measure that
   downloader again (the reference has none to compare it with) and add a server's noise to
   the ratio. Also left out, for the same reason: the WARC record of each page (the same
   `warcio` writer as for listing pages). The one release whose listing card shows no date is
   stored with the dataset's date: a crawl refuses that card, so would never ask for its page.

2. Accuracy: the body text against the ground truth (`DetailTruth.body`), word by word:
   `body.split()` for both, the words in common counted as a bag (`Counter` intersection),
   summed over all pages (micro-average): precision = common / extracted words, recall =
   common / true words. Also each page's lowest precision and recall, and how many pages
   come out exact (the same text) or with the same words in the same order. For the archiver's
   extractor (target >= 0.98 each), and for trafilatura alone as a reference (no target).

Three `BENCH-RESULT` lines (benchmarks/run_all.py's protocol): `details` (the archiver's path,
pages/s against trafilatura alone, target 0.7), `details-precision` and `details-recall` (the
fraction of words right, compared with the ground truth's 1.0, target 0.98). Exit 0; 1 only when
the path did not store every page (then nothing it timed is a result). `ARCHIVER_BENCH_QUICK=1`
or `--quick` runs it in a few seconds. A script, not a test: timings are never asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trafilatura
from sqlalchemy import Engine, select, text

from archiver.db import open_archive, write_transaction
from archiver.db.details import DetailCounts, write_details
from archiver.db.runs import open_run
from archiver.db.store import ReleaseStore
from archiver.db.tables import RELEASES
from archiver.demo.dataset import Dataset, DemoRelease, build_dataset, format_site_date
from archiver.demo.details import SITE, DetailTruth, detail_pages
from archiver.demo.render import CANONICAL, listing_path, render_page
from archiver.extract import extract_listing
from archiver.extract.detail import extract_detail
from archiver.items import DetailItem, ReleaseItem
from archiver.normalize import normalize_in_place, validate_item

SPEED_TARGET = 0.7
ACCURACY_TARGET = 0.98
DEFAULT_ROUNDS, QUICK_ROUNDS = 5, 1
#: Items per write transaction: the release-page pipeline's ARCHIVER_DETAILS_BATCH.
BATCH = 50
SOURCE = "amnestyusa"
#: trafilatura's options in the reference, as a user calls it for a page's body text.
TRAFILATURA_CALL = (
    'trafilatura.extract(body.decode("utf-8"), include_comments=False, include_tables=False)'
)


@dataclass(frozen=True, slots=True)
class Page:
    """One release page as the crawl fetches it, with the truth about it."""

    release: DemoRelease
    url: str  # where the page answers (a moved release's new URL)
    body: bytes
    truth: DetailTruth

    @property
    def requested_url(self) -> str:
        """What the crawl asked for: the release's URL as archived (moved pages redirect)."""
        return self.release.canonical_url

    @property
    def redirected(self) -> bool:
        return self.url != self.requested_url


def load_pages(dataset: Dataset) -> list[Page]:
    """Every release page of the local copy that answers 200, in path order."""
    by_path = {release.page_path: release for release in dataset.releases}
    return [
        Page(by_path[path], SITE + path, body, truth) for path, body, truth in detail_pages(dataset)
    ]


# ------------------------------------------------------------------------ the archive ---------


def release_items(dataset: Dataset, fetched_at: datetime) -> list[ReleaseItem]:
    """The newsroom's releases as the spider reads them from its listing pages, normalised and
    valid (what the store pipeline gets).

    The one card the local copy shows without a date is refused by validation, so a crawl
    never stores that release nor asks for its page; here it gets its date from the dataset, so
    that both ways read the same pages.
    """
    by_url = {release.canonical_url: release for release in dataset.releases}
    listing = dataset.pages(None)
    items = []
    for number, releases in enumerate(listing, start=1):
        url = CANONICAL + listing_path(None, number)
        html = render_page("current", releases, None, number, len(listing)).encode("utf-8")
        for card in extract_listing(html, url, encoding="utf-8").cards:
            item = ReleaseItem.from_card(card, source=SOURCE, facet=None, fetched_at=fetched_at)
            normalize_in_place(item)
            if validate_item(item, fetched_at.date()) == ["missing_date"]:
                card.date = format_site_date(by_url[item.url].published_on)
                item = ReleaseItem.from_card(card, source=SOURCE, facet=None, fetched_at=fetched_at)
                normalize_in_place(item)
            if not validate_item(item, fetched_at.date()):
                items.append(item)
    return items


@dataclass(slots=True)
class Archive:
    """A SQLite archive holding the dataset's releases (copied for every timed round)."""

    path: Path
    run_id: int
    release_ids: dict[str, int]  # release URL -> id
    triggers: list[str]


def build_archive(folder: Path, dataset: Dataset) -> Archive:
    """Create an archive and store the dataset's releases through the store layer (untimed)."""
    path = folder / "template.db"
    now = datetime.now(UTC)
    engine = open_archive(f"sqlite:///{path}", create=True)
    try:
        with write_transaction(engine) as connection:
            run_id = open_run(connection, spider=SOURCE, now=now)
        store = ReleaseStore(run_id)
        with write_transaction(engine) as connection:
            batch = store.write_batch(connection, release_items(dataset, now), now=now)
        store.commit(batch)
        with engine.connect() as connection:
            rows = connection.execute(select(RELEASES.c.url, RELEASES.c.id))
            ids = {url: release_id for url, release_id in rows}
            triggers = list(
                connection.execute(
                    text(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                        "AND name LIKE 'release_search_text%' ORDER BY name"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()
    # Everything into the main file, so that copying it copies the whole archive.
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Archive(path, run_id, ids, triggers)


def copy_archive(archive: Archive, folder: Path, name: str) -> tuple[str, Path]:
    """A fresh copy of the archive (no release text stored yet): its URL and path."""
    path = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(archive.path, path)
    return f"sqlite:///{path}", path


# ---------------------------------------------------------------------- the two ways -----------


def read_trafilatura(pages: Sequence[Page]) -> list[str | None]:
    """(a) The reference: trafilatura alone, as a user calls it for the body text."""
    return [
        trafilatura.extract(page.body.decode("utf-8"), include_comments=False, include_tables=False)
        for page in pages
    ]


def archiver_batch(
    pages: Sequence[Page], engine: Engine, release_ids: dict[str, int], run_id: int
) -> tuple[DetailCounts, float]:
    """(b) The archiver's path after the download, for one batch of pages: read each page, build
    its DetailItem, write them all in one transaction (release_texts and the search index's
    triggers). Returns the counts and the CPU seconds spent in `extract_detail` alone."""
    extract_cpu = 0.0
    items: list[DetailItem] = []
    for page in pages:
        item = DetailItem(
            release_id=release_ids[page.release.canonical_url],
            source=SOURCE,
            release_url=page.release.canonical_url,
            requested_url=page.requested_url,
            fetched_at=datetime.now(UTC),
            http_status=200,
            final_url=page.url,
            redirected=page.redirected,
        )
        started = time.process_time()
        item.page = extract_detail(page.body, page.url, encoding="utf-8")
        extract_cpu += time.process_time() - started
        items.append(item)
    with write_transaction(engine) as connection:
        counts = write_details(connection, items, run_id)
    return counts, extract_cpu


WAYS = ("trafilatura", "archiver")


@dataclass(slots=True)
class Round:
    """One round: every page read both ways, batch by batch; seconds per batch and way."""

    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]
    extract_cpu: float  # the archiver's CPU seconds in extract_detail alone

    def total(self, way: str, clock: str) -> float:
        return sum(getattr(self, clock)[way])


@dataclass(slots=True)
class Stored:
    """What one round's archiver path left in its archive (checked after the timing)."""

    counts: DetailCounts
    texts: int  # release_texts rows with a body
    indexed: int  # search index rows with a body


def run_round(
    pages: Sequence[Page], archive: Archive, folder: Path, number: int
) -> tuple[Round, Stored]:
    """Both ways over every page, a batch of BATCH pages at a time, taking turns batch by batch
    (the order alternating), the archiver's path writing into a fresh copy of the archive."""
    url, path = copy_archive(archive, folder, f"round-{number}")
    engine = open_archive(url)
    result = Round({way: [] for way in WAYS}, {way: [] for way in WAYS}, 0.0)
    counts = DetailCounts()
    try:
        with engine.connect() as connection:  # the pool's connection made before the clock
            connection.execute(text("SELECT 1"))
        for index, start in enumerate(range(0, len(pages), BATCH)):
            batch = pages[start : start + BATCH]
            for way in WAYS if (number + index) % 2 == 0 else WAYS[::-1]:
                gc.collect()
                wall, cpu = time.perf_counter(), time.process_time()
                if way == "trafilatura":
                    read_trafilatura(batch)
                else:
                    done, extract_cpu = archiver_batch(
                        batch, engine, archive.release_ids, archive.run_id
                    )
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                result.wall[way].append(wall)
                result.cpu[way].append(cpu)
            counts = counts + done
            result.extract_cpu += extract_cpu
        with engine.connect() as connection:
            texts = connection.execute(
                text("SELECT count(*) FROM release_texts WHERE body <> ''")
            ).scalar_one()
            indexed = connection.execute(
                text("SELECT count(*) FROM release_search WHERE body <> ''")
            ).scalar_one()
    finally:
        engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return result, Stored(counts, texts, indexed)


# ------------------------------------------------------------------------- accuracy -----------


@dataclass(slots=True)
class Accuracy:
    """Word-level agreement of extracted bodies with the true ones."""

    pages: int
    extracted_words: int
    true_words: int
    common_words: int
    min_precision: float
    min_recall: float
    exact: int  # the same text
    same_words: int  # the same words in the same order (whitespace aside)
    worst: list[tuple[float, str]]  # (lower of precision and recall, page URL), worst first

    @property
    def precision(self) -> float:
        return self.common_words / self.extracted_words if self.extracted_words else 0.0

    @property
    def recall(self) -> float:
        return self.common_words / self.true_words if self.true_words else 1.0


def score(pages: Sequence[Page], bodies: Sequence[str | None]) -> Accuracy:
    """Micro-averaged bag-of-words precision and recall of `bodies` against the truth.

    >>> from types import SimpleNamespace as NS
    >>> page = NS(url="u", truth=NS(body="a b b c"))
    >>> result = score([page], ["a b x"])
    >>> (result.common_words, round(result.precision, 3), result.recall)
    (2, 0.667, 0.5)
    """
    extracted_total = true_total = common_total = exact = same = 0
    per_page: list[tuple[float, float, str]] = []
    for page, body in zip(pages, bodies, strict=True):
        found, truth = (body or "").split(), page.truth.body.split()
        common = sum((Counter(found) & Counter(truth)).values())
        extracted_total += len(found)
        true_total += len(truth)
        common_total += common
        precision = common / len(found) if found else (1.0 if not truth else 0.0)
        recall = common / len(truth) if truth else 1.0
        per_page.append((precision, recall, page.url))
        exact += body == page.truth.body
        same += found == truth
    per_page.sort(key=lambda entry: min(entry[0], entry[1]))
    return Accuracy(
        pages=len(pages),
        extracted_words=extracted_total,
        true_words=true_total,
        common_words=common_total,
        min_precision=min((p for p, _, _ in per_page), default=1.0),
        min_recall=min((r for _, r, _ in per_page), default=1.0),
        exact=exact,
        same_words=same,
        worst=[(min(p, r), url) for p, r, url in per_page[:3] if min(p, r) < 1.0],
    )


# --------------------------------------------------------------------------- report -----------


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


WAY_NAMES = {
    "trafilatura": "(a) trafilatura alone",
    "archiver": "(b) archiver's whole path",
}


def report(
    pages: int, rounds: Sequence[Round], archiver: Accuracy, reference: Accuracy
) -> list[dict[str, Any]]:
    """Print the tables and return the BENCH-RESULT records (speed first)."""
    rows = [["way", "pages/s", "ms/page", "CPU pages/s", "CPU ms/page", "rounds"]]
    median: dict[tuple[str, str], float] = {}
    for way, name in WAY_NAMES.items():
        for clock in ("wall", "cpu"):
            median[(way, clock)] = statistics.median(r.total(way, clock) for r in rounds)
        wall, cpu = median[(way, "wall")], median[(way, "cpu")]
        rows.append(
            [
                name,
                f"{pages / wall:,.1f}",
                f"{wall / pages * 1e3:.2f}",
                f"{pages / cpu:,.1f}",
                f"{cpu / pages * 1e3:.2f}",
                str(len(rounds)),
            ]
        )
    print(f"\n{pages} release pages per round, both ways in turns of {BATCH}; medians of rounds")
    print(_table(rows))
    extract = statistics.median(r.extract_cpu for r in rounds) / pages * 1e3
    rest = statistics.median(r.total("archiver", "cpu") - r.extract_cpu for r in rounds)
    print(
        f"(b)'s CPU per page: extract_detail {extract:.2f} ms; the DetailItem, write_details "
        f"and the search triggers {rest / pages * 1e3:.2f} ms"
    )

    ratios = {
        clock: [r.total("trafilatura", clock) / r.total("archiver", clock) for r in rounds]
        for clock in ("wall", "cpu")
    }

    def fastest(way: str, clock: str) -> float:
        """Each batch's fastest round, summed: the least disturbed time (a check)."""
        per_batch = zip(*(getattr(r, clock)[way] for r in rounds), strict=True)
        return sum(min(values) for values in per_batch)

    ratio_rows = [["archiver / trafilatura pages/s", "median", "min", "max", "fastest", "target"]]
    for clock, label in (("wall", "wall clock"), ("cpu", "CPU time")):
        values = ratios[clock]
        ratio_rows.append(
            [
                label,
                f"{statistics.median(values):.3f}",
                f"{min(values):.3f}",
                f"{max(values):.3f}",
                f"{fastest('trafilatura', clock) / fastest('archiver', clock):.3f}",
                f">= {SPEED_TARGET}",
            ]
        )
    print("\n(per round; 'fastest': each batch's fastest round, summed, both ways)")
    print(_table(ratio_rows))
    wall_ratio, cpu_ratio = statistics.median(ratios["wall"]), statistics.median(ratios["cpu"])

    accuracy_rows = [
        [
            "body text vs truth",
            "precision",
            "recall",
            "min precision",
            "min recall",
            "exact pages",
            "same words",
            "words",
        ]
    ]
    for name, result in (
        ("(b) archiver (extract_detail)", archiver),
        ("(a) trafilatura alone", reference),
    ):
        accuracy_rows.append(
            [
                name,
                f"{result.precision:.4f}",
                f"{result.recall:.4f}",
                f"{result.min_precision:.3f}",
                f"{result.min_recall:.3f}",
                f"{result.exact}/{result.pages}",
                f"{result.same_words}/{result.pages}",
                f"{result.extracted_words:,}/{result.true_words:,}",
            ]
        )
    print("\nword-level accuracy, micro-averaged over all pages (words: extracted/true)")
    print(_table(accuracy_rows))
    for name, result in (("archiver", archiver), ("trafilatura", reference)):
        if result.worst:
            worst = ", ".join(f"{url} ({value:.3f})" for value, url in result.worst)
            print(f"{name}'s lowest pages (lower of precision and recall): {worst}")

    verdict = {True: "pass", False: "MISSED"}
    print(
        f"\nverdict: archiver / trafilatura = {wall_ratio:.3f} pages/s, {cpu_ratio:.3f} CPU "
        f"(target >= {SPEED_TARGET}): {verdict[wall_ratio >= SPEED_TARGET]}; precision "
        f"{archiver.precision:.4f}, recall {archiver.recall:.4f} (target >= "
        f"{ACCURACY_TARGET} each): "
        f"{verdict[min(archiver.precision, archiver.recall) >= ACCURACY_TARGET]}"
    )
    rates = {way: pages / median[(way, "wall")] for way in WAY_NAMES}
    return [
        {
            "name": "details",
            "metric": "release pages/s, extract + store + search index vs trafilatura alone",
            "value": round(rates["archiver"], 1),
            "baseline": round(rates["trafilatura"], 1),
            "ratio": round(wall_ratio, 3),  # the median of the rounds' ratios, as in the table
            "target": SPEED_TARGET,
            "passed": wall_ratio >= SPEED_TARGET,
            "cpu_ratio": round(cpu_ratio, 3),
        },
        *[
            {
                "name": f"details-{name}",
                "metric": f"body word {name} vs the local copy's truth (1.0 = every word)",
                "value": round(value, 4),
                "baseline": 1.0,
                "ratio": round(value, 4),
                "target": ACCURACY_TARGET,
                "passed": value >= ACCURACY_TARGET,
                "trafilatura": round(reference_value, 4),
            }
            for name, value, reference_value in (
                ("precision", archiver.precision, reference.precision),
                ("recall", archiver.recall, reference.recall),
            )
        ],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Exit status 1 when a round of the archiver's path did not store and index "
        "every page.",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help=f"timed rounds of each way over every page [{DEFAULT_ROUNDS}; quick {QUICK_ROUNDS}]",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("ARCHIVER_BENCH_QUICK") == "1",
        help=f"smoke run of a few seconds: {QUICK_ROUNDS} round (or ARCHIVER_BENCH_QUICK=1)",
    )
    parser.add_argument("--dir", type=Path, default=None, help="folder for the archive files")
    options = parser.parse_args(argv)
    rounds = options.rounds or (QUICK_ROUNDS if options.quick else DEFAULT_ROUNDS)
    if rounds < 1:
        parser.error("--rounds must be at least 1")

    dataset = build_dataset()
    pages = load_pages(dataset)
    print(
        f"details benchmark: {len(pages)} release pages of the local copy "
        f"({sum(len(p.body) for p in pages) / len(pages) / 1000:.1f} KB on average), "
        f"{rounds} round(s); {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"trafilatura {trafilatura.__version__}"
    )
    print(f"reference: {TRAFILATURA_CALL} per page")

    # Accuracy first (also the extractors' warm-up): the bodies each way reads.
    archiver_bodies = [extract_detail(p.body, p.url, encoding="utf-8").body for p in pages]
    archiver_accuracy = score(pages, archiver_bodies)
    reference_accuracy = score(pages, read_trafilatura(pages))

    with tempfile.TemporaryDirectory(prefix="bench-details-", dir=options.dir) as tmp:
        folder = Path(tmp)
        archive = build_archive(folder, dataset)
        missing = [p.url for p in pages if p.release.canonical_url not in archive.release_ids]
        if missing:
            print(f"error: {len(missing)} page(s) have no stored release: {missing[:3]}")
            return 1
        print(
            f"archive: {len(archive.release_ids)} releases stored through the store layer; "
            f"search triggers on release_texts: {', '.join(archive.triggers) or 'NONE'}"
        )
        timed: list[Round] = []
        for number in range(rounds + 1):  # round 0: untimed warm-up of both ways
            result, stored = run_round(pages, archive, folder, number)
            if (stored.counts.enriched, stored.texts, stored.indexed) != (len(pages),) * 3:
                print(
                    f"error: round {number} stored {stored.counts.enriched} page(s), "
                    f"{stored.texts} text(s), {stored.indexed} indexed, not {len(pages)}",
                    file=sys.stderr,
                )
                return 1
            if number:
                timed.append(result)
            print(
                f"  round {number}{' (warm-up)' if not number else ''}: trafilatura "
                f"{result.total('trafilatura', 'wall'):.3f} s "
                f"({result.total('trafilatura', 'cpu'):.3f} CPU), archiver "
                f"{result.total('archiver', 'wall'):.3f} s "
                f"({result.total('archiver', 'cpu'):.3f} CPU); stored {stored.texts} texts, "
                f"{sum(stored.counts.disagreements.values())} cross-check disagreement(s)",
                flush=True,
            )
    for record in report(len(pages), timed, archiver_accuracy, reference_accuracy):
        print("BENCH-RESULT " + json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
