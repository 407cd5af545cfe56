"""One table-driven case per quirk in the site notes (docs: /docs/normalization.md)."""

from __future__ import annotations

from datetime import date

import pytest

from archiver.normalize.dates import is_plausible, parse_date
from archiver.normalize.hashing import content_hash
from archiver.normalize.summaries import decode_cf_email, normalize_summary
from archiver.normalize.text import clean_text
from archiver.normalize.titles import normalize_title
from archiver.normalize.types import ReleaseType, normalize_type
from archiver.normalize.urls import canonical_release_url
from archiver.sites import AMNESTYUSA

WWW = "https://www.amnestyusa.org"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # trailing spaces after the title
        (
            "Discriminatory Muslim Ban Again Defeated in Court   ",
            "Discriminatory Muslim Ban Again Defeated in Court",
        ),
        # curly quotes and apostrophes kept
        (
            "President Bashar al-Assad\u2019s \u201csham\u201d trials",
            "President Bashar al-Assad\u2019s \u201csham\u201d trials",
        ),
        # hashtags kept
        (
            "#StandWithRefugees: families deserve protection",
            "#StandWithRefugees: families deserve protection",
        ),
        # accents kept, and composed (NFC)
        ("Co\u0302te d\u2019Ivoire: Ra\u0301mi freed", "C\u00f4te d\u2019Ivoire: R\u00e1mi freed"),
        # a leading "Report:" / "Urgent Action:" is part of the title, not its type
        ("Report: Homs detention centres hide abuse", "Report: Homs detention centres hide abuse"),
        ("Urgent Action: Free Raif Badawi", "Urgent Action: Free Raif Badawi"),
        # dashes kept
        (
            "Syria \u2013 a decade of war \u2014 and no justice",
            "Syria \u2013 a decade of war \u2014 and no justice",
        ),
        # literal entities and tags WordPress leaves in text
        (
            "Syria&#8217;s <em>disappeared</em> &amp; their families",
            "Syria\u2019s disappeared & their families",
        ),
        ("&amp;#8217; double-escaped", "\u2019 double-escaped"),
        # no-break spaces, tabs and line breaks collapse
        (
            "\u00a0Aleppo:\u00a0\u00a0civilians\tmust\nbe protected\u2009",
            "Aleppo: civilians must be protected",
        ),
        # text that merely looks like markup stays
        ("AT&T and 5 > 3", "AT&T and 5 > 3"),
        ("", ""),
    ],
)
def test_title(raw: str, expected: str) -> None:
    assert normalize_title(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("June 16, 2017", date(2017, 6, 16)),  # the site's format, day not zero-padded
        ("April 5, 2017", date(2017, 4, 5)),
        ("  December 1, 2016 \n", date(2016, 12, 1)),  # whitespace around it
        ("December\u00a01,\u00a02016", date(2016, 12, 1)),  # no-break spaces
        ("June 06, 2017", date(2017, 6, 6)),  # zero-padded day
        ("Dec. 1, 2016", date(2016, 12, 1)),  # abbreviated month
        ("Sept 9, 2016", date(2016, 9, 9)),
        ("JUNE 16, 2017", date(2017, 6, 16)),
        ("June 16 2017", date(2017, 6, 16)),  # comma missing
        ("2017-06-16", date(2017, 6, 16)),  # ISO
        ("2017-06-16T09:30:00+00:00", date(2017, 6, 16)),
        # fallback parser for anything else
        ("Tuesday, March 17, 2020", date(2020, 3, 17)),
        ("16 June 2017", date(2017, 6, 16)),
        ("2020/07/08", date(2020, 7, 8)),
        ("12/11/2016", date(2016, 12, 11)),  # a US site: month first
        # no date, or not a complete one
        ("", None),
        ("   ", None),
        ("June 2017", None),  # no day
        ("June 16", None),  # no year
        ("February 30, 2017", None),  # no such day
        ("Jun 5 17", None),  # two-digit year: not written in the string
        ("yesterday", None),  # relative dates are not the page's date
        ("3 days ago", None),
        ("1497571200", None),  # a timestamp
        ("le 16 juin 2017", None),  # English only
        ("Press Release", None),
    ],
)
def test_date(raw: str, expected: date | None) -> None:
    assert parse_date(raw) == expected


