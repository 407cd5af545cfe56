"""The release (detail) page extractor: each path (site selectors, JSON-LD, OpenGraph, generic)
on hand-built pages, the decoy dates, the fixture cases on disk and the local site's pages.

Every test states which extractor found each field (`provenance`): a value right by accident,
found by the wrong reader, is a defect the next page will show.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from archiver.extract.detail import Attachment, DetailPage, extract_detail

FIXTURES = Path(__file__).parent / "fixtures" / "detail"
CASES = sorted(path.parent for path in FIXTURES.glob("*/input.html"))
#: The keys every expected.json holds (provenance compared on these fields only).
FIELDS = (
    "headline",
    "body",
    "published_at",
    "modified_at",
    "contact",
    "tags",
    "attachments",
    "canonical_url",
    "language",
)
LOCAL = "http://127.0.0.1:8765/press-releases/syria-free-them/"
CANONICAL = "https://www.amnestyusa.org/press-releases/syria-free-them/"
PROSE = (
    "Amnesty International said today that the authorities must release every activist held "
    "for peaceful protest, and allow independent monitors into all places of detention."
)


def page(head: str = "", body: str = "", lang: str = 'lang="en-US"') -> str:
    return f"<!DOCTYPE html><html {lang}><head><meta charset='UTF-8'>{head}</head>{body}</html>"


def yoast(*nodes: dict) -> str:
    graph = {"@context": "https://schema.org", "@graph": list(nodes)}
    return f'<script type="application/ld+json">{json.dumps(graph)}</script>'


SITE_BODY = f"""<body class="single">
<header class="site-header"><nav class="main-nav"><a href="/issues/torture/">Torture</a></nav>
</header>
<main id="main"><article class="post">
<header class="entry-header"><p class="post-type">Press Release</p>
<h1 class="entry-title"> Syria:\u00a0free   them </h1>
<p class="entry-meta"><time class="entry-date published" datetime="2024-05-01T14:30:00+00:00">
May 1, 2024</time></p>
<p class="entry-updated">Updated <time datetime="2025-03-03T09:00:00+00:00">March 3, 2025</time>
</p></header>
<div class="wp-block-post-content entry-content">
<p>WASHINGTON, D.C. (May 1, 2024) \u2014  {PROSE}</p>
<figure class="wp-block-image"><img src="/wp-content/uploads/x.jpg" alt="Protest">
<figcaption>Protesters in Damascus <span class="credit">(Photo by AFP)</span></figcaption></figure>
<h2>What we ask</h2>
<blockquote><p>\u201cFree them now,\u201d said the director.</p><p>Second quoted line.</p>
</blockquote>
<ul><li>Release the activists;</li><li>allow <em>independent</em> monitors.</li></ul>
<div class="share-buttons">Share this: <a href="https://www.facebook.com/sharer/x">Facebook</a>
</div>
<section class="related-posts"><h3>Related</h3><p>Another release, June 17, 2018</p></section>
<div class="newsletter-signup"><p>Get the latest news in your inbox</p></div>
<p>Photo caption is not here.<span class="credit"> (Credit: X)</span> Text after it.</p>
<p>To view PDF version <a href="/wp-content/uploads/2024/05/syria.pdf">click here</a>.</p>
<p>See <a href="syria-annex.docx#page=2">the annex</a> and <a href="/issues/torture/">torture</a>.
</p>
</div>
<aside class="press-contact"><h2>Press contact</h2><p>AIUSA media relations,
 202-509-8194, <a href="mailto:media@aiusa.org">media@aiusa.org</a></p></aside>
