"""Fields and cards found by their role and place in the page, not by class names.

A redesign renames classes far more often than it changes what a card is: a label before the
title, a heading, a date, a paragraph of summary, a link to the release. These rules find each of
them (docs/extraction.md states them for users); the selector layouts try their classes first and
come here for what they miss, and the fallback layout (`fallback_card_nodes`) finds the cards
themselves when no known layout matches. Pure lxml: no Scrapy, no network.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urljoin, urlsplit

from w3lib.url import safe_url_string

from archiver.extract.nodes import (
    Node,
    exact_text,
    inside,
    is_date_like,
    is_heading,
    is_link,
    label_text,
)
from archiver.sites import Source

#: A label is short: "Press Release", "Sheet of paper Report", "Urgent Action".
LABEL_MAX_CHARS = 40
LABEL_MAX_WORDS = 5
#: Fewer qualifying siblings than this is no listing (a lone promo teaser is not one).
MIN_FALLBACK_CARDS = 2
_CREDIT_STARTS = ("photo", "©", "credit", "image:")


T = TypeVar("T")


class once(Generic[T]):  # lower case: used like `functools.cached_property`
    """`functools.cached_property` without its lock (Python 3.11 takes one on every first
    access, a noticeable share of reading a card); a card is read by one thread."""

    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __get__(self, instance: Any, owner: type | None = None) -> T:
        if instance is None:
            return self  # type: ignore[return-value]
        value = self.function(instance)
        instance.__dict__[self.name] = value  # found before this descriptor from now on
        return value


def is_credit_text(text: str) -> bool:
    """A photo credit's shape: `(Photo by … / AFP)`, `Photo: …`, `© …`, `Credit: …`.

    >>> is_credit_text(" (Photo by Mandel Ngan/AFP via Getty Images)"), is_credit_text("Vigil.")
    (True, False)
    """
    text = text.strip()
    return (text.startswith("(") and text.endswith(")")) or text.lower().startswith(_CREDIT_STARTS)


def release_link_test(source: Source, page_url: str) -> Callable[[str], bool]:
    """Whether an href (as in the markup) links a release of `source` from this page.

    A release URL has a path of exactly `/<section>/<slug>/`, the section one of the source's
    release sections and the slug not `page` (`/news/page/2/` is a listing), on the source's own
    host or the page's host.

    >>> from archiver.sites import AMNESTYUSA
    >>> test = release_link_test(AMNESTYUSA, "http://127.0.0.1:8000/news/")
    >>> [test(h) for h in ("/reports/a-b/", "https://amnestyusa.org/news/x/", "/news/page/2/")]
    [True, True, False]
    >>> [test(h) for h in ("/donate/", "https://example.org/reports/a/", "/reports/a/b/")]
    [False, False, False]
    """
    sections = frozenset(section for section, _ in source.section_types)
    page_host = (urlsplit(page_url).hostname or "").lower()

    def test(href: str) -> bool:
        parts = urlsplit(urljoin(page_url, href.strip()))
        if parts.scheme not in ("http", "https"):
            return False
        segments = [segment for segment in parts.path.split("/") if segment]
        if len(segments) != 2 or segments[0] not in sections or segments[1] == "page":
            return False
        host = (parts.hostname or "").lower()
        return host == page_host or source.owns_host(host)

    return test


_LABEL = r"(?=[a-z0-9-]{1,63}(?![a-z0-9-]))[a-z0-9]+(?:-[a-z0-9]+)*"
_ORIGIN = rf"https?://{_LABEL}(?:\.{_LABEL})*(?::[1-9][0-9]{{0,3}})?"
_SEGMENT = r"[A-Za-z0-9_~-]+(?:\.[A-Za-z0-9_~-]+)*"
#: An href that joining and `safe_url_string` leave as it is (absolute) or only prefix with the
#: page's origin (root-relative): a lower-case ASCII host (labels of at most 63 characters, no
#: `--`, so no punycode), a path of plain segments
#: (no dot segment, nothing to quote), no query, no fragment.
_PLAIN_HREF = re.compile(rf"(?:{_ORIGIN})?/(?:{_SEGMENT}/)*(?:{_SEGMENT})?")
_PLAIN_ORIGIN = re.compile(rf"{_ORIGIN}(?=/|$)")


def has_picture(card: Node) -> bool:
    """Whether a card has an `img` or a `figcaption`: without one, the image, caption and credit
    rules have nothing to find (most cards of a listing). lxml's own tag search, no walk."""
    return next(card.iter("img", "figcaption"), None) is not None


