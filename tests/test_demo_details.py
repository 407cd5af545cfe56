"""The local site's release (detail) pages: what they show, that the truth says what they show,
and that the server answers them like the real site (200 + ETag/304, 301 for a move, 404/410
for a deletion, faults on any path).

The truth (`detail_truth`) is computed from the renderer's decisions, not from its HTML; here a
plain lxml reading of every page, the way a careful person reads it, must give the same values.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from lxml import html as lxml_html

from archiver.demo.build import SITE_DIR, load_site
from archiver.demo.dataset import (
    Dataset,
    build_dataset,
    with_body,
    with_deleted,
    with_headline,
    with_moved,
    with_title,
)
from archiver.demo.details import (
    SITE,
    DetailTruth,
    detail_pages,
    detail_site,
    detail_truth,
    render_detail,
    strip_ellipsis,
)
from archiver.demo.faults import Fault, FaultPlan
from archiver.demo.render import render_site
from archiver.demo.server import DemoServer

FIXTURES = Path(__file__).parent / "fixtures" / "detail"
MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return build_dataset()


@pytest.fixture(scope="module")
def pages(dataset: Dataset) -> list[tuple[str, bytes, DetailTruth]]:
    return list(detail_pages(dataset))


def collapse(text: str) -> str:
    return " ".join(text.split())


def visible_date(text: str) -> date:
    if " de " in text:
        day, month, year = text.split(" de ")
        return date(int(year), MONTHS_ES.index(month) + 1, int(day))
    return datetime.strptime(text, "%B %d, %Y").date()


def read_page(body: bytes) -> dict[str, object]:
    """The contract's fields as a careful person reads them off the page (no truth code used)."""
    root = lxml_html.document_fromstring(body.decode("utf-8"))
    content = root.cssselect(".entry-content")[0]
    blocks = [collapse(node.text_content()) for node in content.iter("p", "h2", "h3", "li")]
    published = root.cssselect(".entry-header .entry-date")[0]
    updated = root.cssselect(".entry-updated time")
    contact = root.cssselect("aside.press-contact p")
    tags = []
    for link in root.cssselect(".post-tags a[rel=tag]"):
        folder, value = link.get("href").strip("/").split("/")
        key = {"countries": "country", "issues": "issue", "topics": "topic"}[folder]
        tags.append(f"{key}={value}")
    documents = [
        urljoin(SITE, link.get("href"))
        for link in content.cssselect("a[href]") + root.cssselect(".attachments a[href]")
        if link.get("href").lower().endswith((".pdf", ".doc", ".docx"))
    ]

    def moment(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).astimezone(UTC)

    return {
        "headline": collapse(root.cssselect("h1.entry-title")[0].text_content()),
        "body": "\n\n".join(block for block in blocks if block),
        "published_on": visible_date(published.text_content()),
        "published_at": moment(published.get("datetime")),
        "modified_at": moment(updated[0].get("datetime")) if updated else None,
        "contact": collapse(contact[0].text_content()) if contact else None,
        "tags": tuple(tags),
        "attachments": tuple(dict.fromkeys(documents)),
        "canonical_url": root.cssselect("link[rel=canonical]")[0].get("href"),
        "language": root.get("lang").split("-")[0].lower(),
        "jsonld": bool(root.cssselect("script[type='application/ld+json']")),
        "opengraph": bool(root.cssselect("meta[property^='og:']")),
    }


def related_titles(body: bytes) -> list[str]:
    root = lxml_html.document_fromstring(body.decode("utf-8"))
    return [collapse(h3.text_content()) for h3 in root.cssselect(".related-posts h3")]


# ---------------------------------------------------------------- content and truth -------------


def test_every_release_has_a_page_or_a_planned_move_or_deletion(dataset: Dataset, pages) -> None:
    served = {path for path, _, _ in pages}
    site = detail_site(dataset)
    for release in dataset.releases:
        if release.detail.gone:
            assert site.gone[release.path] in (404, 410) and release.path not in served
        elif release.detail.moved_to:
            assert site.redirects[release.path] == release.page_path in served
            assert release.path not in served
        else:
            assert release.path in served
    assert len(pages) == len(dataset.releases) - len(site.gone)
    assert len(site.redirects) == 3 and sorted(site.gone.values()) == [404, 404, 410]


