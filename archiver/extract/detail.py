"""A release (detail) page's HTML in, its fields out, each with the extractor that found it.

Pure: no network, no database, no Scrapy, so archived pages can be read again later with the
same code. For every field the surest reading comes first and the next is asked only for what
is still missing:

1. the site's own selectors (`detail_site.DETAIL_LAYOUTS`), when the page has its markup;
   for the language and the canonical URL, what the HTML declares (`<html lang>`,
   `<link rel=canonical>`: `html`), the standard's own place for them;
2. JSON-LD, then OpenGraph (extruct; `detail_meta`);
3. generic readings: the page's single `h1` and the document links of its `article`/`main`
   element (`html`); trafilatura for the body (and its document links when the page has no
   main element), htmldate for the publication date (`detail_generic`).

The modification date has no generic reading: htmldate's "latest date" of a page is as often
a related release's date or the copyright year as an edit.

A field nobody found is None (or empty) and absent from `provenance`. extruct, trafilatura and
htmldate are imported on first use: `import archiver.extract.detail` does not load them, so a
listing crawl does not pay ~0.4 s for them.

Speed (a 13.6 KB release page in the site's markup, best of 9 rounds on the development
machine): the site path, extruct included, 2.0 ms a page; the same page stripped of its classes
and metadata (trafilatura and htmldate) 4.8 ms; trafilatura alone 4.9 ms (`extract` with its
defaults), 7.5 ms (`favor_precision`, no comments or tables), 3.7 ms (the same, `fast`). extruct
reads the tree already parsed: 0.07 ms a page, against 0.32 ms given the HTML. trafilatura runs
with `fast=True` (its own extractor without the readability/jusText fallbacks): the fallbacks
doubled its time and gave the same text on all 204 release pages of the local site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag

from parsel import Selector

from archiver.extract import decode_html
from archiver.extract.detail_generic import (
    HTMLDATE,
    TRAFILATURA,
    drop_boxes,
    htmldate_published,
    main_document_links,
    trafilatura_body,
)
from archiver.extract.detail_meta import (
    HTML,
    JSON_LD,
    OPENGRAPH,
    declared_fields,
    headline_fields,
    metadata,
)
from archiver.extract.detail_site import (
    DEFAULT_CHROME,
    DETAIL_LAYOUTS,
    DOCUMENT_EXTENSIONS,
    DetailLayout,
    Link,
    PageChrome,
    SiteReading,
    read_site,
)
from archiver.extract.detail_values import rebased, url_value

__all__ = [
    "DETAIL_LAYOUTS",
    "EXTRACTORS",
    "HTML",
    "HTMLDATE",
    "JSON_LD",
    "OPENGRAPH",
    "SITE",
    "TRAFILATURA",
    "Attachment",
    "DetailLayout",
    "DetailPage",
    "extract_detail",
]

SITE = "site"
#: Every value `DetailPage.provenance` can hold, from the surest to the most generic.
EXTRACTORS = (SITE, JSON_LD, OPENGRAPH, HTML, TRAFILATURA, HTMLDATE)
#: The fields JSON-LD or OpenGraph can state.
METADATA_FIELDS = (
    "headline",
    "published_at",
    "modified_at",
    "author",
    "keywords",
    "language",
    "canonical_url",
)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A document the release links to (PDF, Word, spreadsheet, archive)."""

    url: str  # absolute, without fragment
    title: str | None = None  # the link's text


@dataclass(frozen=True, slots=True)
class DetailPage:
    """What a release page says about itself; `provenance` names each field's extractor."""

    headline: str | None = None
    body: str | None = None  # text blocks joined with "\n\n"
    published_at: str | None = None  # ISO 8601 as found: "2024-05-01T14:30:00+00:00", "2024-05-01"
    modified_at: str | None = None
    author: str | None = None  # JSON-LD author name(s)
    contact: str | None = None  # the press-contact box, without its heading
    tags: tuple[str, ...] = ()  # facet strings: "country=syria", "issue=...", "topic=..."
    attachments: tuple[Attachment, ...] = ()
    canonical_url: str | None = None
    language: str | None = None  # primary subtag: "en", "es"
    provenance: dict[str, str] = field(default_factory=dict)  # field -> one of EXTRACTORS
    keywords: tuple[str, ...] = ()  # JSON-LD keywords, as written (names, not facet slugs)

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """The body's blocks (paragraphs, headings, quotes, list items) in order."""
        return tuple(self.body.split("\n\n")) if self.body else ()

    @property
    def first_paragraph(self) -> str | None:
        """The body's first block: on a release, the dateline and its framing sentence."""
        return self.paragraphs[0] if self.body else None


