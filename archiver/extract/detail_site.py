"""Where a known site keeps each field of a release page: selectors as data, and their reading.

A site's release pages are read first by its own selectors (`DetailLayout`), the surest way
when the markup is known: amnestyusa.org's WordPress markup is `AMNESTYUSA_DETAIL` below. A new
site is a new `DetailLayout`, not new code. Every field has selectors tried in order; the first
that gives a usable value wins (for dates: one that reads as a date). Nothing inside the page's
chrome (`chrome`: navigation, related releases, newsletter and share boxes, the site footer) is
ever read as a field, so a related release's date is never the page's date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from lxml import etree
from parsel.csstranslator import css2xpath

from archiver.extract.detail_values import date_value, text_blocks, text_value, url_value
from archiver.extract.nodes import HEADINGS, Node, exact_text

#: The text blocks of a release body (`blockquote` splits into its paragraphs, if it has any).
BODY_BLOCKS = frozenset({"p", "h2", "h3", "h4", "h5", "h6", "blockquote", "li", "pre"})
#: Elements that separate pieces of a contact box's text.
CONTACT_BLOCKS = frozenset({"p", "div", "li", "address", "dd", "dt", *HEADINGS})

#: Links to files of these types in the body are attachments.
DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".odt", ".zip")

#: Page boxes that are no part of a release, in WordPress themes in general.
DEFAULT_CHROME = (
    "nav",
    ".site-header",
    ".site-footer",
    "body > footer",
    "[role=navigation]",
    "[role=contentinfo]",
    ".related-posts",
    ".related-content",
    ".jp-relatedposts",
    ".newsletter-signup",
    ".share-buttons",
    ".sharedaddy",
    ".social-share",
)


class Link(NamedTuple):
    """A candidate attachment: the link's href as written, its text, whether a documents box
    holds it (else it is a document link of the body)."""

    href: str
    title: str | None
    boxed: bool


@dataclass(frozen=True)
class DetailLayout:
    """One site's release-page markup: CSS selectors per field, tried in order."""

    name: str
    headline: tuple[str, ...]
    content: tuple[str, ...]  # the body container; its BODY_BLOCKS are the body
    left_out: tuple[str, ...]  # inside the body container, never body text (nor is chrome)
    published: tuple[str, ...]  # `::attr(datetime)` or an element whose text is a date
    modified: tuple[str, ...]
    contact: tuple[str, ...]  # the press-contact box; read without its headings
    tags: tuple[str, ...]  # tag links; their paths give facets by `tag_sections`
    tag_sections: tuple[tuple[str, str], ...]  # (path section, facet key): countries -> country
    attachments: tuple[str, ...]  # links of a documents box (any file type)
    document_extensions: tuple[str, ...] = DOCUMENT_EXTENSIONS  # body links to such files
    chrome: tuple[str, ...] = DEFAULT_CHROME
    # Parts of the article whose dates are not its publication date (the "Updated" note):
    # left out of what htmldate reads when the page shows no publication date of its own.
    date_decoys: tuple[str, ...] = ()

    def matches(self, root: Node, chrome: set[Node]) -> bool:
        """Whether the page has this layout's headline or body container (outside chrome)."""
        return any(_outside(root, css, chrome) for css in (*self.headline, *self.content))


AMNESTYUSA_DETAIL = DetailLayout(
    name="amnestyusa",
    headline=("h1.entry-title", ".entry-header h1"),
    content=(".entry-content", ".wp-block-post-content"),
    left_out=(
        "figure",
        "figcaption",
        ".credit",
        ".wp-caption-text",
        ".press-contact",
        ".attachments",
        ".post-tags",
    ),
    published=(
        "time.entry-date.published::attr(datetime)",
        ".entry-date.published::attr(datetime)",
        ".entry-meta .entry-date",
        ".entry-header .entry-date",
        ".entry-date",
    ),
    modified=(
        ".entry-updated time::attr(datetime)",
        ".entry-updated time",
        "time.updated:not(.published)::attr(datetime)",  # WordPress: one time for both
    ),
    contact=(".press-contact",),
    tags=(".post-tags a[rel~=tag]", ".entry-footer a[rel~=tag]"),
    tag_sections=(("countries", "country"), ("issues", "issue"), ("topics", "topic")),
    attachments=(".attachments a[href]",),
    date_decoys=(".entry-updated", "time.updated:not(.published)"),
)

DETAIL_LAYOUTS: tuple[DetailLayout, ...] = (AMNESTYUSA_DETAIL,)


@dataclass(frozen=True, slots=True)
class SiteReading:
    """What a layout's selectors found on a page: field values (only those found) and the
    attachment candidates in page order (hrefs as written)."""

    layout: DetailLayout
    fields: dict[str, Any]
    links: tuple[Link, ...]


@cache
def _xpath(css: str) -> Any:
    # Smart strings: an attribute value still knows its element, to tell if it is chrome.
    return etree.XPath(css2xpath(css))


def chrome_nodes(root: Node, selectors: Iterable[str]) -> set[Node]:
    """The page's chrome boxes (their subtrees are no part of the release)."""
    return {node for css in selectors for node in _xpath(css)(root)}


def in_chrome(node: Node, chrome: set[Node]) -> bool:
    """Whether `node` is one of the chrome boxes or inside one."""
    while node is not None:
        if node in chrome:
            return True
        node = node.getparent()
    return False