def absolute_url(page_url: str, href: str) -> str:
    """An href joined with the page URL, made safe (what `RawCard.url` holds).

    Release links are nearly always plain (`https://www.amnestyusa.org/reports/a-b/`,
    `/news/a-b/`): those skip `urljoin` and w3lib's `safe_url_string` (about 15 µs a card, a
    tenth of reading it), which would return them unchanged; a property test holds the shortcut
    to the full way.

    >>> absolute_url("https://www.amnestyusa.org/news/page/2/", "/news/a-b/")
    'https://www.amnestyusa.org/news/a-b/'
    >>> absolute_url("https://www.amnestyusa.org/news/", " reports/a b/?utm_source=x ")
    'https://www.amnestyusa.org/news/reports/a%20b/?utm_source=x'
    """
    href = href.strip()
    if not href:
        return ""
    if _PLAIN_HREF.fullmatch(href):
        if not href.startswith("/"):
            return href
        origin = _PLAIN_ORIGIN.match(page_url)
        if origin is not None:
            return origin.group(0) + href
    return safe_url_string(urljoin(page_url, href))


@dataclass
class CardStructure:
    """One card's elements by role, worked out on first use and only as far as asked.

    `known` holds elements a layout's selectors already found (title, date, label, caption),
    so the rules build on them instead of second-guessing them.
    """

    card: Node
    is_release: Callable[[str], bool]
    known: dict[str, Node | None] = field(default_factory=dict)

    @once
    def elements(self) -> list[Node]:
        """Every element of the card (comments and processing instructions left out)."""
        return [node for node in self.card.iter() if isinstance(node.tag, str)]

    def _given(self, role: str) -> Node | None:
        return self.known.get(role)

    @once
    def title(self) -> Node | None:
        """The first heading whose text is not a date."""
        if (given := self._given("title")) is not None:
            return given
        for node in self.elements:
            if is_heading(node):
                text = exact_text(node)
                if text.strip() and not is_date_like(text):
                    return node
        return None

    @once
    def date(self) -> Node | None:
        """The innermost element whose whole text is date-like, outside the title."""
        if (given := self._given("date")) is not None:
            return given
        found: Node | None = None
        for node in self.elements:
            if node is self.card or inside(node, self.title):
                continue
            if is_date_like(exact_text(node)) and (found is None or inside(node, found)):
                found = node  # a descendant of the one found: innermost wins
        return found

    @once
    def link(self) -> str | None:
        """The card's release link: the card itself, the title's link, a release link, any."""
        if is_link(self.card):
            return str(self.card.get("href"))
        title = self.title
        if title is not None:
            node = title
            while node is not None and node is not self.card:
                if is_link(node):
                    return str(node.get("href"))
                node = node.getparent()
            for node in title.iter("a"):
                if is_link(node):
                    return str(node.get("href"))
        links = [str(node.get("href")) for node in self.elements if is_link(node)]
        releases = [href for href in links if self.is_release(href)]
        return (releases or links or [None])[0]

    @once
    def label(self) -> Node | None:
        """Going back from the title: the nearest earlier sibling (of it or an ancestor, up
        to the card) that reads as a label."""
        if (given := self._given("label")) is not None:
            return given
        node = self.title
        while node is not None and node is not self.card:
            sibling = node.getprevious()
            while sibling is not None:
                if isinstance(sibling.tag, str) and self._reads_as_label(sibling):
                    return sibling
                sibling = sibling.getprevious()
            node = node.getparent()
        return None

    def _reads_as_label(self, node: Node) -> bool:
        if is_heading(node) or node.tag in ("figure", "figcaption", "img"):
            return False
        if node in self.image_containers or any(
            is_heading(inner) or inner.tag in ("figure", "figcaption") for inner in node.iter()
        ):
            return False
        own_text = exact_text(node)
        text = label_text(node)
        return (
            bool(own_text.strip())
            and len(text) <= LABEL_MAX_CHARS
            and len(text.split()) <= LABEL_MAX_WORDS
            and not is_date_like(own_text)
        )

    @once
    def pictured(self) -> bool:
        """Whether the card has a picture at all (`has_picture`)."""
        return has_picture(self.card)

    @once
    def image_containers(self) -> list[Node]:
        """Elements other than the card with an `img` among their direct children and no text
        of their own beside their children's (a label with an icon has its words beside it)."""
        containers: list[Node] = []
        if not self.pictured:
            return containers
        for image in self.card.iter("img"):  # lxml's own tag search: no walk over every element
            parent = image.getparent()
            if (
                parent is not None
                and parent is not self.card
                and parent not in containers
                and not _own_text(parent).strip()
            ):
                containers.append(parent)
        if len(containers) > 1:  # rare: put them back in document order
            order = {node: index for index, node in enumerate(self.card.iter())}
            containers.sort(key=order.__getitem__)
        return containers

    @once
    def image(self) -> Node | None:
        """The first `img` of the card that is not an icon inside the label."""
        if not self.pictured:
            return None
        label = self.label
        for node in self.card.iter("img"):
            if not inside(node, label):
                return node
        return None

    @once
    def caption(self) -> Node | None:
        """The first `figcaption`, else the first `p` of the first image container that is not
        a credit."""
        if (given := self._given("caption")) is not None:
            return given
        if not self.pictured:
            return None
        for node in self.card.iter("figcaption"):
            return node
        for container in self.image_containers[:1]:
            for child in container:
                if child.tag == "p" and not is_credit_text(exact_text(child)):
                    return child
        return None

    @once
    def credit(self) -> Node | None:
        """A credit-shaped child of the caption, else another `p` of the image container."""
        caption = self.caption
        if caption is not None:
            for node in caption.iterdescendants():
                if isinstance(node.tag, str) and is_credit_text(exact_text(node)):
                    return node
        for container in self.image_containers[:1]:
            for child in container:
                if child.tag == "p" and child is not caption:
                    return child
        return None

    @once
    def summary(self) -> Node | None:
        """The longest paragraph that is not the date, nor in the title, the label, a figure or
        an image container."""
        best: Node | None = None
        best_length = -1
        for node in self.card.iter("p"):
            if self._not_summary(node):
                continue
            length = len(exact_text(node))
            if length > best_length:
                best, best_length = node, length
        return best

    def _not_summary(self, node: Node) -> bool:
        if inside(node, self.date) or inside(node, self.title) or inside(node, self.label):
            return True
        ancestor = node
        while ancestor is not None and ancestor is not self.card:
            if ancestor.tag in ("figure", "figcaption") or ancestor in self.image_containers:
                return True
            ancestor = ancestor.getparent()
        return False