<div class="attachments"><h2>Documents</h2><ul>
<li><a href="/wp-content/uploads/2024/05/syria.pdf">Syria report (PDF, 1.2 MB)</a></li>
<li><a href="https://cdn.example.org/files/data.xlsx">Data</a></li></ul></div>
<footer class="entry-footer"><div class="post-tags">
<a href="/countries/syria/" rel="tag">Syria</a> <a href="/issues/refugee-migrant-rights/" rel="tag">
Refugees</a> <a href="/topics/detention/" rel="tag">Detention</a> <a href="/tag/misc/" rel="tag">
Misc</a></div></footer>
</article>
<section class="related-posts"><article class="related-card"><a href="/press-releases/old/">
<h3>Old</h3></a><time class="entry-date published" datetime="2018-06-17">June 17, 2018</time>
</article></section>
</main>
<footer class="site-footer"><p>\u00a9 2026 Amnesty International USA</p></footer></body>"""


def test_site_selectors_read_every_field_of_a_known_page() -> None:
    html = page(f'<link rel="canonical" href="{CANONICAL}">', SITE_BODY)
    result = extract_detail(html, LOCAL)
    assert result.headline == "Syria: free them"
    assert result.paragraphs == (
        f"WASHINGTON, D.C. (May 1, 2024) \u2014 {PROSE}",
        "What we ask",
        "\u201cFree them now,\u201d said the director.",
        "Second quoted line.",
        "Release the activists;",
        "allow independent monitors.",
        "Photo caption is not here. Text after it.",
        "To view PDF version click here.",
        "See the annex and torture.",
    )
    assert result.first_paragraph == result.paragraphs[0]
    assert result.published_at == "2024-05-01T14:30:00+00:00"
    assert result.modified_at == "2025-03-03T09:00:00+00:00"
    assert result.contact == "AIUSA media relations, 202-509-8194, media@aiusa.org"
    assert result.tags == ("country=syria", "issue=refugee-migrant-rights", "topic=detention")
    # Page order, each once; root-relative and relative links on the canonical host (the page
    # was served by a local copy); the box's link text preferred to "click here".
    assert result.attachments == (
        Attachment(
            "https://www.amnestyusa.org/wp-content/uploads/2024/05/syria.pdf",
            "Syria report (PDF, 1.2 MB)",
        ),
        Attachment(
            "https://www.amnestyusa.org/press-releases/syria-free-them/syria-annex.docx",
            "the annex",
        ),
        Attachment("https://cdn.example.org/files/data.xlsx", "Data"),
    )
    assert result.canonical_url == CANONICAL
    assert result.language == "en"
    assert result.author is None
    assert result.provenance == {
        "headline": "site",
        "body": "site",
        "published_at": "site",
        "modified_at": "site",
        "contact": "site",
        "tags": "site",
        "attachments": "site",
        "canonical_url": "html",
        "language": "html",
    }


def test_site_visible_date_only_and_attachments_against_the_page_url() -> None:
    body = SITE_BODY.replace(
        '<time class="entry-date published" datetime="2024-05-01T14:30:00+00:00">\nMay 1, 2024'
        "</time>",
        '<span class="entry-date">May  1, 2024</span>',
    )
    assert 'class="entry-date"' in body
    result = extract_detail(page("", body), LOCAL)  # no canonical link: the page URL is the base
    assert result.published_at == "2024-05-01"
    assert result.provenance["published_at"] == "site"
    assert result.attachments[0].url == "http://127.0.0.1:8765/wp-content/uploads/2024/05/syria.pdf"
    assert result.canonical_url is None and "canonical_url" not in result.provenance


def test_site_page_dates_never_from_related_releases_or_the_update_note() -> None:
    """A page whose article shows no publication date: the related card's
    `time.entry-date.published` (the same classes), the "Updated" note and the footer's year
    are no publication date, for the site's selectors and for htmldate alike."""
    body = SITE_BODY.replace(
        '<time class="entry-date published" datetime="2024-05-01T14:30:00+00:00">\nMay 1, 2024'
        "</time>",
        "",
    )
    assert "2024-05-01T14:30" not in body
    result = extract_detail(page("", body), LOCAL)
    assert result.published_at is None and "published_at" not in result.provenance
    assert result.modified_at == "2025-03-03T09:00:00+00:00"
    assert result.body is not None and result.provenance["body"] == "site"