def test_date_fast_path_does_not_call_dateparser(monkeypatch: pytest.MonkeyPatch) -> None:
    """The site's own formats must never reach the general parser (see benchmarks/)."""
    import dateparser

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("dateparser called on the fast path")

    monkeypatch.setattr(dateparser, "parse", refuse)
    for raw in ("June 16, 2017", "Jun. 06, 2017", "2017-06-16", " December\u00a01, 2016 "):
        assert parse_date(raw) is not None


@pytest.mark.parametrize(
    ("published_on", "today", "plausible"),
    [
        (date(1961, 1, 1), date(2024, 5, 1), True),
        (date(1960, 12, 31), date(2024, 5, 1), False),
        (date(2024, 5, 3), date(2024, 5, 1), True),
        (date(2024, 5, 4), date(2024, 5, 1), False),
        (date(2099, 1, 1), date(2024, 5, 1), False),
    ],
)
def test_plausible_dates(published_on: date, today: date, plausible: bool) -> None:
    assert is_plausible(published_on, today) is plausible


@pytest.mark.parametrize(
    ("label", "url", "expected"),
    [
        ("Press Release", None, ReleaseType("Press Release", "label")),
        ("press  release", None, ReleaseType("Press Release", "label")),
        (" PRESS\u00a0RELEASE ", None, ReleaseType("Press Release", "label")),
        ("Sheet of paper Report", None, ReleaseType("Report", "label")),  # icon text in front
        ("Sheet of paper\n  Report", None, ReleaseType("Report", "label")),
        ("Update", None, ReleaseType("Update", "label")),
        ("Urgent Action", None, ReleaseType("Urgent Action", "label")),
        ("Statement", None, ReleaseType("Statement", "label")),
        ("News", None, ReleaseType("News", "label")),
        ("Blog", None, ReleaseType("Blog", "label")),
        # the label wins over the URL's section
        ("Report", f"{WWW}/press-releases/x/", ReleaseType("Report", "label")),
        # no label: the URL's section says the type
        ("", f"{WWW}/press-releases/x/", ReleaseType("Press Release", "url")),
        ("", f"{WWW}/reports/x/", ReleaseType("Report", "url")),
        ("", f"{WWW}/updates/x/", ReleaseType("Update", "url")),
        ("", f"{WWW}/urgent-actions/x/", ReleaseType("Urgent Action", "url")),
        ("Sheet of paper", f"{WWW}/reports/x/", ReleaseType("Report", "url")),  # icon only
        # no label and a section that says nothing
        ("", f"{WWW}/campaigns/x/", ReleaseType(None, None)),
        ("", "https://www.amnesty.org/reports/x/", ReleaseType("Report", "url")),
        ("", None, ReleaseType(None, None)),
        # an unknown label is stored as Other (the raw text stays in type_raw)
        ("Interview", f"{WWW}/updates/x/", ReleaseType("Other", "label")),
    ],
)
def test_type(label: str, url: str | None, expected: ReleaseType) -> None:
    assert normalize_type(label, url, AMNESTYUSA) == expected


CF_HTML = (
    'For interviews, contact the press office at <a href="/cdn-cgi/l/email-protection" '
    'class="__cf_email__" data-cfemail="54242631272714353d2127357a3b2633">'
    "[email&#160;protected]</a>."
)


@pytest.mark.parametrize(
    ("raw", "html", "expected", "truncated"),
    [
        # complete summaries end in "." or "said:"
        ("had the following reaction:", "", "had the following reaction:", False),
        (
            "verifying five videos of the incident.",
            "",
            "verifying five videos of the incident.",
            False,
        ),
        # the site's cut marker in its three forms
        ("with the\u2026", "", "with the", True),
        ("saving lives.  \u2026", "", "saving lives.", True),
        ("saving lives. \u00a0\u2026", "", "saving lives.", True),
        ("old page text...", "", "old page text", True),
        # runs of spaces inside
        ("said:   \u201cIt is   becoming clearer", "", "said: \u201cIt is becoming clearer", False),
        # other dates inside the summary are text, left alone
        ("on June 17, 2018 and 2020/07/08.", "", "on June 17, 2018 and 2020/07/08.", False),
        # Cloudflare-obfuscated e-mail decoded from the inner HTML
        (
            "For interviews, contact the press office at [email\u00a0protected].",
            CF_HTML,
            "For interviews, contact the press office at press@aiusa.org.",
            False,
        ),
        # literal entities and tags
        ("Syria&#8217;s <b>war</b>", "", "Syria\u2019s war", False),
        ("", "", "", False),
    ],
)
def test_summary(raw: str, html: str, expected: str, truncated: bool) -> None:
    assert normalize_summary(raw, html) == (expected, truncated)


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        ("54242631272714353d2127357a3b2633", "press@aiusa.org"),
        ("0f6e4f6a776e627f636a21607d68", "a@example.org"),
        ("", None),
        ("54", None),
        ("not hex", None),
        ("54ab", None),  # decodes to invalid UTF-8
    ],
)
def test_cloudflare_email(encoded: str, expected: str | None) -> None:
    assert decode_cf_email(encoded) == expected


