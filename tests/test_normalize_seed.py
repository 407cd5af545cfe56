"""The seed page (amnestyusa.org /news/page/6/?country=syria) normalised end to end.

The seed text is the page as a reader sees it; the lead's HTML rebuilds of it in both layouts
(`tests/fixtures/<layout>/seed/input.html`) go through the real extractor first. Either way the
12 cards must come out with the same clean values.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from archiver.items import RawCard, ReleaseItem
from archiver.normalize import normalize_item, validate_item
from archiver.sites import AMNESTYUSA

FIXTURES = Path(__file__).parent / "fixtures"
SEED_TEXT = FIXTURES / "seed" / "amnestyusa-news-page-6-country-syria.txt"
PAGE_URL = "https://www.amnestyusa.org/news/page/6/?country=syria"
DATE_LINE = re.compile(r"[A-Z][a-z]+ \d{1,2}, \d{4}")

EXPECTED_DATES = [
    date(2017, 6, 16),
    date(2017, 5, 25),
    date(2017, 4, 5),
    date(2017, 3, 14),
    date(2017, 2, 10),
    date(2017, 2, 3),
    date(2016, 12, 22),
    date(2016, 12, 19),
    date(2016, 12, 14),
    date(2016, 12, 13),
    date(2016, 12, 1),
    date(2016, 11, 28),
]
TRUNCATED_POSITIONS = {7, 8, 9, 11, 12}
REPORT_POSITION = 6


def cards_from_text(text: str) -> list[RawCard]:
    """The seed text's cards: optional caption, label, title, summary, date (one per line)."""
    cards: list[RawCard] = []
    block: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        block.append(line)
        if DATE_LINE.fullmatch(line.strip()):
            caption = block[0] if len(block) == 5 else ""
            label, title, summary, date_raw = block[-4:]
            position = len(cards) + 1
            cards.append(
                RawCard(
                    url=f"https://www.amnestyusa.org/press-releases/seed-{position}/",
                    href=f"/press-releases/seed-{position}/",
                    title=title,
                    summary=summary,
                    summary_html="",
                    date=date_raw,
                    label=label,
                    image_alt=caption,
                    caption=caption,
                    credit="",
                    position=position,
                    page_url=PAGE_URL,
                    layout="text",
                )
            )
            block = []
    return cards


def seed_cards(kind: str) -> list[RawCard]:
    if kind == "text":
        return cards_from_text(SEED_TEXT.read_text(encoding="utf-8"))
    fixture = FIXTURES / kind / "seed" / "input.html"
    if not fixture.exists():
        pytest.skip(f"{fixture} not built yet")
    from archiver.extract import extract_listing

    return extract_listing(fixture.read_bytes(), PAGE_URL).cards


@pytest.fixture(params=["text", "current", "previous"])
def seed_items(request: pytest.FixtureRequest) -> list[ReleaseItem]:
    cards = seed_cards(request.param)
    items = [
        ReleaseItem.from_card(card, source="amnestyusa", facet="country=syria") for card in cards
    ]
    return [normalize_item(item, AMNESTYUSA) for item in items]


def test_seed_page_has_twelve_valid_items(seed_items: list[ReleaseItem]) -> None:
    assert len(seed_items) == 12
    assert [validate_item(item, date(2024, 1, 1)) for item in seed_items] == [[]] * 12
    assert len({item.url for item in seed_items}) == 12
    assert all(item.url.startswith("https://www.amnestyusa.org/") for item in seed_items)


def test_seed_types_are_press_releases_but_one_report(seed_items: list[ReleaseItem]) -> None:
    types = {item.position: (item.type, item.type_source) for item in seed_items}
    assert types.pop(REPORT_POSITION) == ("Report", "label")
    assert set(types.values()) == {("Press Release", "label")}


def test_seed_dates_come_from_the_date_field(seed_items: list[ReleaseItem]) -> None:
    assert [item.published_on for item in seed_items] == EXPECTED_DATES
    assert [item.date_raw.strip() for item in seed_items][:2] == ["June 16, 2017", "May 25, 2017"]


def test_seed_truncated_summaries(seed_items: list[ReleaseItem]) -> None:
    truncated = {item.position for item in seed_items if item.summary_truncated}
    assert truncated == TRUNCATED_POSITIONS
    for item in seed_items:
        assert not item.summary.endswith(("…", "...")), item.position
        assert "  " not in item.summary and "\u00a0" not in item.summary
    # Card 11's summary ends in runs of (no-break) spaces before the marker on the page.
    assert seed_items[10].summary.endswith(
        "allowed a political deadlock to stand in the way of saving lives."
    )


def test_seed_titles_and_summaries_are_clean_text(seed_items: list[ReleaseItem]) -> None:
    by_position = {item.position: item for item in seed_items}
    assert by_position[1].title == (
        "Syria: Expert analysis shows US-led coalition use of white phosphorus"
        " may amount to war crime"
    )
    assert by_position[5].title == (
        "President Bashar al-Assad\u2019s response to Amnesty International report on Saydnaya"
    )
    assert by_position[6].title == (
        "Human slaughterhouse: Mass hangings and extermination at Saydnaya prison, Syria"
    )
    # The photo caption of card 2 is noise: never the title or the summary.
    assert by_position[2].title == "Discriminatory Muslim Ban Again Defeated in Court"
    assert "Grand Central" not in by_position[2].summary
    assert by_position[2].summary.startswith("Following a ruling by the Fourth Circuit")
    for item in seed_items:
        assert item.title == item.title.strip() and "  " not in item.title
        assert len(item.content_hash) == 64