YOAST_ARTICLE = {
    "@type": "NewsArticle",
    "@id": f"{CANONICAL}#article",
    "isPartOf": {"@id": CANONICAL},
    "mainEntityOfPage": {"@id": CANONICAL},
    "headline": "Syria:  free them",
    "datePublished": "2024-05-01T14:30:00+00:00",
    "dateModified": "2025-03-03T09:00:00+00:00",
    "author": [{"@id": "https://www.amnestyusa.org/#/schema/person/1"}],
    "keywords": ["Syria", "Refugee and Migrant Rights"],
}
YOAST_GRAPH = (
    {
        "@type": "WebPage",
        "@id": CANONICAL,
        "url": CANONICAL,
        "name": "Syria: free them - Amnesty International USA",
        "inLanguage": "es-ES",
    },
    YOAST_ARTICLE,
    {"@type": "Person", "@id": "https://www.amnestyusa.org/#/schema/person/1", "name": "Ana"},
    {"@type": "Organization", "@id": "https://www.amnestyusa.org/#organization", "name": "AIUSA"},
)
PLAIN_BODY = f"""<body><div id="page"><div class="top"><a href="/">Home</a></div>
<div class="story"><h2>Syria: free them</h2>
<p>{PROSE}</p><p>{PROSE} Second time.</p><p>{PROSE} Third time.</p>
<p>Read the <a href="/files/syria.pdf">full report</a>.</p></div>
<div class="related-posts"><p>Older: <time datetime="2018-06-17">June 17, 2018</time></p></div>
<div class="site-footer">\u00a9 2026 Amnesty International USA</div></div></body>"""


def test_yoast_graph_on_a_page_without_site_classes() -> None:
    """JSON-LD alone (no site markup, no `lang`, no canonical link): the article node of the
    `@graph`, its author by `@id`, the page node's language and URL."""
    result = extract_detail(page(yoast(*YOAST_GRAPH), PLAIN_BODY, lang=""), LOCAL)
    assert result.headline == "Syria: free them"
    assert result.published_at == "2024-05-01T14:30:00+00:00"
    assert result.modified_at == "2025-03-03T09:00:00+00:00"
    assert result.author == "Ana"
    assert result.keywords == ("Syria", "Refugee and Migrant Rights")
    assert result.language == "es"
    assert result.canonical_url == CANONICAL
    assert result.contact is None and result.tags == ()
    assert result.provenance == {
        "headline": "json-ld",
        "published_at": "json-ld",
        "modified_at": "json-ld",
        "author": "json-ld",
        "keywords": "json-ld",
        "language": "json-ld",
        "canonical_url": "json-ld",
        "body": "trafilatura",
        "attachments": "trafilatura",
    }
    assert PROSE in result.paragraphs
    assert result.attachments == (
        Attachment("https://www.amnestyusa.org/files/syria.pdf", "full report"),
    )


def test_json_ld_article_standing_alone() -> None:
    article = {"@context": "https://schema.org", **YOAST_ARTICLE, "author": {"name": "AIUSA"}}
    article["url"] = CANONICAL
    script = f'<script type="application/ld+json">{json.dumps(article)}</script>'
    result = extract_detail(page(script, PLAIN_BODY), LOCAL)
    assert (result.headline, result.author, result.canonical_url) == (
        "Syria: free them",
        "AIUSA",
        CANONICAL,
    )
    assert result.language == "en" and result.provenance["language"] == "html"
    assert result.provenance["canonical_url"] == "json-ld"