@pytest.mark.parametrize(
    ("raw", "page_url", "expected"),
    [
        # absolute on the canonical host
        (f"{WWW}/press-releases/x/", None, f"{WWW}/press-releases/x/"),
        # relative, resolved against the listing page
        ("/reports/y/", f"{WWW}/news/page/6/?country=syria", f"{WWW}/reports/y/"),
        ("../../../updates/z/", f"{WWW}/news/page/6/", f"{WWW}/updates/z/"),
        # the bare host and mirrors give the same identity
        ("http://amnestyusa.org/press-releases/x/", None, f"{WWW}/press-releases/x/"),
        ("https://mirror.amnestyusa.org/press-releases/x/", None, f"{WWW}/press-releases/x/"),
        ("HTTPS://WWW.AMNESTYUSA.ORG/press-releases/x/", None, f"{WWW}/press-releases/x/"),
        # a local copy: the host that served the listing stands for the source
        (
            "http://127.0.0.1:8765/press-releases/x/",
            "http://127.0.0.1:8765/news/",
            f"{WWW}/press-releases/x/",
        ),
        ("/press-releases/x/", "http://127.0.0.1:8765/news/", f"{WWW}/press-releases/x/"),
        # fragment and tracking removed, other parameters kept in canonical order
        (
            f"{WWW}/press-releases/x/?utm_source=tw&utm_medium=social&fbclid=1#main",
            None,
            f"{WWW}/press-releases/x/",
        ),
        (f"{WWW}/press-releases/x/?b=2&a=1", None, f"{WWW}/press-releases/x/?a=1&b=2"),
        # WordPress permalinks end in a slash
        (f"{WWW}/press-releases/x", None, f"{WWW}/press-releases/x/"),
        (f"{WWW}/files/report.pdf", None, f"{WWW}/files/report.pdf"),
        # whitespace and line breaks inside an href
        (f"  {WWW}/press-\nreleases/x/ ", None, f"{WWW}/press-releases/x/"),
        # non-ASCII slugs percent-encoded once
        (
            f"{WWW}/press-releases/syria\u2019s-war/",
            None,
            f"{WWW}/press-releases/syria%E2%80%99s-war/",
        ),
        (
            f"{WWW}/press-releases/syria%E2%80%99s-war/",
            None,
            f"{WWW}/press-releases/syria%E2%80%99s-war/",
        ),
        # another site keeps its host, over https
        ("http://www.amnesty.org/en/latest/x/", None, "https://www.amnesty.org/en/latest/x/"),
        # not a release URL at all
        ("", None, None),
        ("mailto:press@aiusa.org", None, None),
        ("javascript:void(0)", None, None),
        ("http://[::1", None, None),
        ("/relative/without/page", None, None),
    ],
)
def test_url(raw: str, page_url: str | None, expected: str | None) -> None:
    assert canonical_release_url(raw, AMNESTYUSA, page_url=page_url) == expected


def test_clean_text_removes_invisible_characters() -> None:
    assert clean_text("Amnesty\u200bInter\x00national\ufeff") == "AmnestyInternational"


def test_content_hash_changes_with_each_field() -> None:
    base = ("Title", "Summary", "Report", date(2017, 2, 3))
    hashes = {content_hash(*base)}
    for index, other in enumerate(("Title 2", "Summary 2", "Update", date(2017, 2, 4))):
        changed = list(base)
        changed[index] = other
        hashes.add(content_hash(*changed))
    assert len(hashes) == 5
    assert content_hash(*base) == content_hash(*base)
