"""An archived page made inert, to be shown by the web view (`/archive/<record>`).

The bytes in the WARC file are what the site sent, scripts and trackers included. Shown as they
are, on the web view's own origin, they could run code with the operator's session or load
resources from the live site (telling it who reads its archive). So before a page is served:

- `lxml_html_clean` removes scripts, `on*` attributes, `javascript:` URLs, frames, objects and
  embeds, forms, `<meta>` (refresh included), `<link>`, comments and processing instructions;
- `<base>` goes, and every attribute that makes the browser fetch something (`src`, `srcset`,
  `background`, `poster`, `data`, ...) is removed; a link keeps its target only as a tooltip
  (`title`), so nothing on the page navigates or loads;
- `url(...)` and `@import` in style sheets and `style` attributes are removed;
- a banner says what the page is and when it was fetched.

The response also carries a Content-Security-Policy that forbids scripts and every load but
inline styles and `data:` images (`ARCHIVE_CSP`), and a `sandbox`: were anything missed here,
the browser still would not run or fetch it.
"""

from __future__ import annotations

import re
from datetime import datetime

import lxml.html
from lxml import etree
from lxml_html_clean import Cleaner

#: What the archived page may do in the browser: nothing but show inline styles and data: images.
ARCHIVE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none';"
    " form-action 'none'; base-uri 'none'; frame-ancestors 'none'; sandbox"
)

# Attributes that load or navigate to a URL (beyond what the cleaner drops already).
_URL_ATTRIBUTES = frozenset(
    {
        "src",
        "srcset",
        "imagesrcset",
        "href",
        "action",
        "formaction",
        "background",
        "poster",
        "data",
        "codebase",
        "classid",
        "archive",
        "cite",
        "longdesc",
        "lowsrc",
        "dynsrc",
        "usemap",
        "profile",
        "ping",
        "manifest",
        "xlink:href",
        "{http://www.w3.org/1999/xlink}href",
    }
)
_CSS_URL = re.compile(r"url\s*\((?:\"[^\"]*\"|'[^']*'|[^)]*)\)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@\s*import[^;]*;?", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)

_CLEANER = Cleaner(
    scripts=True,
    javascript=True,
    comments=True,
    style=False,
    inline_style=False,
    links=True,
    meta=True,
    page_structure=False,
    processing_instructions=True,
    embedded=True,
    frames=True,
    forms=True,
    annoying_tags=True,
    remove_unknown_tags=True,
    safe_attrs_only=True,
    kill_tags=["base", "noscript", "template"],
)


def _neutral_css(text: str) -> str:
    """CSS that fetches nothing.

    >>> _neutral_css('@import "y.css"; a{background:URL( "x.png" ) red}')
    ' a{background:none red}'
    """
    return _CSS_IMPORT.sub("", _CSS_URL.sub("none", text))


def _charset(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "content-type":
            match = _CHARSET.search(value)
            if match:
                return match.group(1)
    return None


def is_html(headers: list[tuple[str, str]], body: bytes) -> bool:
    """Whether a record holds HTML (by its Content-Type, else by its first bytes)."""
    for name, value in headers:
        if name.lower() == "content-type":
            return "html" in value.lower()
    return body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))


def inert_html(
    body: bytes,
    *,
    headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    url: str = "",
    fetched_at: datetime | None = None,
) -> str:
    """The archived page `body` as HTML that runs nothing and loads nothing (see above)."""
    encoding = _charset(headers)
    try:
        parser = lxml.html.HTMLParser(encoding=encoding) if encoding else None
        document = lxml.html.document_fromstring(body or b"<html></html>", parser=parser)
    except (LookupError, etree.ParserError, ValueError):
        document = lxml.html.document_fromstring(
            (body or b"").decode("utf-8", "replace") or "<html></html>"
        )
    document = _CLEANER.clean_html(document)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        for name in list(element.attrib):
            lowered = name.lower()
            if lowered.startswith("on"):
                del element.attrib[name]
            elif lowered in _URL_ATTRIBUTES:
                target = element.attrib.pop(name)
                if lowered == "href" and element.tag == "a" and target:
                    element.set("title", f"archived link: {target}")
            elif lowered == "style":
                element.set(name, _neutral_css(element.attrib[name]))
        if element.tag == "style" and element.text:
            element.text = _neutral_css(element.text)
    _add_banner(document, url, fetched_at)
    html = lxml.html.tostring(document, encoding="unicode", method="html")
    return "<!DOCTYPE html>\n" + html


def _add_banner(document: lxml.html.HtmlElement, url: str, fetched_at: datetime | None) -> None:
    head = document.find("head")
    if head is None:
        head = lxml.html.Element("head")
        document.insert(0, head)
    meta = lxml.html.Element("meta")
    meta.set("charset", "utf-8")
    head.insert(0, meta)
    body = document.find("body")
    if body is None:
        body = lxml.html.Element("body")
        document.append(body)
    banner = lxml.html.Element("div")
    banner.set(
        "style",
        "font:14px sans-serif;background:#fff3c4;color:#222;padding:8px 12px;"
        "border-bottom:2px solid #c9a400",
    )
    when = f" on {fetched_at:%Y-%m-%d %H:%M:%S} UTC" if fetched_at else ""
    banner.text = (
        f"Archived copy of {url or 'a page'}{when}. Inert: scripts, frames, forms and every"
        " external resource were removed; links are shown as tooltips."
    )
    body.insert(0, banner)