def test_opengraph_only() -> None:
    head = (
        '<meta property="og:type" content="article">'
        '<meta property="og:title" content="Syria: free them">'
        f'<meta property="og:url" content="{CANONICAL}">'
        '<meta property="og:locale" content="es_ES">'
        '<meta property="article:published_time" content="2024-05-01T14:30:00+00:00">'
        '<meta property="article:modified_time" content="2025-03-03T09:00:00Z">'
    )
    result = extract_detail(page(head, PLAIN_BODY, lang=""), LOCAL)
    assert result.headline == "Syria: free them"
    assert result.published_at == "2024-05-01T14:30:00+00:00"
    assert result.modified_at == "2025-03-03T09:00:00Z"
    assert result.canonical_url == CANONICAL
    assert result.language == "es"
    assert {name: result.provenance[name] for name in FIELDS if name in result.provenance} == {
        "headline": "opengraph",
        "published_at": "opengraph",
        "modified_at": "opengraph",
        "canonical_url": "opengraph",
        "language": "opengraph",
        "body": "trafilatura",
        "attachments": "trafilatura",
    }


def test_nothing_but_text_trafilatura_and_htmldate() -> None:
    body = PLAIN_BODY.replace(
        "<h2>Syria: free them</h2>",
        '<h1>Syria: free them</h1><p class="byline">Published <time datetime="2023-11-02">'
        "November 2, 2023</time></p>",
    )
    result = extract_detail(page("", body), LOCAL)
    assert result.headline == "Syria: free them"
    assert result.published_at == "2023-11-02"
    assert result.modified_at is None
    assert PROSE in result.paragraphs and f"{PROSE} Third time." in result.paragraphs
    assert not any("2026" in block or "Older" in block for block in result.paragraphs)
    assert result.provenance == {
        "headline": "html",
        "language": "html",
        "body": "trafilatura",
        "attachments": "trafilatura",
        "published_at": "htmldate",
    }


def test_decoy_dates_are_never_the_publication_date() -> None:
    """Only decoys: a related release's date, the copyright year, a date in the text."""
    body = PLAIN_BODY.replace("Second time.", "Since March 1, 2017, nothing changed.")
    result = extract_detail(page("", body), LOCAL)
    assert result.published_at is None
    assert "published_at" not in result.provenance


def test_attachments_in_the_main_element_of_an_unknown_page() -> None:
    body = (
        '<body><nav><a href="/annual-report.pdf">Annual report</a></nav><main>'
        f'<p>{PROSE}</p><p><a href="reports/x.PDF?v=2">Report</a> <a href="/x/">page</a></p>'
        '<div class="share-buttons"><a href="/share.pdf">Share</a></div></main></body>'
    )
    result = extract_detail(page("", body), LOCAL)
    assert result.attachments == (
        Attachment(
            "http://127.0.0.1:8765/press-releases/syria-free-them/reports/x.PDF?v=2", "Report"
        ),
    )
    assert result.provenance["attachments"] == "html"


def test_bytes_in_the_declared_or_a_fallback_encoding() -> None:
    html = page(f'<link rel="canonical" href="{CANONICAL}">', SITE_BODY.replace("Syria:", "Sýria:"))
    assert extract_detail(html.encode("utf-8"), LOCAL).headline == "Sýria: free them"
    assert extract_detail(html.encode("cp1252", "replace"), LOCAL, encoding="utf-8").headline == (
        "Sýria: free them"
    )


@pytest.mark.parametrize(
    "html",
    [
        '<?xml version="1.0" encoding="utf-8"?><html><body><h1 class="entry-title">T</h1>'
        '<div class="related-posts"><time datetime="2018-01-01">x</time></div></body></html>',
        '<html><head><link rel="canonical" href="http://[::1"></head><body>'
        '<h1 class="entry-title">T</h1><div class="entry-content"><a href="http://[::1/a.pdf">'
        'a</a></div><div class="post-tags"><a rel="tag" href="http://[::1/countries/x/">x</a>'
        "</div></body></html>",
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle", '
        '"headline": ["T"], "author": 7, "datePublished": "soon", "inLanguage": "English",'
        "</script></head><body><p>x</p></body></html>",
        "<div>" * 3000 + "<p>deep</p>" + "</div>" * 3000,
        bytes(range(256)) * 4,
    ],
    ids=["xml-declaration", "broken-urls", "broken-json-ld", "deep", "binary"],
)
def test_odd_pages_give_what_they_can_and_never_raise(html: str | bytes) -> None:
    result = extract_detail(html, LOCAL)
    assert set(result.provenance) <= {
        name for name in DetailPage.__dataclass_fields__ if getattr(result, name)
    }
    assert result.published_at is None and result.canonical_url is None


