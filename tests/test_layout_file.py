"""Layouts from a TOML file (ARCHIVER_EXTRACT_LAYOUTS=mylayouts.toml): read, checked, refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.demo.server import DemoServer
from archiver.errors import ArgumentError
from archiver.extract import extract_listing
from archiver.extract.layout_file import load_layout_file, load_layouts
from archiver.extract.layouts import LAYOUTS
from archiver.outcome import EXIT_USAGE
from tests.plugins.cli import run_cli

TEASER = """
[[layout]]
name = "teaser-2027"
card = [".teaser-v3"]
title = [".teaser-link h3"]
link = [".teaser-link::attr(href)"]
date = [".card-md--tag--hocus"]
label = [".card-md--tag"]
summary = ["p.body-xs"]
"""

PAGE = """<html><body><div class="grid">
<div class="teaser-v3"><span class="card-md--tag">Report</span>
<a class="teaser-link" href="/reports/a/"><h3>First</h3></a>
<p class="body-xs">One.</p><p class="card-md--tag--hocus">June 1, 2026</p></div>
<div class="teaser-v3"><span class="card-md--tag">Update</span>
<a class="teaser-link" href="/updates/b/"><h3>Second</h3></a>
<p class="body-xs">Two.</p><p class="card-md--tag--hocus">June 2, 2026</p></div>
</div></body></html>"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "layouts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_layout_file_reads_the_page_by_its_selectors(tmp_path: Path) -> None:
    layouts = load_layouts(str(write(tmp_path, TEASER)))
    assert [layout.name for layout in layouts] == ["teaser-2027"]
    listing = extract_listing(PAGE, "https://www.amnestyusa.org/news/", layouts)
    assert listing.layout == "teaser-2027"
    assert [(card.title, card.label, card.date) for card in listing.cards] == [
        ("First", "Report", "June 1, 2026"),
        ("Second", "Update", "June 2, 2026"),
    ]
    # Fields the file leaves out (image, caption, credit) are looked for by structure.
    assert listing.cards[0].found == {
        "title": "selector",
        "date": "selector",
        "label": "selector",
        "link": "selector",
        "summary": "selector",
    }


def test_a_credit_under_another_class_is_left_out_of_the_caption(tmp_path: Path) -> None:
    """The shipped layouts leave every `.credit` out of a caption; a layout file's credit
    selector names its own class, and that credit is left out too (as by structure)."""
    figure = (
        '<figure><img src="/a.jpg" alt="Vigil"><figcaption class="teaser__caption">Vigil. '
        '<small class="teaser__credit">(Photo by A. B./AFP)</small></figcaption></figure>'
    )
    page = PAGE.replace('<div class="teaser-v3">', '<div class="teaser-v3">' + figure)
    text = TEASER + 'caption = [".teaser__caption"]\ncredit = [".teaser__credit"]\n'
    by_file = extract_listing(
        page, "https://www.amnestyusa.org/news/", load_layouts(str(write(tmp_path, text)))
    )
    by_structure = extract_listing(
        page, "https://www.amnestyusa.org/news/", load_layouts(str(write(tmp_path, TEASER)))
    )
    for listing in (by_file, by_structure):
        assert [(card.caption, card.credit) for card in listing.cards] == [
            ("Vigil. ", "(Photo by A. B./AFP)")
        ] * 2
    assert by_file.cards[0].found["caption"] == by_file.cards[0].found["credit"] == "selector"
    assert by_structure.cards[0].found["credit"] == "structure"


def test_include_shipped_keeps_the_known_layouts_after_the_files(tmp_path: Path) -> None:
    layouts = load_layout_file(write(tmp_path, "include_shipped = true\n" + TEASER))
    assert layouts[1:] == LAYOUTS and layouts[0].name == "teaser-2027"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[[layout]\nname = 'x'", "not TOML"),
        ("colour = 'red'\n" + TEASER, "unknown key 'colour'"),
        ("[[layout]]\ncard = ['.x']\n", "a layout without a name"),
        ("[[layout]]\nname = 'x'\n", "card needs at least one selector"),
        ("[[layout]]\nname = 'x'\ncard = ['.x']\ntitel = ['h3']\n", "unknown field 'titel'"),
        ("[[layout]]\nname = 'x'\ncard = ['.x']\ntitle = 3\n", "title must be a list"),
        ("[[layout]]\nname = 'x'\ncard = ['div[']\n", "card selector 'div['"),
        ("[[layout]]\nname = 'fallback'\ncard = ['.x']\n", "not 'fallback'"),
        ("include_shipped = true\n", "no [[layout]] table"),
    ],
)
def test_a_bad_layout_file_is_refused_saying_why(tmp_path: Path, text: str, says: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ArgumentError, match=r"layout file .*layouts\.toml") as raised:
        load_layouts(str(path))
    assert says in str(raised.value)


def test_an_import_path_that_is_no_tuple_of_layouts_is_refused() -> None:
    with pytest.raises(ArgumentError, match=r"not a \.toml file nor the import path"):
        load_layouts("no_such_module.LAYOUTS")
    with pytest.raises(ArgumentError, match="not a tuple of Layout"):
        load_layouts("archiver.extract.layouts.NEXT_PAGE")
    assert load_layouts("archiver.extract.layouts.LAYOUTS") == LAYOUTS


def test_a_crawl_with_a_bad_layout_file_stops_before_fetching_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[[layout]]\nname = 'x'\ncard = ['div[']\n")
    with DemoServer() as server:
        result = run_cli(
            "crawl",
            "amnestyusa",
            "-a",
            f"base_url={server.base_url}",
            "--db",
            f"sqlite:///{tmp_path / 'archive.db'}",
            "--data-dir",
            str(tmp_path / "data"),
            "-s",
            f"ARCHIVER_EXTRACT_LAYOUTS={path}",
            cwd=tmp_path,
        )
        assert server.requests == []
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "Traceback" not in result.stderr
    assert "card selector 'div['" in " ".join(result.stderr.split())
