"""The card/page cross-check: what it forgives (typography), what it reports (real changes)."""

from __future__ import annotations

from datetime import date

from hypothesis import example, given
from hypothesis import strategies as st

from archiver.normalize.crosscheck import CHECKS, comparable, cross_check

DAY = date(2024, 5, 1)
PARAGRAPH = (
    "WASHINGTON, D.C. (May 1, 2024) \u2014 Amnesty International today said the "
    "activists\u2019 release is \u201clong overdue\u201d."
)

# Text as release titles and paragraphs write it: words, punctuation, both kinds of quotes and
# dashes, accents (precomposed and combining), odd spaces.
PIECES = st.sampled_from(
    [
        *"abcXYZ019 ,.:;!?()'\"-",
        "\u2019",
        "\u201c",
        "\u201d",
        "\u2013",
        "\u2014",
        "\u00e9",
        "e\u0301",
        "\u00a0",
        "\u2009",
        "  ",
        "Syria",
        "Amnesty",
        "\u00df",
        "\u0130",
        "...",
    ]
)
TEXT = st.lists(PIECES, min_size=1, max_size=40).map("".join)
# What the other page may have written instead of a character.
VARIANTS = {
    "'": ["\u2019", "\u2018", "'"],
    '"': ["\u201c", "\u201d", '"'],
    "-": ["\u2013", "\u2014", " - ", "-"],
    " ": [" ", "  ", "\u00a0", "\n"],
}


def check(**overrides: object) -> tuple[str, ...]:
    values: dict[str, object] = {
        "listing_title": "Syria: release the activists",
        "listing_summary": "Amnesty International today said the activists\u2019 release",
        "listing_truncated": True,
        "listing_date": DAY,
        "headline": "Syria: release the activists",
        "first_paragraphs": [PARAGRAPH, "Second paragraph."],
        "page_date": DAY,
    }
    values.update(overrides)
    return cross_check(**values)  # type: ignore[arg-type]


def test_agreeing_card_and_page() -> None:
    assert check() == ()


def test_each_disagreement_is_named() -> None:
    assert check(page_date=date(2024, 5, 2)) == ("date",)
    assert check(headline="Syria: the activists must be released") == ("title",)
    assert check(listing_summary="A summary the page never says") == ("summary",)
    assert (
        check(page_date=date(2023, 5, 1), headline="Other", listing_summary="Other words") == CHECKS
    )


def test_nothing_to_compare_is_no_disagreement() -> None:
    assert check(page_date=None, headline=None, first_paragraphs=[]) == ()
    assert check(listing_date=None, listing_summary=None) == ()
    assert check(listing_summary="\u2026", listing_truncated=True) == ()


def test_title_typography_is_forgiven() -> None:
    page = "Syria \u2013 \u201cRelease\u00a0the activists\u201d, says Am\u00e9lie\u2019s group"
    card = 'SYRIA - "release the activists", says Ame\u0301lie\'s group '
    assert check(listing_title=card, headline=page) == ()


def test_summary_found_in_the_second_paragraph_or_across_the_two() -> None:
    paragraphs = ["Dateline.", "The second paragraph says this.", "Third."]
    assert check(listing_summary="second paragraph says", first_paragraphs=paragraphs) == ()
    across = "Dateline. The second"
    assert check(listing_summary=across + " \u2026", first_paragraphs=paragraphs) == ()
    assert check(listing_summary="Third.", first_paragraphs=paragraphs) == ("summary",)


def test_cut_marker_removed_only_when_the_card_was_cut() -> None:
    summary = "Amnesty International today said\u2026"
    assert check(listing_summary=summary, listing_truncated=True) == ()
    assert check(listing_summary=summary, listing_truncated=False) == ("summary",)


def variant(text: str, choices: list[int]) -> str:
    """`text` as another page might print it: each quote, dash and space swapped."""
    out = []
    for position, char in enumerate(text):
        options = VARIANTS.get(char)
        out.append(options[choices[position % len(choices)] % len(options)] if options else char)
    return "".join(out)


@given(title=TEXT, choices=st.lists(st.integers(0, 3), min_size=1), upper=st.booleans())
@example(title='Syria\'s "war" - now', choices=[0, 1, 2], upper=True)
def test_a_title_agrees_with_its_typographic_variants(
    title: str, choices: list[int], upper: bool
) -> None:
    other = variant(title, choices)
    other = "  " + (other.upper() if upper else other) + "\u00a0"
    assert comparable(other) == comparable(title)
    assert check(listing_title=title, headline=other) == ()


@given(
    paragraph=TEXT,
    data=st.data(),
    marker=st.sampled_from(["\u2026", " \u2026", "...", " ..."]),
    second=st.booleans(),
)
@example(paragraph="Caf\u00e9 e\u0301", data=None, marker="\u2026", second=False)
def test_a_cut_summary_agrees_with_the_paragraph_it_was_cut_from(
    paragraph: str, data: st.DataObject | None, marker: str, second: bool
) -> None:
    cut = len(paragraph) - 2 if data is None else data.draw(st.integers(0, len(paragraph)))
    summary = paragraph[:cut] + marker
    paragraphs = ["Dateline.", paragraph] if second else [paragraph]
    assert check(listing_summary=summary, first_paragraphs=paragraphs) == ()


@given(left=TEXT, right=TEXT)
def test_comparable_is_idempotent_and_total(left: str, right: str) -> None:
    once = comparable(left + right)
    assert comparable(once) == once
    assert comparable(left).strip() == comparable(left)


def test_local_site_cards_against_their_pages() -> None:
    """Every card of the local site against its release page, each side read by its own
    extractor and normaliser: the disagreements are exactly the releases whose page was made
    to depart from the card (an edited headline, a body that does not open with the summary,
    a Spanish page), never the typography, decoy dates, cut summaries or e-mail addresses."""
    from archiver.demo.dataset import build_dataset
    from archiver.demo.details import render_detail
    from archiver.extract.detail import extract_detail
    from archiver.normalize.dates import parse_date
    from archiver.normalize.summaries import normalize_summary
    from archiver.normalize.titles import normalize_title

    dataset = build_dataset()
    releases = [release for release in dataset.releases if not release.detail.gone]
    found, planned = {}, {}
    for release in releases:
        page = extract_detail(render_detail(release, dataset), "http://127.0.0.1:1/x/")
        summary = normalize_summary(release.summary)
        found[release.slug] = cross_check(
            listing_title=normalize_title(release.title),
            listing_summary=summary.text or None,
            listing_truncated=summary.truncated,
            listing_date=parse_date(release.date_text),
            headline=page.headline,
            first_paragraphs=page.paragraphs[:2],
            page_date=date.fromisoformat(page.published_at[:10]) if page.published_at else None,
        )
        plan = release.detail
        summary_elsewhere = not plan.summary_in_body or plan.new_body or plan.language != "en"
        planned[release.slug] = ("title",) * bool(plan.headline) + ("summary",) * bool(
            summary_elsewhere
        )
    assert found == planned
    assert sum(1 for flags in planned.values() if flags) >= 5  # the site has such cases
