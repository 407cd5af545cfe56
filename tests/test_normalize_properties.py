"""Properties every normaliser keeps on arbitrary text: idempotent, never raises, grounded dates."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archiver.normalize.dates import parse_date
from archiver.normalize.summaries import _CUT_MARKER_RE, _without_cut_marker, normalize_summary
from archiver.normalize.text import _INVISIBLE_RE, clean_text, collapse_whitespace, strip_markup
from archiver.normalize.titles import normalize_title
from archiver.normalize.types import clean_label, match_label, normalize_type
from archiver.normalize.urls import canonical_by_rounds, canonical_release_url
from archiver.sites import AMNESTYUSA

# Arbitrary text, biased towards what makes these functions work hard: markup, entities,
# whitespace of every kind, combining marks, ellipses and the site's date words.
ALPHABET = st.sampled_from(
    [
        *"<>&#;/=\"' .…\u00a0\u2009\u200b\t\nab1209,:-",
        "\u0301",
        "\u0338",
        "&amp;",
        "&lt;",
        "&#8217;",
        "<b>",
        "</a>",
        "&nbsp;",
        "...",
        "June",
    ]
)
MARKUP_TEXT = st.lists(ALPHABET, max_size=40).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=80), MARKUP_TEXT)
DATE_TEXT = st.one_of(
    ANY_TEXT,
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)).map(
        lambda d: d.strftime("%B %-d, %Y")
    ),
    st.lists(
        st.sampled_from(
            [
                "June",
                "Jun",
                "16",
                "5",
                "2017",
                "17",
                "06",
                ",",
                " ",
                "/",
                "-",
                "Tuesday",
                "ago",
                "3",
            ]
        ),
        max_size=8,
    ).map("".join),
)
URL_TEXT = st.one_of(
    ANY_TEXT,
    st.builds(
        "{}://{}/{}?{}#{}".format,
        st.sampled_from(["http", "https", "HTTPS", "ftp", ""]),
        st.sampled_from(["www.amnestyusa.org", "amnestyusa.org", "127.0.0.1:8080", "ex.org", ""]),
        st.text(max_size=20),
        st.text(max_size=20),
        st.text(max_size=5),
    ),
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MONTH_NAMES = [date(2000, m, 1).strftime("%B").lower() for m in range(1, 13)]


@FAST
@given(ANY_TEXT)
@example("&amp;lt;b&amp;gt;")
@example("e<b>\u0301</b>")
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once
    assert once == once.strip() and "  " not in once


@FAST
@given(st.one_of(ANY_TEXT, st.text(st.characters(categories=["Zs", "Zl", "Zp", "Cc"]))))
@example("\x1c a\u3000b\x85")
def test_whitespace_collapses_as_the_regex_says(text: str) -> None:
    """`collapse_whitespace` is `\\s+` to one space, trimmed (it uses the faster str.split)."""
    assert collapse_whitespace(text) == re.sub(r"\s+", " ", text).strip()


@FAST
@given(st.text(st.sampled_from(["a", " ", "\n", "\u00a0", ".", "…", "\t", "\x1c", "\x85"])))
@example("a ...\n")
@example("a ....")
def test_cut_marker_goes_as_the_regex_says(text: str) -> None:
    """`_without_cut_marker` is the regex's substitution, without trying every position."""
    assert _without_cut_marker(text) == _CUT_MARKER_RE.sub("", text)


@FAST
@given(st.one_of(ANY_TEXT, st.text(st.characters(categories=["Cc", "Cf", "Zs", "Ll"]))))
@example("a\u200bb\ufeff\x7f\x9f\u2060")
def test_invisible_characters_go_with_or_without_the_printable_shortcut(text: str) -> None:
    """`strip_markup` skips its regex on printable text; the result is the regex's."""
    assert strip_markup(text) == _INVISIBLE_RE.sub("", text) or "<" in text or "&" in text


@FAST
@given(ANY_TEXT)
def test_title_is_idempotent(text: str) -> None:
    once = normalize_title(text)
    assert normalize_title(once) == once


@FAST
@given(ANY_TEXT, st.one_of(st.just(""), ANY_TEXT))
@example("&amp…", "")
@example("a... \u2026 ...", "")
def test_summary_is_idempotent(raw: str, html: str) -> None:
    once = normalize_summary(raw, html)
    again = normalize_summary(once.text)
    assert again.text == once.text
    assert not again.truncated  # the marker is gone, so a second pass sees a complete text
    assert not once.text.endswith(("…", "..."))