def test_a_plain_reading_of_every_page_gives_its_truth(pages) -> None:
    for path, body, truth in pages:
        read = read_page(body)
        want = {name: getattr(truth, name) for name in read}
        assert read == want, path
        assert truth.canonical_url == SITE + path


def test_metadata_says_what_the_page_shows(pages) -> None:
    for path, body, truth in pages:
        root = lxml_html.document_fromstring(body.decode("utf-8"))
        scripts = root.cssselect("script[type='application/ld+json']")
        og = {m.get("property"): m.get("content") for m in root.cssselect("meta[property]")}
        if truth.jsonld:
            graph = json.loads(scripts[0].text)["@graph"]
            article = next(node for node in graph if node["@type"] == "NewsArticle")
            assert article["headline"] == truth.headline, path
            assert truth.published_at is not None
            assert datetime.fromisoformat(article["datePublished"]) == truth.published_at
            modified = article.get("dateModified")
            assert (modified and datetime.fromisoformat(modified)) == (truth.modified_at or None)
            assert article["inLanguage"].split("-")[0] == truth.language
        if truth.opengraph:
            assert og["og:url"] == truth.canonical_url and og["og:title"] == truth.headline
            assert truth.published_at is not None
            published = datetime.fromisoformat(og["article:published_time"])
            assert published == truth.published_at
        if truth.published_at is None:  # only a visible date: nothing machine-readable at all
            assert not truth.jsonld and not truth.opengraph and truth.modified_at is None
            assert b"datetime=" not in body and b"published_time" not in body


def test_the_card_summary_starts_the_first_or_second_paragraph(dataset: Dataset, pages) -> None:
    """Except on the pages planned otherwise: the Spanish ones and two English ones."""
    mismatched = set()
    for release in dataset.releases:
        if release.detail.gone:
            continue
        paragraphs = detail_truth(release).body.split("\n\n")[:2]
        prefix = collapse(strip_ellipsis(release.summary))
        if not any(paragraph.startswith(prefix) for paragraph in paragraphs):
            mismatched.add(release.slug)
    planned = {
        r.slug
        for r in dataset.releases
        if not r.detail.gone and (r.detail.language != "en" or not r.detail.summary_in_body)
    }
    assert mismatched == planned and len(planned) == 5


def test_proportions(dataset: Dataset, pages) -> None:
    truths = [truth for _, _, truth in pages]
    count = len(truths)
    jsonld = sum(t.jsonld for t in truths)
    assert 0.7 * count < jsonld < count
    assert 0.6 * count < sum(t.opengraph for t in truths) < count
    visible_only = [t for t in truths if t.published_at is None]
    assert 0.05 * count < len(visible_only) < 0.2 * count
    assert 0.05 * count < sum(bool(t.attachments) for t in truths) < 0.3 * count
    assert 0.15 * count < sum(t.modified_at is not None for t in truths) < 0.45 * count
    assert [t.language for t in truths].count("es") == 3
    assert {t.language for t in truths} == {"en", "es"}
    edited = [r for r in dataset.releases if r.detail.headline]
    assert len(edited) == 3
    assert all(detail_truth(r).headline != r.title.strip() for r in edited)
    assert sum(r.detail.headline == "" and r.title != r.title.strip() for r in dataset.releases)
    assert any(t.contact is None for t in truths) and any(t.contact for t in truths)
    assert any(tag.startswith("topic=") for t in truths for tag in t.tags)
    letters = [t for t in truths if "\n\nSincerely,\n\n" in t.body]
    assert len(letters) >= 5 and all("\n\nDear " in t.body for t in letters)
    assert all(3 <= len(t.body.split("\n\n")) <= 14 for t in truths)