def test_an_empty_page_has_no_field() -> None:
    assert extract_detail(b"", LOCAL) == DetailPage()
    assert extract_detail("<html><body></body></html>", LOCAL).provenance == {}


def loaded_after(statement: str) -> list[str]:
    """Which of the detail extractor's modules and libraries `statement` loads (fresh process)."""
    names = ("archiver.extract.detail", "trafilatura", "extruct", "htmldate")
    code = f"import sys; {statement}; print([m for m in {names!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.replace("'", '"'))


def test_heavy_libraries_are_not_imported_with_the_module() -> None:
    assert loaded_after("import archiver.extract.detail") == ["archiver.extract.detail"]
    assert loaded_after("import archiver.extract") == []  # a listing crawl loads none of it


def test_a_page_of_a_known_site_runs_neither_trafilatura_nor_htmldate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import archiver.extract.detail as detail

    def refuse(*args: object) -> None:
        raise AssertionError("a generic extractor ran on a site page")

    monkeypatch.setattr(detail, "trafilatura_body", refuse)
    monkeypatch.setattr(detail, "htmldate_published", refuse)
    result = extract_detail(page("", SITE_BODY), LOCAL)
    assert result.provenance["body"] == "site"


# ------------------------------------------------------------------ fixture cases on disk ------


def test_detail_fixture_cases_exist() -> None:
    assert CASES, (
        f"no detail fixture case in {FIXTURES}: expected <case>/input.html, expected.json and "
        "meta.json (the local site's hand-picked release pages)"
    )


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name)
def test_detail_fixture_case(case: Path) -> None:
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    url = meta.get("page_url") or f"http://127.0.0.1:8765/fixtures/{case.name}/"
    result = extract_detail((case / "input.html").read_bytes(), url)
    got = {name: getattr(result, name) for name in FIELDS}
    got["tags"] = list(result.tags)
    got["attachments"] = [attachment.url for attachment in result.attachments]
    missing = [name for name in (*FIELDS, "provenance") if name not in expected]
    assert not missing, f"{case.name}/expected.json lacks {missing}"
    assert got == {name: expected[name] for name in FIELDS}
    provenance = {name: how for name, how in result.provenance.items() if name in FIELDS}
    assert provenance == expected["provenance"]


# ------------------------------------------------------------------ the local site's pages -----


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _same_moment(found: str | None, truth: str | None) -> bool:
    if found is None or truth is None or "T" not in found:
        return found == truth
    return datetime.fromisoformat(found) == datetime.fromisoformat(truth)


def test_every_local_release_page_reads_as_its_truth() -> None:
    from archiver.demo.dataset import build_dataset
    from archiver.demo.details import detail_pages

    pages = list(detail_pages(build_dataset()))
    assert len(pages) > 100
    wrong = []
    for path, body, truth in pages:
        result = extract_detail(body, "http://127.0.0.1:8765" + path)
        published = _iso(truth.published_at) or truth.published_on.isoformat()
        checks = {
            "headline": result.headline == truth.headline,
            "body": result.body == truth.body,
            "published_at": _same_moment(result.published_at, published),
            "modified_at": _same_moment(result.modified_at, _iso(truth.modified_at)),
            "contact": result.contact == truth.contact,
            "tags": result.tags == truth.tags,
            "attachments": tuple(a.url for a in result.attachments) == truth.attachments,
            "canonical_url": result.canonical_url == truth.canonical_url,
            "language": result.language == truth.language,
            "site": all(result.provenance[name] == "site" for name in ("headline", "body")),
        }
        wrong.extend(f"{path}: {name}" for name, ok in checks.items() if not ok)
    assert wrong == []