@FAST
@given(ANY_TEXT, st.one_of(st.none(), URL_TEXT))
def test_type_is_idempotent(label: str, url: str | None) -> None:
    result = normalize_type(label, url, AMNESTYUSA)
    assert result.source in ("label", "url", None)
    if result.name is not None and result.name != "Other":
        # a matched type read back as a label names itself
        assert match_label(result.name) == result.name
    assert clean_label(clean_label(label)) == clean_label(label)


@FAST
@given(
    URL_TEXT,
    st.sampled_from([None, "https://www.amnestyusa.org/news/", "http://127.0.0.1:8080/news/"]),
)
def test_url_is_idempotent(raw: str, page_url: str | None) -> None:
    once = canonical_release_url(raw, AMNESTYUSA, page_url=page_url)
    if once is not None:
        assert canonical_release_url(once, AMNESTYUSA, page_url=page_url) == once
        assert once.startswith("https://") and "#" not in once and "utm_" not in once.lower()


def _written_in(number: int, text: str) -> bool:
    return re.search(rf"(?<!\d)0?{number}(?!\d)", text) is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DATE_TEXT)
@example("yesterday")
@example("Jun 5 17")
@example("1497571200")
def test_date_is_grounded_in_the_raw_string(raw: str) -> None:
    parsed = parse_date(raw)
    if parsed is None:
        return
    text = clean_text(raw).lower()
    assert str(parsed.year) in text
    assert _written_in(parsed.day, text)
    month = MONTH_NAMES[parsed.month - 1]
    assert month[:3] in text or _written_in(parsed.month, text)
    # idempotent in the sense that matters: the ISO form of the result parses to itself
    assert parse_date(parsed.isoformat()) == parsed


@given(st.dates(min_value=date(1961, 1, 1), max_value=date(2100, 12, 31)))
def test_site_format_round_trips(day: date) -> None:
    assert parse_date(f"{day:%B} {day.day}, {day.year}") == day
    assert parse_date(f"{day:%b}. {day:%d}, {day.year}") == day


# Release links in the shapes the URL shortcut takes, and near misses it must leave alone.
URL_SEGMENT = st.one_of(
    st.from_regex(r"[A-Za-z0-9_-]{1,12}(\.[a-z0-9]{1,4})?", fullmatch=True),
    st.sampled_from(
        ["news", "page", "2", "", ".", "..", "A%20b", "caf\u00e9", "a b", "x;y", "a\tb"]
    ),
)
URL_QUERY = st.lists(
    st.sampled_from(
        ["utm_source=tw", "UTM_Medium=x", "fbclid=1", "utm_campaign", "", "id=7", "%75tm_x=1"]
    ),
    max_size=3,
).map("&".join)
RELEASE_LINK = st.builds(
    "{}/{}{}{}{}".format,
    st.sampled_from(
        [
            "https://www.amnestyusa.org",
            "http://www.amnestyusa.org",
            "https://amnestyusa.org",
            "http://AmnestyUSA.org.",
            "https://mirror.amnestyusa.org",
            "https://amnestyusa.org:8443",
            "https://[x].amnestyusa.org",
            "https://u:p@mirror.amnestyusa.org",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:80801",
            "https://ex.org",
            "HTTPS://www.amnestyusa.org",
            "//amnestyusa.org",
            "",
            " ",
        ]
    ),
    st.lists(URL_SEGMENT, max_size=4).map("/".join),
    st.sampled_from(["/", ""]),
    st.one_of(st.just(""), URL_QUERY.map("?{}".format)),
    st.sampled_from(["", "#main", "#", "#a?b"]),
)
PAGE_URLS = [
    None,
    "https://www.amnestyusa.org/news/",
    "http://127.0.0.1:8080/news/page/2/",
    "HTTP://127.0.0.1:8080/news/",
    "http://127.0.0.1:8080",
    "ftp://127.0.0.1:8080/news/",
]


@pytest.mark.parametrize(
    "base_url",
    [
        None,
        "http://127.0.0.1:8080/",
        "http://127.0.0.1:8080/news/",
        "https://www.amnestyusa.org/news/",
    ],
)
@pytest.mark.parametrize("page_url", PAGE_URLS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(RELEASE_LINK, RELEASE_LINK, URL_TEXT))
@example(raw="http://127.0.0.1:8080/news/x/")
@example(raw="/reports/x/?utm_source=a#main")
@example(raw="https://www.amnestyusa.org/news/x/")
def test_url_shortcut_agrees_with_the_rounds(
    raw: str, page_url: str | None, base_url: str | None
) -> None:
    """The common-shape shortcut returns exactly what the full canonical rounds return."""
    assert canonical_release_url(raw, AMNESTYUSA, page_url, base_url) == canonical_by_rounds(
        raw, AMNESTYUSA, page_url, base_url
    )