def test_tags_come_from_the_facets(dataset: Dataset) -> None:
    truth = detail_truth(next(r for r in dataset.releases if "-ru" in r.slug[-5:]))
    assert truth.tags[:2] == ("country=russian-federation", "country=ukraine")
    syria_refugees = next(
        r
        for r in dataset.releases
        if r.facets == {"country=syria", "issue=refugee-migrant-rights"} and not r.detail.gone
    )
    tags = detail_truth(syria_refugees).tags
    assert tags[:2] == ("country=syria", "issue=refugee-migrant-rights")
    body = render_detail(syria_refugees, dataset)
    assert (
        '<a href="/issues/refugee-migrant-rights/" rel="tag">Refugee and Migrant Rights</a>' in body
    )


def test_the_truth_body_holds_no_caption_credit_contact_or_chrome(pages) -> None:
    for path, body, truth in pages:
        root = lxml_html.document_fromstring(body.decode("utf-8"))
        for node in root.cssselect("figcaption, .credit, aside.press-contact p"):
            assert collapse(node.text_content()) not in truth.body, path
        for chrome in ("Share this", "Related content", "Get the latest news", "©", "Tags:"):
            assert chrome not in truth.body, path


def test_no_related_title_in_a_body_but_its_own(pages) -> None:
    """Exhaustive over the site: a related card's title never leaks into another body."""
    for path, body, truth in pages:
        titles = related_titles(body)
        assert len(titles) == 3, path
        for title in titles:
            assert title == truth.headline or title not in truth.body, (path, title)


