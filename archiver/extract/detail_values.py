"""Small readers shared by every detail-page extractor: text blocks, dates, languages, URLs.

Whichever extractor finds a field (the site's selectors, JSON-LD, OpenGraph, trafilatura), its
value goes through the same function here, so a field reads the same string whoever found it:
body blocks whitespace-collapsed, dates as ISO 8601, languages as a primary subtag.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime
from urllib.parse import urlsplit

from lxml import etree

from archiver.extract.nodes import Node
from archiver.extract.structure import absolute_url
from archiver.normalize.dates import parse_date
from archiver.normalize.text import collapse_whitespace

#: Elements whose text is never read (code and forms, not prose), wherever they are.
NEVER_READ = frozenset({"script", "style", "noscript", "template", "button", "select", "textarea"})
#: Elements that break a line inside a block: a space, so `a<br>b` does not read `ab`.
LINE_BREAKS = frozenset({"br", "lb"})  # `lb` is trafilatura's `br`

_LANGUAGE = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")


def text_blocks(
    node: Node,
    blocks: Collection[str],
    left_out: Collection[Node] = (),
    *,
    loose: bool = False,
) -> list[str]:
    """The text of `node` as blocks in document order: each element whose tag is in `blocks`
    starts a block and ends one; each block is whitespace-collapsed, empty ones are dropped.

    A block nested in another splits it (`<li>a<p>b</p>c</li>` gives `a`, `b`, `c`), so no text
    is read twice. Elements in `left_out` (and their text) are skipped, but not the text that
    follows them. Text outside every block is read only when `loose`.

    >>> from lxml import html
    >>> div = html.fromstring('<div>x<p>A <em>b</em><br>c<span class="credit">(AFP)</span> d'
    ...                       '</p><blockquote><p>“Q”</p></blockquote><ul><li>one</li></ul></div>')
    >>> text_blocks(div, {"p", "li", "blockquote"}, left_out=div.xpath("//span"))
    ['A b c d', '“Q”', 'one']
    >>> text_blocks(div, {"p"}, loose=True)[0]
    'x'
    """
    reader = _BlockReader(frozenset(blocks), left_out, loose)
    return reader.read(node)


class _BlockReader:
    """One pass over a tree (lxml's iterwalk: no recursion limit on deep pages)."""

    def __init__(self, blocks: frozenset[str], left_out: Collection[Node], loose: bool) -> None:
        self.blocks = blocks
        self.left_out = frozenset(left_out)
        self.loose = loose
        self.depth = 0  # open block elements around the text being read
        self.pieces: list[str] = []
        self.found: list[str] = []

    def read(self, node: Node) -> list[str]:
        skipped: set[Node] = set()
        walker = etree.iterwalk(node, events=("start", "end", "comment", "pi"))
        for event, element in walker:
            if event == "start":
                if element.tag in NEVER_READ or element in self.left_out:
                    skipped.add(element)
                    walker.skip_subtree()
                    continue
                self._start(element)
                continue
            if event == "end" and element not in skipped and element.tag in self.blocks:
                self._flush()
                self.depth -= 1
            if element is not node:  # the text after an element is read when it ends
                self._add(element.tail)
        self._flush()
        return self.found

    def _start(self, element: Node) -> None:
        if element.tag in self.blocks:
            self._flush()
            self.depth += 1
        elif element.tag in LINE_BREAKS:
            self._add(" ")
        self._add(element.text)

    def _add(self, text: str | None) -> None:
        if text and (self.depth or self.loose):
            self.pieces.append(text)

    def _flush(self) -> None:
        text = collapse_whitespace("".join(self.pieces))
        self.pieces.clear()
        if text:
            self.found.append(text)


def date_value(raw: object) -> str | None:
    """A date or datetime as ISO 8601: as found when it already is ISO 8601, else the date
    a visible form shows; None when `raw` holds no date.

    >>> date_value(" 2024-05-01T14:30:00+00:00 "), date_value("2024-05-01")
    ('2024-05-01T14:30:00+00:00', '2024-05-01')
    >>> date_value("May 1, 2024"), date_value("2024-05-01T14:30:00Z")
    ('2024-05-01', '2024-05-01T14:30:00Z')
    >>> date_value("soon") is None, date_value(None) is None, date_value("2024-02-30") is None
    (True, True, True)
    """
    if not isinstance(raw, str) or not (text := raw.strip()):
        return None
    try:
        datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return text
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", text):
        return None  # ISO-shaped but impossible (`2024-02-30`): no other reading is safer
    found: date | None = parse_date(collapse_whitespace(text))
    return found.isoformat() if found else None


def language_value(raw: object) -> str | None:
    """The primary language subtag, lower case: what "en-US", "en_US" and "EN" have in common.

    >>> language_value("en-US"), language_value("es_ES"), language_value(" EN ")
    ('en', 'es', 'en')
    >>> language_value("english") is None, language_value("") is None
    (True, True)
    """
    if not isinstance(raw, str):
        return None
    match = _LANGUAGE.fullmatch(raw.strip())
    return match.group(1).lower() if match else None


def text_value(raw: object) -> str | None:
    """A one-line text field (headline, contact, author): whitespace collapsed, None if empty.

    >>> text_value("  Syria:\\u00a0release\\n them "), text_value(" "), text_value(7)
    ('Syria: release them', None, None)
    """
    if not isinstance(raw, str):
        return None
    return collapse_whitespace(raw) or None


def url_value(raw: object, page_url: str) -> str | None:
    """An http(s) URL joined with the page URL; None for anything else (`mailto:`, empty).

    >>> url_value("/reports/x/", "http://127.0.0.1:8000/reports/x/")
    'http://127.0.0.1:8000/reports/x/'
    >>> url_value("mailto:a@b.org", "https://x.org/"), url_value("http://[::1", "https://x.org/")
    (None, None)
    """
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        url = absolute_url(page_url, raw)
        scheme = urlsplit(url).scheme
    except ValueError:  # `http://[::1`: no URL at all
        return None
    return url if scheme in ("http", "https") else None


def rebased(url: str, page_url: str, canonical_url: str | None) -> str:
    """`url` on the canonical URL's origin when it is on the page's own origin and the two
    differ: a local copy of the site (127.0.0.1:PORT) stands for the site itself.

    >>> rebased("http://127.0.0.1:8000/a.pdf", "http://127.0.0.1:8000/r/x/",
    ...         "https://www.amnestyusa.org/r/x/")
    'https://www.amnestyusa.org/a.pdf'
    >>> rebased("https://cdn.org/a.pdf", "http://127.0.0.1:8000/r/x/", "https://www.x.org/r/x/")
    'https://cdn.org/a.pdf'
    """
    if not canonical_url:
        return url
    page, canonical, target = urlsplit(page_url), urlsplit(canonical_url), urlsplit(url)
    page_origin = (page.scheme, page.netloc.lower())
    if (target.scheme, target.netloc.lower()) != page_origin:
        return url
    if (canonical.scheme, canonical.netloc.lower()) == page_origin:
        return url
    return target._replace(scheme=canonical.scheme, netloc=canonical.netloc).geturl()