class _Found:
    """Field values and who found them; the first extractor to offer a value keeps it."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.provenance: dict[str, str] = {}

    def offer(self, fields: dict[str, Any], extractor: str) -> None:
        for name, value in fields.items():
            if value and name not in self.values:
                self.values[name] = value
                self.provenance[name] = extractor

    def missing(self, *names: str) -> bool:
        return any(name not in self.values for name in names)


def extract_detail(
    body: bytes | str,
    url: str,
    *,
    encoding: str | None = None,
    layouts: tuple[DetailLayout, ...] = DETAIL_LAYOUTS,
) -> DetailPage:
    """Read a release page (`body` as text, or bytes in `encoding`) fetched from `url`.

    Relative links resolve against the page's canonical URL when it states one, so the
    attachments of a local copy of the site (127.0.0.1:PORT) are the site's own URLs.
    """
    text = _text(body, encoding)
    if not text.strip():
        return DetailPage()
    root = Selector(text=text, base_url=url).root
    page_chrome = PageChrome(root)
    found = _Found()
    site = read_site(root, url, layouts, page_chrome)
    if site is not None:
        found.offer(site.fields, SITE)
    found.offer(declared_fields(root, url), HTML)
    if found.missing(*METADATA_FIELDS):
        for extractor, fields in metadata(root, url):
            found.offer(fields, extractor)
    chrome = page_chrome(site.layout.chrome if site else DEFAULT_CHROME)
    found.offer(headline_fields(root, chrome), HTML)
    _offer_attachments(found, root, url, site, chrome)
    if found.missing("body", "published_at"):
        # The last readers: the tree is no longer needed as it was.
        drop_boxes(chrome | (page_chrome(site.layout.date_decoys) if site else set()))
        _offer_generic(found, root, url)
    return DetailPage(**found.values, provenance=found.provenance)


def _text(body: bytes | str, encoding: str | None) -> str:
    return body if isinstance(body, str) else decode_html(body, encoding)[0]


def _offer_attachments(
    found: _Found, root: Any, url: str, site: SiteReading | None, chrome: set[Any]
) -> None:
    """The site's attachment links, or on a page of unknown markup its main element's."""
    if site is not None:
        links, extractor = site.links, SITE
    else:
        pairs = main_document_links(root, chrome, DOCUMENT_EXTENSIONS)
        links, extractor = tuple(Link(href, title, False) for href, title in pairs), HTML
    canonical = found.values.get("canonical_url")
    found.offer({"attachments": attachments(links, url, canonical)}, extractor)


def attachments(
    links: tuple[Link, ...], page_url: str, canonical_url: str | None
) -> tuple[Attachment, ...]:
    """Absolute attachment URLs, once each in page order; a documents box's link text is
    preferred as the title to a body link's ("click here").

    >>> links = (Link("/a.pdf", "click here", False), Link("/a.pdf#p2", "Report", True),
    ...          Link("mailto:x@y.org", None, True))
    >>> attachments(links, "http://127.0.0.1:8000/r/x/", "https://www.amnestyusa.org/r/x/")
    (Attachment(url='https://www.amnestyusa.org/a.pdf', title='Report'),)
    """
    base = canonical_url or page_url
    found: dict[str, Attachment] = {}
    titled_by_box: set[str] = set()
    for link in links:
        absolute = url_value(link.href, base)
        if absolute is None:
            continue
        absolute = urldefrag(rebased(absolute, page_url, canonical_url)).url
        boxed_title = link.boxed and bool(link.title)
        if absolute not in found or (boxed_title and absolute not in titled_by_box):
            found[absolute] = Attachment(absolute, link.title)  # keeps its first place
        if boxed_title:
            titled_by_box.add(absolute)
    return tuple(found.values())


def _offer_generic(found: _Found, root: Any, url: str) -> None:
    """trafilatura for a missing body (and the attachments it links to, if none were found),
    htmldate for a missing publication date."""
    if found.missing("body"):
        body, pairs = trafilatura_body(root, url)
        links = tuple(Link(href, title, False) for href, title in pairs)
        canonical = found.values.get("canonical_url")
        found.offer({"body": body, "attachments": attachments(links, url, canonical)}, TRAFILATURA)
    if found.missing("published_at"):
        found.offer({"published_at": htmldate_published(root, url)}, HTMLDATE)
