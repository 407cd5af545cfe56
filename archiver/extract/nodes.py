"""Reading lxml elements as a reader of the page sees them: exact text, label text, inner HTML.

Shared by the selector layouts and the structural reading, so a field reads the same string
whichever of them found its element.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from lxml import etree
from parsel.csstranslator import css2xpath

Node = Any  # an lxml element of the parsed page

# Compiled once: lxml's own XPath objects cost a few microseconds a call where a Selector query
# (CSS translation, a new Selector per match) costs tens, and a page asks a hundred or more.
_TEXT = etree.XPath(".//text()[not(ancestor::script)][not(ancestor::style)]", smart_strings=False)
_LABEL_PIECES = etree.XPath(".//text()[not(ancestor::script)] | .//img/@alt", smart_strings=False)

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


@cache
def compiled(css: str) -> Any:
    """A CSS selector (with parsel's `::text` and `::attr()`) as a compiled lxml XPath."""
    return etree.XPath(css2xpath(css), smart_strings=False)


def exact_text(node: Node | None) -> str:
    """All text of an element, exactly as on the page (no stripping, no collapsing).

    Script and style contents are not text a reader sees. Without them (nearly always), libxml2
    serialises the same text in one call, several times faster than the XPath's text nodes
    (a card reads four fields; tests hold the two to each other).
    """
    if node is None:
        return ""
    if next(node.iter("script", "style"), None) is not None:
        return "".join(_TEXT(node))
    return etree.tostring(node, method="text", encoding="unicode", with_tail=False)


def text_outside(node: Node, left_out: Node | None) -> str:
    """The exact text of `node` without the text of `left_out` (one of its descendants).

    >>> from lxml import html
    >>> caption = html.fragment_fromstring('<p>Vigil. <small>(AFP)</small> Washington</p>')
    >>> text_outside(caption, caption[0])
    'Vigil.  Washington'
    """
    if left_out is None:
        return exact_text(node)
    return "".join(_pieces_outside(node, left_out))


def _pieces_outside(node: Node, left_out: Node) -> Iterator[str]:
    if node is left_out:
        return
    if node.tag not in ("script", "style") and node.text:
        yield node.text
    for child in node:
        if isinstance(child.tag, str):
            yield from _pieces_outside(child, left_out)
        if child.tail:
            yield child.tail


def label_text(node: Node | None) -> str:
    """A type label with its icon text, as a reader of the page hears it.

    Icons are `img[alt]` or visually hidden spans; both are read in document order and joined
    with single spaces, so `<img alt="Sheet of paper"> Report` reads `Sheet of paper Report`.
    """
    if node is None:
        return ""
    return " ".join(piece.strip() for piece in _LABEL_PIECES(node) if piece.strip())


def inner_html(node: Node | None) -> str:
    """The element's content as HTML, as on the page (its text, children and their tails)."""
    if node is None:
        return ""
    children = (
        etree.tostring(child, method="html", encoding="unicode", with_tail=True) for child in node
    )
    return (node.text or "") + "".join(children)


def is_link(node: Node) -> bool:
    """An `a` element with an href."""
    return node.tag == "a" and bool(node.get("href"))


def is_heading(node: Node) -> bool:
    """`h1` to `h6`, or any element that says it is one (`role="heading"`)."""
    return node.tag in HEADINGS or node.get("role") == "heading"


def inside(node: Node | None, ancestor: Node | None) -> bool:
    """Whether `node` is `ancestor` or one of its descendants."""
    if node is None or ancestor is None:
        return False
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE_SHAPES = re.compile(
    rf"""^(?:
        {_MONTH}\s+\d{{1,2}},?\s+\d{{4}}        # June 16, 2017 / Jun. 16, 2017
      | \d{{1,2}}\s+{_MONTH}\s+\d{{4}}          # 16 June 2017
      | \d{{4}}-\d{{2}}-\d{{2}}                 # 2017-06-16
      | \d{{1,2}}/\d{{1,2}}/\d{{4}}             # 06/16/2017
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


def is_date_like(text: str) -> bool:
    """Whether the whole of `text` (trimmed) has the shape of a date. A shape, not a parse:
    reading the date is the normalisers' job.

    >>> [is_date_like(t) for t in ("June 16, 2017", " Jun. 6, 2017 ", "16 June 2017", "2017-06-16")]
    [True, True, True, True]
    >>> [is_date_like(t) for t in ("June 16, 2017 in Geneva", "Report", "Updated June 16, 2017")]
    [False, False, False]
    """
    text = " ".join(text.split())
    return 6 <= len(text) <= 20 and _DATE_SHAPES.match(text) is not None