def _own_text(node: Node) -> str:
    """The text directly in `node`, not in its children (its text and its children's tails)."""
    return (node.text or "") + "".join(child.tail or "" for child in node)


def fallback_card_nodes(root: Node, is_release: Callable[[str], bool]) -> list[Node]:
    """The listing's cards found by structure: among sibling elements that each hold exactly
    one release and a heading, the group with the most that also hold a date-like element
    (at least two). Undated members come too (validation refuses them with a reason); siblings
    that are no card (promos, newsletter boxes) are left out.
    """
    groups: dict[Node, list[Node]] = {}
    placed: set[tuple[Node, Node]] = set()
    for link in root.iter("a"):
        href = link.get("href")
        if not href or not is_release(href):
            continue
        node = link
        while (parent := node.getparent()) is not None:
            if (parent, node) not in placed:
                placed.add((parent, node))
                groups.setdefault(parent, []).append(node)
            node = parent
    best: list[Node] = []
    best_dated = 0
    for children in groups.values():  # in document order of their first release link
        if len(children) <= best_dated:
            continue
        cards = [child for child in children if _is_card(child, is_release)]
        dated = sum(1 for card in cards if _has_date(card))
        if dated > best_dated:
            best, best_dated = cards, dated
    return best if best_dated >= MIN_FALLBACK_CARDS else []


def _is_card(node: Node, is_release: Callable[[str], bool]) -> bool:
    """Exactly one release (however often linked) and a heading. A card without a date still
    is one: validation refuses it with a reason, where leaving it out would lose it unseen."""
    # The release's path is its identity here: image and title links, relative or absolute.
    paths = {
        urlsplit(str(inner.get("href")).strip()).path.rstrip("/")
        for inner in node.iter("a")
        if inner.get("href") and is_release(str(inner.get("href")))
    }
    return len(paths) == 1 and any(
        isinstance(inner.tag, str) and is_heading(inner) for inner in node.iter()
    )


def _has_date(node: Node) -> bool:
    return any(
        isinstance(inner.tag, str) and is_date_like(exact_text(inner)) for inner in node.iter()
    )


_PAGE_RE = re.compile(r"/page/(\d+)/?$")


def next_page_by_structure(root: Node, page_url: str) -> str | None:
    """A link to this listing's next page, known by its URL: the same path with `page/N+1/`
    (or `page/2/` after a first page) and the same query.

    >>> from lxml import html
    >>> page = html.fromstring('<p><a href="/news/page/3/?country=syria">Older</a></p>')
    >>> next_page_by_structure(page, "https://x.org/news/page/2/?country=syria")
    'https://x.org/news/page/3/?country=syria'
    """
    page = urlsplit(page_url)
    match = _PAGE_RE.search(page.path)
    number = int(match.group(1)) if match else 1
    base = page.path[: match.start()] if match else page.path.rstrip("/")
    wanted = f"{base}/page/{number + 1}/"
    for link in root.iter("a"):
        href = (link.get("href") or "").strip()
        if not href:
            continue
        target = urlsplit(urljoin(page_url, href))
        path = target.path if target.path.endswith("/") else target.path + "/"
        if path == wanted and target.query == page.query:
            return safe_url_string(urljoin(page_url, href))
    return None