def test_pages_are_deterministic_and_independent_of_hash_seeds(dataset: Dataset, pages) -> None:
    assert list(detail_pages(build_dataset())) == pages
    digest = hashlib.sha256(b"".join(body for _, body, _ in pages)).hexdigest()
    code = (
        "import hashlib;from archiver.demo.dataset import build_dataset;"
        "from archiver.demo.details import detail_pages;"
        "print(hashlib.sha256(b''.join(b for _, b, _ in detail_pages(build_dataset())))"
        ".hexdigest())"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    other = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == digest


def test_the_shipped_copy_holds_every_page(pages) -> None:
    current, previous = load_site("current"), load_site("previous")
    assert dict(current.details) == {path: body for path, body, _ in pages}
    assert dict(previous.details) == dict(current.details)
    assert current.redirects == detail_site(build_dataset()).redirects
    manifest = json.loads((SITE_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["detail_pages"] == len(pages)


# ---------------------------------------------------------------- scenario helpers --------------


def test_scenario_helpers_change_the_page_not_the_listing(dataset: Dataset) -> None:
    release = next(r for r in dataset.releases if not r.detail.gone and not r.detail.moved_to)
    before = render_site(dataset)
    edited = with_body(
        dataset,
        release.slug,
        "A paragraph added later.",
        modified_at=datetime(2026, 12, 3, tzinfo=UTC),
    )
    truth = detail_truth(edited.by_slug(release.slug))
    assert truth.body == detail_truth(release).body + "\n\nA paragraph added later."
    if truth.published_at is not None:
        assert truth.modified_at == datetime(2026, 12, 3, tzinfo=UTC)
    replaced = with_body(dataset, release.slug, "Only this.", replace_body=True)
    assert detail_truth(replaced.by_slug(release.slug)).body == "Only this."
    retitled = with_headline(dataset, release.slug, "A new headline")
    assert detail_truth(retitled.by_slug(release.slug)).headline == "A new headline"
    assert (
        detail_truth(
            with_title(dataset, release.slug, "Card and page").by_slug(release.slug)
        ).headline
        == "Card and page"
    )
    for changed in (edited, replaced, retitled):
        after = render_site(changed)
        assert after.pages == before.pages  # listing pages byte-identical
        assert after.details[release.path] != before.details[release.path]
    moved = render_site(with_moved(dataset, release.slug))
    new_path = release.path[:-1] + "-2/"
    assert moved.lookup(release.path) == (301, b"")
    assert moved.location(release.path + "?utm_source=x") == new_path + "?utm_source=x"
    status, body = moved.lookup(new_path)
    assert status == 200 and f'href="{SITE}{new_path}"'.encode() in body
    deleted = render_site(with_deleted(dataset, release.slug, 410))
    assert deleted.lookup(release.path)[0] == 410
    assert render_site(with_deleted(dataset, release.slug)).lookup(release.path)[0] == 404
    with pytest.raises(LookupError):
        detail_truth(with_deleted(dataset, release.slug).by_slug(release.slug))
    with pytest.raises(ValueError):
        with_moved(dataset, release.slug, dataset.releases[0].slug)


def test_rendered_pages_can_be_replaced_like_listing_pages(dataset: Dataset) -> None:
    site = render_site(dataset)
    path = next(iter(site.details))
    site.details[path] = b"<html>changed</html>"
    assert site.lookup(path) == (200, b"<html>changed</html>")
    del site.details[path]
    assert site.lookup(path)[0] == 404 and path not in site.details
    assert len(site.details) == len(list(site.details))


# ---------------------------------------------------------------- over HTTP ---------------------


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(layout="current") as demo:
        yield demo


def get(server: DemoServer, path: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """One GET that never follows a redirect: (status, headers, body)."""
    host, port = urlsplit(server.base_url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def test_a_release_page_is_served_with_an_etag(server: DemoServer, pages) -> None:
    path, body, _ = pages[0]
    status, headers, served = get(server, path)
    assert (status, served) == (200, body)
    assert headers["Content-Type"] == "text/html; charset=UTF-8"
    etag = headers["ETag"]
    assert get(server, path, {"If-None-Match": etag})[:1] == (304,)
    assert get(server, path + "?utm_source=newsroom")[2] == body  # tracking noise ignored
    assert get(server, path.rstrip("/"))[2] == body


def test_a_moved_release_answers_301_then_its_page_at_the_new_path(server: DemoServer) -> None:
    for old, new in server.site.redirects.items():
        status, headers, body = get(server, old)
        assert (status, headers["Location"], body) == (301, new, b"")
        status, _, page = get(server, new)
        assert status == 200
        root = lxml_html.document_fromstring(page.decode("utf-8"))
        assert root.cssselect("link[rel=canonical]")[0].get("href") == SITE + new


def test_a_deleted_release_answers_404_or_410(server: DemoServer) -> None:
    assert sorted(server.site.gone.values()) == [404, 404, 410]
    for path, want in server.site.gone.items():
        status, _, body = get(server, path)
        assert status == want and b'<h1 class="entry-title">' not in body


def test_a_release_page_under_a_503_storm(server: DemoServer, pages) -> None:
    path, body, _ = pages[5]
    server.faults = FaultPlan({path: Fault("status", status=503, times=2)})
    try:
        assert [get(server, path)[0] for _ in range(3)] == [503, 503, 200]
        assert get(server, path)[2] == body
        assert server.faults.tries[path] == 4
    finally:
        server.faults = FaultPlan()


def test_every_layout_serves_the_same_release_pages(pages) -> None:
    path, body, _ = pages[1]
    with DemoServer(layout="redesign") as demo:
        assert get(demo, path)[:3:2] == (200, body)


# ---------------------------------------------------------------- hand-written fixtures ---------


CASES = sorted(path.parent for path in FIXTURES.glob("*/expected.json"))


def test_fixture_cases_exist() -> None:
    names = {case.name for case in CASES}
    assert len(names) >= 7, names


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name)
def test_fixture_agrees_with_the_truth_and_the_shipped_page(case: Path, dataset: Dataset) -> None:
    """expected.json was written by hand from reading input.html: it must say what the truth
    says, and input.html must still be the page the local copy serves."""
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    assert meta["why"]
    path = urlsplit(expected["canonical_url"]).path
    body = (case / "input.html").read_bytes()
    assert load_site("current").details[path] == body
    truth = next(t for p, _, t in detail_pages(dataset) if p == path)
    published = (
        truth.published_at.isoformat() if truth.published_at else truth.published_on.isoformat()
    )
    assert expected["headline"] == truth.headline
    assert expected["body"] == truth.body
    assert expected["published_at"] == published
    assert expected["modified_at"] == (truth.modified_at.isoformat() if truth.modified_at else None)
    assert expected["contact"] == truth.contact
    assert expected["tags"] == list(truth.tags)
    assert expected["attachments"] == list(truth.attachments)
    assert expected["language"] == truth.language
    assert set(expected["provenance"]) <= set(expected)
