"""Generic readings for what neither the site's selectors nor the page's metadata gave:
the body by trafilatura, the publication date by htmldate, the main element's document links.

Both libraries are imported when first needed, and only called for a field still missing: on
a page of a known site, neither runs. They read the page without its chrome (the layout's
`chrome` boxes: navigation, related releases, newsletter, footer), so a related release's
date or the footer's copyright year is never taken for the page's date.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from lxml.html import HtmlElement, tostring

from archiver.extract.detail_site import in_chrome, is_document
from archiver.extract.detail_values import text_blocks, text_value
from archiver.extract.nodes import Node, compiled

logger = logging.getLogger(__name__)

TRAFILATURA = "trafilatura"
HTMLDATE = "htmldate"

#: trafilatura's block elements (its XML: `head` is a heading, `item` a list item).
TRAFILATURA_BLOCKS = frozenset({"p", "head", "item", "quote", "code"})
#: The main element of a page without known markup, where document links are looked for.
MAIN_ELEMENT = ("article", "main", "[role=main]")

# `fast`: trafilatura's own extractor without its fallbacks (readability, jusText), which
# double its time for the same body on article pages (see the module docstring of detail.py).
TRAFILATURA_OPTIONS = {
    "include_comments": False,
    "include_tables": False,
    "favor_precision": True,
    "fast": True,
    "include_links": True,  # document links of the body are its attachments
}


def drop_boxes(boxes: Iterable[Node]) -> None:
    """Take the boxes (chrome) out of their page, keeping the text that follows each.

    The page's own tree is pruned, not a copy: the generic readings come last, when every
    other reader is done with it.

    >>> from lxml import etree
    >>> div = etree.fromstring("<div>a<b>box</b> b<i>box</i> c</div>")
    >>> drop_boxes(list(div)); etree.tostring(div)
    b'<div>a b c</div>'
    """
    for node in boxes:
        parent = node.getparent()
        if parent is None:
            continue
        if node.tail:  # what lxml.html's drop_tree does, for any lxml element
            previous = node.getprevious()
            if previous is None:
                parent.text = (parent.text or "") + node.tail
            else:
                previous.tail = (previous.tail or "") + node.tail
        parent.remove(node)


def trafilatura_body(root: Node, page_url: str) -> tuple[str | None, list[tuple[str, str | None]]]:
    """The body trafilatura finds (its paragraphs, headings, quotes and list items as blocks),
    and (absolute URL, link text) of the document links inside it."""
    import trafilatura  # late: slow to import, and only pages of unknown markup need it

    try:
        document = trafilatura.bare_extraction(root, url=page_url, **TRAFILATURA_OPTIONS)
    except Exception:  # a library failing on one odd page must not stop a crawl
        logger.warning("trafilatura failed on %s", page_url, exc_info=True)
        return None, []
    body = getattr(document, "body", None)
    if body is None:
        return None, []
    links = [
        (ref.get("target", ""), text_value("".join(ref.itertext())))
        for ref in body.iter("ref")
        if is_document(ref.get("target", ""))
    ]
    return "\n\n".join(text_blocks(body, TRAFILATURA_BLOCKS)) or None, links


def htmldate_published(root: Node, page_url: str) -> str | None:
    """The original publication date htmldate finds in the page's markup (not its text)."""
    from htmldate import find_date  # late, as trafilatura

    if not isinstance(root, HtmlElement):  # what lxml gives for a page it could only half read
        root = tostring(root)
    try:
        found = find_date(
            root,
            extensive_search=False,
            original_date=True,
            outputformat="%Y-%m-%d",
            url=page_url,
        )
    except Exception:
        logger.warning("htmldate failed on %s", page_url, exc_info=True)
        return None
    return found or None


def main_document_links(
    root: Node, chrome: set[Node], extensions: tuple[str, ...]
) -> list[tuple[str, str | None]]:
    """(href, link text) of the document links in the page's main element, in page order."""
    for css in MAIN_ELEMENT:
        found = [node for node in compiled(css)(root) if not in_chrome(node, chrome)]
        if found:
            break
    else:
        return []
    links = []
    for anchor in found[0].iter("a"):
        href = anchor.get("href") or ""
        if is_document(href, extensions) and not in_chrome(anchor, chrome):
            links.append((href, text_value("".join(anchor.itertext()))))
    return links