def _outside(context: Node, css: str, chrome: set[Node]) -> list[Any]:
    """The matches of `css` under `context` (elements or attribute values) outside chrome."""
    found = _xpath(css)(context)
    if not chrome:
        return found
    return [m for m in found if not in_chrome(m if hasattr(m, "tag") else m.getparent(), chrome)]


class PageChrome:
    """One page's chrome boxes, found once per selector list: the site reading, the document
    links and the generic readings all leave out the same boxes (finding them costs about as
    much as the site's fields)."""

    def __init__(self, root: Node) -> None:
        self.root = root
        self._found: dict[tuple[str, ...], set[Node]] = {}

    def __call__(self, selectors: tuple[str, ...]) -> set[Node]:
        found = self._found.get(selectors)
        if found is None:
            found = self._found[selectors] = chrome_nodes(self.root, selectors)
        return found


def read_site(
    root: Node,
    page_url: str,
    layouts: tuple[DetailLayout, ...] = DETAIL_LAYOUTS,
    page_chrome: PageChrome | None = None,
) -> SiteReading | None:
    """The fields the first layout that matches the page finds; None when none matches."""
    page_chrome = page_chrome or PageChrome(root)
    for layout in layouts:
        chrome = page_chrome(layout.chrome)
        if layout.matches(root, chrome):
            return _read(root, page_url, layout, chrome)
    return None


def _read(root: Node, page_url: str, layout: DetailLayout, chrome: set[Node]) -> SiteReading:
    content = _first(root, layout.content, chrome)
    fields: dict[str, Any] = {
        "headline": _first_value(root, layout.headline, chrome, _text_of),
        "body": _body(content, layout, chrome) if content is not None else None,
        "published_at": _first_value(root, layout.published, chrome, _date_of),
        "modified_at": _first_value(root, layout.modified, chrome, _date_of),
        "contact": _contact(_first(root, layout.contact, chrome)),
        "tags": _tags(root, page_url, layout, chrome),
    }
    found = {name: value for name, value in fields.items() if value}
    return SiteReading(layout, found, _links(root, content, layout, chrome))


def _text(match: Any) -> str:
    return exact_text(match) if hasattr(match, "tag") else str(match)


def _text_of(match: Any) -> str | None:
    return text_value(_text(match))


def _date_of(match: Any) -> str | None:
    return date_value(_text(match))


def _first(root: Node, selectors: tuple[str, ...], chrome: set[Node]) -> Node | None:
    for css in selectors:
        if found := _outside(root, css, chrome):
            return found[0]
    return None


def _first_value(
    root: Node, selectors: tuple[str, ...], chrome: set[Node], read: Callable[[Any], Any]
) -> Any:
    """The first match, in selector order, that `read` makes a value of."""
    for css in selectors:
        for match in _outside(root, css, chrome):
            if (value := read(match)) is not None:
                return value
    return None


def _body(content: Node, layout: DetailLayout, chrome: set[Node]) -> str | None:
    left_out = chrome | chrome_nodes(content, layout.left_out)
    blocks = text_blocks(content, BODY_BLOCKS, left_out)
    return "\n\n".join(blocks) or None


def _contact(box: Node | None) -> str | None:
    """The box's text without its headings ("Press contact"), on one line."""
    if box is None:
        return None
    headings = [node for node in box.iter() if node.tag in HEADINGS]
    return text_value(" ".join(text_blocks(box, CONTACT_BLOCKS, headings, loose=True)))


def _tags(root: Node, page_url: str, layout: DetailLayout, chrome: set[Node]) -> tuple[str, ...]:
    """Facet strings of the tag links, in page order, once each."""
    sections = dict(layout.tag_sections)
    for css in layout.tags:
        links = _outside(root, css, chrome)
        if links:
            facets = (tag_facet(link.get("href", ""), page_url, sections) for link in links)
            return tuple(dict.fromkeys(facet for facet in facets if facet))
    return ()


def tag_facet(href: str, page_url: str, sections: dict[str, str]) -> str | None:
    """The facet a tag link names: its path's last two segments as (section, slug).

    >>> tag_facet("/countries/syria/", "http://127.0.0.1:8000/x/", {"countries": "country"})
    'country=syria'
    >>> tag_facet("/tag/misc/", "https://x.org/", {"countries": "country"}) is None
    True
    """
    if not (url := url_value(href, page_url)):
        return None
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) < 2 or segments[-2] not in sections:
        return None
    return f"{sections[segments[-2]]}={unquote(segments[-1]).lower()}"


def _links(
    root: Node, content: Node | None, layout: DetailLayout, chrome: set[Node]
) -> tuple[Link, ...]:
    """The documents box's links and the body's document links, in page order."""
    boxed = {node for css in layout.attachments for node in _outside(root, css, chrome)}
    in_body = set(content.iter("a")) if content is not None else set()
    links = []
    for anchor in root.iter("a"):
        href = anchor.get("href") or ""
        if anchor in boxed or (anchor in in_body and is_document(href, layout.document_extensions)):
            links.append(Link(href, text_value(exact_text(anchor)), anchor in boxed))
    return tuple(links)


def is_document(href: str, extensions: tuple[str, ...] = DOCUMENT_EXTENSIONS) -> bool:
    """Whether a link's path ends in one of the document extensions (any letter case).

    >>> is_document("/wp-content/uploads/x.PDF?v=2"), is_document("/reports/x/")
    (True, False)
    """
    try:
        path = urlsplit(href.strip()).path.lower()
    except ValueError:
        return False
    return path.endswith(extensions)
