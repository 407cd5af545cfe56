"""How fast normalisation is compared with extraction, measured in the same run.

    .venv/bin/python benchmarks/bench_normalize.py [--cards 100000] [--layout current]

Reads the demo site's listing pages (the site's own markup and `Month D, YYYY` dates), extracts
cards from them with the real extractor until at least `--cards` raw cards exist, then normalises
every one of them with the functions the pipeline uses. Prints items/s for both and their ratio;
normalising should cost less than extracting (ratio >= 1.0), which is only possible because the
site's date format never reaches `dateparser`. A script, not a test: timings are never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from importlib import resources
from pathlib import Path

from archiver.extract import extract_listing
from archiver.items import ReleaseItem
from archiver.normalize import dates as dates_module
from archiver.normalize import normalized_fields
from archiver.sites import AMNESTYUSA


def site_pages(layout: str) -> list[tuple[str, str]]:
    """(html, page URL) for every listing page of the shipped demo site in `layout`."""
    root = Path(str(resources.files("archiver.demo") / "site" / layout))
    pages = []
    for path in sorted(root.rglob("page-*.html")):
        facet = path.parent.name
        number = path.stem.removeprefix("page-")
        query = "" if facet == "_all" else "?" + facet
        url = f"https://www.amnestyusa.org/news/page/{number}/{query}"
        pages.append((path.read_text(encoding="utf-8"), url))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    quick = os.environ.get("ARCHIVER_BENCH_QUICK") == "1"  # make bench --quick: a smoke run
    parser.add_argument(
        "--cards", type=int, default=10_000 if quick else 100_000, help="raw cards to normalise"
    )
    parser.add_argument("--layout", default="current", choices=["current", "previous"])
    options = parser.parse_args()

    pages = site_pages(options.layout)
    cards = []
    started = time.perf_counter()
    while len(cards) < options.cards:
        for html, url in pages:
            cards.extend(extract_listing(html, url).cards)
    extract_seconds = time.perf_counter() - started
    extract_rate = len(cards) / extract_seconds

    items = [ReleaseItem.from_card(card, source="amnestyusa", facet=None) for card in cards]
    raws = [
        {
            "page_url": item.page_url,
            "url_raw": item.url_raw,
            "title_raw": item.title_raw,
            "summary_raw": item.summary_raw,
            "summary_html": item.summary_html,
            "date_raw": item.date_raw,
            "type_raw": item.type_raw,
        }
        for item in items
    ]
    dates_module._fallback.cache_clear()
    started = time.perf_counter()
    results = [normalized_fields(raw, AMNESTYUSA) for raw in raws]
    normalize_seconds = time.perf_counter() - started
    normalize_rate = len(results) / normalize_seconds
    fallback = dates_module._fallback.cache_info()
    dated = sum(1 for fields in results if fields["published_on"] is not None)

    print(f"pages: {len(pages)} distinct ({options.layout} layout), cards: {len(cards):,}")
    print(f"extract:   {extract_rate:12,.0f} items/s  ({extract_seconds:.2f} s)")
    print(f"normalize: {normalize_rate:12,.0f} items/s  ({normalize_seconds:.2f} s)")
    print(
        f"ratio normalize/extract throughput: {normalize_rate / extract_rate:.2f} (target >= 1.0)"
    )
    print(
        f"dates parsed: {dated:,}; dateparser fallback calls: {fallback.misses} "
        f"(cache hits {fallback.hits})"
    )
    ratio = normalize_rate / extract_rate
    result = {
        "name": "normalize",
        "metric": "normalize items/s vs extract items/s",
        "value": round(normalize_rate),
        "baseline": round(extract_rate),
        "ratio": round(ratio, 3),
        "target": 1.0,
        "passed": ratio >= 1.0,
    }
    print("BENCH-RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
