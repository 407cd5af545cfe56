"""Write the shipped copy of the demo site under archiver/demo/site/ (package data).

Run `python -m archiver.demo.build` (`make site`) after changing the dataset or the renderers; a
test checks that the shipped files equal a fresh build, so the copy can never drift from the code.
Files: `<layout>/<facet or _all>/page-<N>.html`, `robots.txt`, `manifest.json` (which releases
each filter holds, for tests and for curious users), the release pages
`details/<section>/<slug>.html` (one set for every layout: only the listings differ) and
`details.json` (the moved releases' old path -> new path, the deleted ones' path -> 404/410).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from archiver.demo.dataset import Dataset, build_dataset
from archiver.demo.details import detail_site
from archiver.demo.render import LAYOUT_NAMES, ROBOTS_TXT, SitePages, render_site

SITE_DIR = Path(__file__).with_name("site")
ALL = "_all"


DETAILS = "details"


def _page_file(facet: str | None, page: int) -> str:
    return f"{facet or ALL}/page-{page}.html"


def _detail_file(path: str) -> str:
    """`/press-releases/slug/` -> `details/press-releases/slug.html`."""
    section, slug = path.strip("/").split("/")
    return f"{DETAILS}/{section}/{slug}.html"


def site_files(dataset: Dataset) -> dict[str, bytes]:
    """Every file of the shipped copy, by relative path."""
    files: dict[str, bytes] = {"robots.txt": ROBOTS_TXT.encode()}
    for layout in LAYOUT_NAMES:
        site = render_site(dataset, layout)
        for (facet, page), body in site.pages.items():
            files[f"{layout}/{_page_file(facet, page)}"] = body
    details = detail_site(dataset)
    for path in sorted(details.pages):
        files[_detail_file(path)] = details.pages[path]
    moves = {
        "moved": dict(sorted(details.redirects.items())),
        "gone": dict(sorted(details.gone.items())),
    }
    files[f"{DETAILS}.json"] = (json.dumps(moves, indent=1) + "\n").encode()
    manifest = {
        "about": "The demo copy of amnestyusa.org newsroom listings built by archiver.demo.",
        "filters": {
            facet or ALL: [[r.canonical_url for r in page] for page in dataset.pages(facet)]
            for facet in [None, *sorted({f for r in dataset.releases for f in r.facets})]
        },
        "releases": len(dataset.releases),
        "detail_pages": len(details.pages),
    }
    files["manifest.json"] = (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode()
    return files


def write_site(target: Path = SITE_DIR, dataset: Dataset | None = None) -> int:
    """Replace `target` with a fresh build; returns the number of files written."""
    files = site_files(dataset or build_dataset())
    if target.exists():
        shutil.rmtree(target)
    for relative, body in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return len(files)


def load_site(layout: str = "current", root: Path = SITE_DIR) -> SitePages:
    """The shipped copy in one layout, ready to serve (with the release pages, the same in
    every layout)."""
    if layout not in LAYOUT_NAMES:
        raise ValueError(f"unknown layout {layout!r} (choose from {', '.join(LAYOUT_NAMES)})")
    site = SitePages(layout=layout, robots_txt=(root / "robots.txt").read_text())
    for path in sorted((root / layout).glob("*/page-*.html")):
        facet = None if path.parent.name == ALL else path.parent.name
        site.pages[(facet, int(path.stem.removeprefix("page-")))] = path.read_bytes()
    if not site.pages:
        raise FileNotFoundError(f"no demo pages under {root / layout}")
    for path in sorted((root / DETAILS).glob("*/*.html")):
        site.details[f"/{path.parent.name}/{path.stem}/"] = path.read_bytes()
    moves_file = root / f"{DETAILS}.json"
    if moves_file.exists():
        moves = json.loads(moves_file.read_text(encoding="utf-8"))
        site.redirects = dict(moves["moved"])
        site.gone = {path: int(status) for path, status in moves["gone"].items()}
    return site


if __name__ == "__main__":
    print(f"wrote {write_site()} files under {SITE_DIR}")
