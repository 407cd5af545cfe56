"""Cross-check: does a release page agree with the listing card that linked to it?

The card (title, summary, date) and the release page (headline, first paragraphs,
publication date) are read by different extractors from different pages; where they disagree,
one of them read the wrong thing, or the site edited the release after listing it. Both sides
come in as plain values (this module knows no extractor), are compared after a normalisation
that forgives what typography changes between the two pages (spacing, curly or straight
quotes, dash kinds, letter case, accents), and the names of the disagreements come out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date

from archiver.normalize.summaries import strip_cut_marker
from archiver.normalize.text import collapse_whitespace

#: The checks, in the order their disagreements are reported.
CHECKS = ("date", "title", "summary")

_QUOTES = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′`´", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
        **dict.fromkeys("‐‑‒–—―−﹘﹣－", "-"),
    }
)
_AROUND_DASH = re.compile(r"\s*-\s*")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")


def comparable(text: str) -> str:
    """`text` as the cross-check compares it: accents, case, quote and dash kinds, and the
    spacing around dashes and between words forgotten.

    Each step works character by character, so the comparable form of a text's beginning is
    the beginning of the text's comparable form: a cut summary is still found in its paragraph.

    >>> comparable("  Syria: \\u201cWe\\u2019re  Here\\u201d \\u2014 Caf\\u00e9 ")
    'syria: "we\\'re here"-cafe'
    >>> comparable("A - \\"we're\\"") == comparable("a \\u2013 \\u201cWe\\u2019re\\u201d")
    True
    """
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = _INVISIBLE.sub("", letters.casefold().translate(_QUOTES))
    return _AROUND_DASH.sub("-", collapse_whitespace(folded))


def cross_check(
    *,
    listing_title: str,
    listing_summary: str | None,
    listing_truncated: bool,
    listing_date: date | None,
    headline: str | None,
    first_paragraphs: Sequence[str],
    page_date: date | None,
) -> tuple[str, ...]:
    """The names of the checks (of `CHECKS`) on which the card and its page disagree.

    A check is only made when both sides have a value: a page without a date cannot
    disagree on the date. "summary" disagrees when the card's summary (its cut marker
    removed if the site cut it) is found neither in the first nor in the second paragraph,
    nor across the two (an excerpt runs on from one paragraph into the next).

    >>> from datetime import date
    >>> cross_check(listing_title="Syria: free them", listing_summary="Amnesty said \\u2026",
    ...             listing_truncated=True, listing_date=date(2024, 5, 1),
    ...             headline="SYRIA:\\u00a0free them ", first_paragraphs=["Amnesty said today."],
    ...             page_date=date(2024, 5, 1))
    ()
    >>> cross_check(listing_title="Old title", listing_summary="Other words",
    ...             listing_truncated=False, listing_date=date(2024, 5, 1),
    ...             headline="New title", first_paragraphs=["Amnesty said today."],
    ...             page_date=date(2024, 5, 2))
    ('date', 'title', 'summary')
    """
    disagree = {
        "date": _dates_differ(listing_date, page_date),
        "title": _titles_differ(listing_title, headline),
        "summary": _summary_missing(listing_summary, listing_truncated, first_paragraphs),
    }
    return tuple(name for name in CHECKS if disagree[name])


def _dates_differ(listing_date: date | None, page_date: date | None) -> bool:
    return listing_date is not None and page_date is not None and listing_date != page_date


def _titles_differ(listing_title: str, headline: str | None) -> bool:
    if not headline or not listing_title:
        return False
    return comparable(listing_title) != comparable(headline)


def _summary_missing(summary: str | None, truncated: bool, paragraphs: Sequence[str]) -> bool:
    """Whether the card's summary is found in none of the page's first two paragraphs."""
    if truncated and summary:
        summary = strip_cut_marker(summary).text
    wanted = comparable(summary or "")
    if not wanted or not paragraphs:
        return False
    places = [*paragraphs[:2], " ".join(paragraphs[:2])]
    return not any(wanted in comparable(place) for place in places)
