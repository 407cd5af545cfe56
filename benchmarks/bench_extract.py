"""The extractor before and after issue 15 ("resilient extraction"), on the same pages.

    .venv/bin/python benchmarks/bench_extract.py [--pages 300] [--repeats 7] [--quick]

Issue 15 made `archiver.extract.extract_listing` look for a field by its role in the card when a
layout's selectors miss it, and search a page no known layout matches for its listing by
structure alone (the fallback layout). Its performance requirement: the selector path must stay
within 5 % of the extractor before the issue. Three ways of reading listing pages are timed:

(a) before: `extract_before.extract_listing`, the extractor of commit f185935 frozen in
    `benchmarks/extract_before.py` (the baseline; it imports nothing of the archiver);
(b) selector path: today's `extract_listing` on the same pages, where a known layout matches;
(c) fallback path: today's `extract_listing` on the same pages with the card class renamed
    (`card-md`, `card-group` -> `teaser-v3`), so no known layout matches and the structural
    fallback reads every card.

The pages are the demo site's (`archiver.demo.render.render_page`, with the dataset's quirks:
cards without a label, an image, a caption or a date), `--pages` listing pages of 10 cards in
each of the "current" and "previous" layouts, the dataset copied as `sitegen.py` does when more
are asked for. Every page is given as bytes in UTF-8, as a crawl gives it.

Before anything is timed, every page is read all three ways and compared: (b) must give the
cards (a) gives, field by field (url, title, date, summary and its HTML, label, image, caption,
credit, position, layout) with the same next-page link, and (c) as many cards as (a) from the
fallback layout. Any difference ends the run with exit status 1: a faster extractor that reads
something else is no result. What is timed is the CPU time (`time.process_time`) of reading a
slice of 2 pages one way, the garbage collector off as in `timeit`. The three ways take turns
slice by slice (their order rotating), `--repeats` rounds over all pages; a rate comes from
each slice's fastest round, summed (on a shared machine the least disturbed figure, and steady
from run to run), with the median of the per-round ratios printed beside it.

Two `BENCH-RESULT` lines (benchmarks/run_all.py's protocol): `extract`, the selector path's
cards/s against the extractor before the issue (target 0.95), and `extract-fallback`, the
fallback path against the selector path (informational, no target). `ARCHIVER_BENCH_QUICK=1`
or `--quick` runs it in a few seconds. A script, not a test: timings are never asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import extract_before  # noqa: E402
from sitegen import scaled_dataset  # noqa: E402

from archiver.demo.render import CANONICAL, listing_path, render_page  # noqa: E402
from archiver.extract import extract_listing  # noqa: E402

TARGET_RATIO = 0.95
LAYOUTS = ("current", "previous")
#: The class that makes an element a card in each layout (archiver/extract/layouts.py: CURRENT
#: `.card-md`, PREVIOUS `a.card-group`), and what it becomes on the fallback path's pages. Every
#: occurrence is renamed, so `card-md--tag` and the like go too.
CARD_CLASS = {"current": b"card-md", "previous": b"card-group"}
RENAMED_CLASS = b"teaser-v3"
#: The three ways a page is read, in the tables' order.
PATHS = ("before", "selector", "fallback")
PATH_NAMES = {
    "before": "(a) before issue 15",
    "selector": "(b) selector path",
    "fallback": "(c) fallback path",
}
DEFAULT_PAGES, QUICK_PAGES = 300, 30
DEFAULT_REPEATS, QUICK_REPEATS = 7, 3
#: Pages each way reads in turn while timed (see `measure`).
SLICE = 2


@dataclass(slots=True)
class PageSet:
    """One layout's listing pages as a crawl gets them, and the same pages with the card class
    renamed (what the fallback path reads)."""

    layout: str
    urls: list[str]
    bodies: list[bytes]
    renamed: list[bytes]

    @property
    def pages(self) -> int:
        return len(self.urls)

    def slice(self, start: int, stop: int) -> PageSet:
        """Pages `start` to `stop` (exclusive) of this set."""
        return PageSet(
            self.layout, self.urls[start:stop], self.bodies[start:stop], self.renamed[start:stop]
        )


def rename_cards(body: bytes, layout: str) -> bytes:
    """The page with its card class renamed, so that no known layout's card selector matches.

    >>> rename_cards(b'<div class="card-md h-full"><p class="card-md--tag">', "current")
    b'<div class="teaser-v3 h-full"><p class="teaser-v3--tag">'
    """
    return body.replace(CARD_CLASS[layout], RENAMED_CLASS)


def build_pages(pages: int, layouts: Sequence[str] = LAYOUTS) -> list[PageSet]:
    """`pages` listing pages of 10 cards in each layout, from the demo dataset (copied as
    `sitegen.py` does when it holds fewer releases); page URLs on the canonical host."""
    listing = scaled_dataset(pages * 10).pages(None)
    sets = []
    for layout in layouts:
        urls, bodies = [], []
        for number, releases in enumerate(listing, start=1):
            urls.append(CANONICAL + listing_path(None, number))
            body = render_page(layout, releases, None, number, len(listing)).encode("utf-8")
            bodies.append(body)
        renamed = [rename_cards(body, layout) for body in bodies]
        sets.append(PageSet(layout, urls, bodies, renamed))
    return sets


def read_before(page_set: PageSet) -> list[Any]:
    return [
        extract_before.extract_listing(body, url, encoding="utf-8")
        for body, url in zip(page_set.bodies, page_set.urls, strict=True)
    ]


def read_selector(page_set: PageSet) -> list[Any]:
    return [
        extract_listing(body, url, encoding="utf-8")
        for body, url in zip(page_set.bodies, page_set.urls, strict=True)
    ]


def read_fallback(page_set: PageSet) -> list[Any]:
    return [
        extract_listing(body, url, encoding="utf-8")
        for body, url in zip(page_set.renamed, page_set.urls, strict=True)
    ]


READERS: dict[str, Callable[[PageSet], list[Any]]] = {
    "before": read_before,
    "selector": read_selector,
    "fallback": read_fallback,
}

#: The fields a card had before the issue: what the selector path must give unchanged.
CARD_FIELDS = tuple(item.name for item in fields(extract_before.RawCard))
PAGE_FIELDS = ("layout", "next_url", "decoded_as")


def differences(before: Any, after: Any) -> list[str]:
    """How the selector path's reading of a page differs from the baseline's ([] when alike)."""
    found = [
        f"{name}: {getattr(before, name)!r} -> {getattr(after, name)!r}"
        for name in PAGE_FIELDS
        if getattr(before, name) != getattr(after, name)
    ]
    if len(before.cards) != len(after.cards):
        found.append(f"cards: {len(before.cards)} -> {len(after.cards)}")
    for old, new in zip(before.cards, after.cards, strict=False):
        found += [
            f"card {old.position} {name}: {getattr(old, name)!r} -> {getattr(new, name)!r}"
            for name in CARD_FIELDS
            if getattr(old, name) != getattr(new, name)
        ]
    return found


@dataclass(slots=True)
class Check:
    """What the three readings of every page gave, before any timing."""

    cards: dict[str, int]  # cards per layout (the baseline's count)
    mismatches: list[str]  # "page: difference", the selector path against the baseline
    fallback_mismatches: list[str]  # pages where the fallback path's card count differs
    # Selector path: fields no selector of the layout found (left to structure), by field.
    selector_missed: dict[str, int]
    selector_by_structure: dict[str, int]  # ... of which structure found one, by field
    # Fallback path: cards whose field equals the baseline's, by field.
    fallback_agrees: dict[str, int]

    @property
    def passed(self) -> bool:
        return not self.mismatches and not self.fallback_mismatches


def check(sets: Sequence[PageSet]) -> Check:
    """Read every page all three ways and compare (this is also the timing's warm-up)."""
    result = Check({}, [], [], {}, {}, {})
    roles = ("link", "title", "date", "label", "image", "caption", "credit", "summary")
    for page_set in sets:
        before = read_before(page_set)
        selector = read_selector(page_set)
        fallback = read_fallback(page_set)
        result.cards[page_set.layout] = sum(len(listing.cards) for listing in before)
        for url, old, new, structural in zip(
            page_set.urls, before, selector, fallback, strict=True
        ):
            where = f"{page_set.layout} {url}"
            if not old.cards or old.layout != page_set.layout:
                result.mismatches.append(
                    f"{where}: the baseline read {len(old.cards)} card(s) as {old.layout!r}"
                )
            result.mismatches += [f"{where}: {problem}" for problem in differences(old, new)]
            if structural.layout != "fallback" or len(structural.cards) != len(old.cards):
                result.fallback_mismatches.append(
                    f"{where}: fallback path read {len(structural.cards)} card(s) as "
                    f"{structural.layout!r}, the baseline {len(old.cards)}"
                )
            for card in new.cards:
                for role in roles:
                    how = card.found.get(role)
                    if how != "selector":
                        result.selector_missed[role] = result.selector_missed.get(role, 0) + 1
                    if how == "structure":
                        count = result.selector_by_structure.get(role, 0) + 1
                        result.selector_by_structure[role] = count
            for old_card, card in zip(old.cards, structural.cards, strict=False):
                for name in CARD_FIELDS:
                    if name != "layout" and getattr(old_card, name) == getattr(card, name):
                        result.fallback_agrees[name] = result.fallback_agrees.get(name, 0) + 1
    return result


@dataclass(slots=True)
class Timings:
    """CPU seconds of every slice of pages read each way in every round:
    `seconds[(path, layout)][round][slice]`."""

    seconds: dict[tuple[str, str], list[list[float]]]

    @property
    def repeats(self) -> int:
        return len(next(iter(self.seconds.values())))

    def best(self, path: str, layouts: Sequence[str]) -> float:
        """The least disturbed time to read the layouts' pages: each slice's fastest round,
        summed (a slice's rounds differ only by what else the machine was doing)."""
        return sum(
            min(per_round)
            for layout in layouts
            for per_round in zip(*self.seconds[(path, layout)], strict=True)
        )

    def rounds(self, path: str, layouts: Sequence[str]) -> list[float]:
        """Seconds per round to read the layouts' pages (every slice of the round, summed)."""
        per_layout = [
            [sum(slices) for slices in self.seconds[(path, layout)]] for layout in layouts
        ]
        return [sum(values) for values in zip(*per_layout, strict=True)]


def measure(sets: Sequence[PageSet], repeats: int) -> Timings:
    """Time every way on every slice of `SLICE` pages, `repeats` rounds.

    The three ways take turns on each slice (the order rotating from slice to slice, so none
    always runs first or right after another): a shared machine's load drifts over seconds, and
    weighs alike on readings milliseconds apart. The collector is off while a way is timed, as in
    `timeit`, and what the set-up allocated is frozen out of its way (`gc.freeze`).
    """
    seconds: dict[tuple[str, str], list[list[float]]] = {
        (path, page_set.layout): [] for path in PATHS for page_set in sets
    }
    gc.collect()
    gc.freeze()
    turn = 0
    try:
        for _ in range(repeats):
            for page_set in sets:
                spent: dict[str, list[float]] = {path: [] for path in PATHS}
                for start in range(0, page_set.pages, SLICE):
                    piece = page_set.slice(start, start + SLICE)
                    turn += 1
                    shift = turn % len(PATHS)
                    for path in PATHS[shift:] + PATHS[:shift]:
                        reader = READERS[path]
                        gc.collect()
                        gc.disable()
                        try:
                            started = time.process_time()
                            reader(piece)
                            spent[path].append(time.process_time() - started)
                        finally:
                            gc.enable()
                for path in PATHS:
                    seconds[(path, page_set.layout)].append(spent[path])
    finally:
        gc.unfreeze()
    return Timings(seconds)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(check_result: Check, timings: Timings) -> list[dict[str, Any]]:
    """Print the tables and return the BENCH-RESULT records (the selector path's first)."""
    layouts = list(check_result.cards)
    groups = [(layout, [layout]) for layout in layouts]
    if len(layouts) > 1:
        groups.append(("all", layouts))
    rows = [["way", "layout", "cards", "CPU s", "cards/s", "µs/card", "vs (a)"]]
    rates: dict[tuple[str, str], float] = {}
    for name, group in groups:
        cards = sum(check_result.cards[layout] for layout in group)
        for path in PATHS:
            best = timings.best(path, group)
            rates[(path, name)] = cards / best
            rows.append(
                [
                    PATH_NAMES[path],
                    name,
                    f"{cards:,}",
                    f"{best:.3f}",
                    f"{cards / best:,.0f}",
                    f"{best / cards * 1e6:.1f}",
                    f"{rates[(path, name)] / rates[('before', name)]:.3f}",
                ]
            )
    print(
        f"\nCPU time (time.process_time); per slice of {SLICE} pages the fastest of "
        f"{timings.repeats} round(s), summed"
    )
    print(_table(rows))

    ratio_rows = [["cards/s ratio", "layout", "fastest", "median of rounds", "target"]]
    for name, group in groups:
        for path, baseline, target in (
            ("selector", "before", f">= {TARGET_RATIO}"),
            ("fallback", "selector", "-"),
        ):
            per_round = [
                base / value
                for value, base in zip(
                    timings.rounds(path, group), timings.rounds(baseline, group), strict=True
                )
            ]
            ratio_rows.append(
                [
                    f"{PATH_NAMES[path][:3]} / {PATH_NAMES[baseline][:3]}",
                    name,
                    f"{rates[(path, name)] / rates[(baseline, name)]:.3f}",
                    f"{statistics.median(per_round):.3f}",
                    target,
                ]
            )
    print()
    print(_table(ratio_rows))

    total = sum(check_result.cards.values())
    missed = ", ".join(
        f"{role} {count:,} ({check_result.selector_by_structure.get(role, 0):,} found)"
        for role, count in sorted(check_result.selector_missed.items())
    )
    print(
        f"\nselector path: fields no selector of the layout found, left to the structural rules "
        f"(over {total:,} cards): {missed or 'none'}"
    )
    agrees = ", ".join(
        f"{name} {check_result.fallback_agrees.get(name, 0) / total:.0%}"
        for name in CARD_FIELDS
        if name != "layout"
    )
    print(f"fallback path: cards equal to the baseline's, field by field: {agrees}")

    key = groups[-1][0]
    before, selector, fallback = (rates[(path, key)] for path in PATHS)
    selector_ratio = selector / before
    verdict = "pass" if selector_ratio >= TARGET_RATIO else "MISSED"
    print(
        f"\nverdict: selector path / before issue 15 = {selector_ratio:.3f} "
        f"(target >= {TARGET_RATIO}): {verdict}; fallback path / selector path = "
        f"{fallback / selector:.3f} (no target)"
    )
    return [
        {
            "name": "extract",
            "metric": "selector path cards/s vs before issue 15",
            "value": round(selector),
            "baseline": round(before),
            "ratio": round(selector_ratio, 3),
            "target": TARGET_RATIO,
            "passed": selector_ratio >= TARGET_RATIO,
        },
        {
            "name": "extract-fallback",
            "metric": "fallback path cards/s vs selector path (same pages, card class renamed)",
            "value": round(fallback),
            "baseline": round(selector),
            "ratio": round(fallback / selector, 3),
            "target": None,
            "passed": None,
        },
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Exit status 1 when the selector path reads any card differently from the "
        "extractor before issue 15, or the fallback path finds a different number of cards.",
    )
    parser.add_argument(
        "--pages",
        type=int,
        help=f"listing pages of 10 cards per layout [{DEFAULT_PAGES:,}; quick {QUICK_PAGES}]",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        help="timed rounds over all pages; per slice of pages the fastest round counts "
        f"[{DEFAULT_REPEATS}; quick {QUICK_REPEATS}]",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("ARCHIVER_BENCH_QUICK") == "1",
        help=f"smoke run of a few seconds: {QUICK_PAGES} pages per layout, {QUICK_REPEATS} "
        "rounds (or ARCHIVER_BENCH_QUICK=1)",
    )
    options = parser.parse_args(argv)
    pages = options.pages or (QUICK_PAGES if options.quick else DEFAULT_PAGES)
    repeats = options.repeats or (QUICK_REPEATS if options.quick else DEFAULT_REPEATS)
    if pages < 1 or repeats < 1:
        parser.error("--pages and --repeats must be at least 1")

    sets = build_pages(pages)
    print(
        f"extract benchmark: {pages:,} listing pages per layout ({', '.join(LAYOUTS)}), "
        f"{repeats} round(s) of {', '.join(PATHS)}; {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}"
    )
    checked = check(sets)
    if not checked.passed:
        for problem in (checked.mismatches + checked.fallback_mismatches)[:20]:
            print(f"DIFFERENT: {problem}")
        print(
            f"the readings differ ({len(checked.mismatches)} selector-path difference(s), "
            f"{len(checked.fallback_mismatches)} fallback page(s)): nothing timed",
            file=sys.stderr,
        )
        return 1
    cards = sum(checked.cards.values())
    print(
        f"checked: the selector path gives the baseline's {cards:,} cards field by field; the "
        f"fallback path finds as many on every page ({sum(s.pages for s in sets):,} pages "
        "each way)"
    )
    for record in report(checked, measure(sets, repeats)):
        print("BENCH-RESULT " + json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
