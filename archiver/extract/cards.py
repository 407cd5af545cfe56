"""A card's field selectors answered from one pass over the card, not an XPath walk each.

A card is read with about ten selectors (one per field, then the fallbacks of the fields that
missed). Each lxml XPath call builds a context, walks the card's elements and makes a string of
every class attribute it tests: together most of reading a listing page. `CardIndex` lists the
card's elements once with their class tokens and answers the selectors the layouts use from that:

- compound selectors (an element name, classes, `[attr]`, `[attr=value]`, `[attr~=value]` and
  `:not()` of such a compound), joined by the descendant combinator (a space), optionally ending
  in `::attr(name)`;
- anything else (`:has()`, `>`, `+`, `::text`, a layout file's own syntax) is not simple
  (`simple_selector` returns None) and goes to lxml's XPath, as before.

The answers are the XPath's (`archiver.extract.nodes.compiled`) exactly, in document order: the
same class tokens (split at XML whitespace, as `normalize-space` does), the same lower-cased names,
the card itself included (`descendant-or-self`), an ancestor compound matched inside the card
only. tests/test_extract_cards.py holds the two to each other on every card of every fixture page
and on generated markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import cssselect
from cssselect.parser import (
    Attrib,
    Class,
    CombinedSelector,
    Element,
    FunctionalPseudoElement,
    Negation,
)
from lxml import etree

from archiver.extract.nodes import Node

# What `normalize-space` splits at, and what cssselect refuses inside a class or `~=` value.
_XML_SPACE = str.maketrans({"\t": " ", "\n": " ", "\r": " "})
_HAS_CSS_SPACE = re.compile(r"[ \t\r\n\f]")
_NO_TOKENS: frozenset[str] = frozenset()
_EMPTY_TOKEN = frozenset({""})


@dataclass(frozen=True, slots=True)
class Compound:
    """One compound selector: element name, classes, attribute tests, negated compounds."""

    tag: str | None  # lower-cased; None for any element
    classes: frozenset[str]
    attributes: tuple[tuple[str, str, str | None], ...]  # (name, "exists" | "=" | "~=", value)
    negated: tuple[Compound, ...]


@dataclass(frozen=True, slots=True)
class SimpleSelector:
    """Compounds joined by descendant combinators (left to right), and the `::attr()` asked."""

    compounds: tuple[Compound, ...]
    attribute: str | None
    never: bool = False  # a class or `~=` value with whitespace: the XPath matches nothing


@lru_cache(maxsize=4096)
def _tokens(value: str | None) -> frozenset[str]:
    # Cached: a listing repeats the same few class attributes on every card.
    if not value:
        return _NO_TOKENS
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.translate(_XML_SPACE)
    return frozenset(value.split(" ")) - _EMPTY_TOKEN


def _compound(tree: Any) -> tuple[Compound, bool] | None:
    """`tree` as a Compound (and whether it can never match), or None when it is not simple."""
    classes: set[str] = set()
    attributes: list[tuple[str, str, str | None]] = []
    negated: list[Compound] = []
    never = False
    while not isinstance(tree, Element):
        if isinstance(tree, Class):
            classes.add(tree.class_name)
            never = never or not tree.class_name or bool(_HAS_CSS_SPACE.search(tree.class_name))
        elif isinstance(tree, Attrib):
            if tree.namespace or tree.flag or tree.operator not in ("exists", "=", "~="):
                return None
            value = None if tree.operator == "exists" else tree.value.value
            if tree.operator == "~=":
                never = never or not value or bool(_HAS_CSS_SPACE.search(value))
            attributes.append((tree.attrib.lower(), tree.operator, value))
        elif isinstance(tree, Negation):
            inner = _compound(tree.subselector)
            if inner is None:
                return None
            if not inner[1]:  # :not() of what never matches holds for every element
                negated.append(inner[0])
        else:
            return None  # an id, a pseudo-class, :has(), :is(): the XPath answers
        tree = tree.selector
    if tree.namespace:
        return None
    tag = tree.element.lower() if tree.element and tree.element != "*" else None
    return Compound(tag, frozenset(classes), tuple(attributes), tuple(negated)), never


@cache
def simple_selector(css: str) -> SimpleSelector | None:
    """`css` as a SimpleSelector, or None when the card index cannot answer it exactly.

    >>> simple_selector(".hocus-headline h3").compounds[-1].tag
    'h3'
    >>> simple_selector("a:has(h3)::attr(href)") is None
    True
    """
    try:
        parsed = cssselect.parse(css)
    except cssselect.SelectorError:
        return None
    if len(parsed) != 1:
        return None
    pseudo = parsed[0].pseudo_element
    attribute = None
    if pseudo is not None:
        if not (
            isinstance(pseudo, FunctionalPseudoElement)
            and pseudo.name == "attr"
            and len(pseudo.arguments) == 1
            and pseudo.arguments[0].type in ("IDENT", "STRING")
        ):
            return None
        attribute = pseudo.arguments[0].value
    compounds: list[Compound] = []
    never = False
    tree = parsed[0].parsed_tree
    while True:
        right = tree.subselector if isinstance(tree, CombinedSelector) else tree
        if isinstance(tree, CombinedSelector) and tree.combinator != " ":
            return None
        found = _compound(right)
        if found is None:
            return None
        compounds.append(found[0])
        never = never or found[1]
        if not isinstance(tree, CombinedSelector):
            break
        tree = tree.selector
    compounds.reverse()
    return SimpleSelector(tuple(compounds), attribute, never)


def _fits(compound: Compound, node: Node, classes: frozenset[str]) -> bool:
    """Whether the element `node` (with class tokens `classes`) matches `compound`."""
    if compound.tag is not None and node.tag != compound.tag:
        return False
    if compound.classes and not compound.classes <= classes:
        return False
    for name, operator, value in compound.attributes:
        given = node.get(name)
        if given is None:
            return False
        if operator == "=" and given != value:
            return False
        if operator == "~=" and value not in _tokens(given):
            return False
    return not any(_fits(inner, node, classes) for inner in compound.negated)


class _Index:
    """Elements in document order with their class tokens, by class token; a selector's
    ancestor compounds are matched on the elements' real ancestors up to `top` (None: the
    document's root)."""

    __slots__ = ("_by_class", "_classes", "_elements", "_top")

    def __init__(self, elements: list[Node], top: Node | None) -> None:
        self._elements = elements
        self._classes = classes = [_tokens(node.get("class")) for node in elements]
        self._top = top
        self._by_class: dict[str, list[int]] = {}
        by_class = self._by_class
        for position, tokens in enumerate(classes):
            for token in tokens:
                by_class.setdefault(token, []).append(position)

    def _with_classes(self, classes: frozenset[str]) -> Sequence[int]:
        return min((self._by_class.get(token, ()) for token in classes), key=len)

    def _answer(self, selector: SimpleSelector, candidates: Iterable[int]) -> list[Any]:
        """The candidates (positions) `selector` selects: elements, or the asked attribute's
        values."""
        compounds, elements, classes = selector.compounds, self._elements, self._classes
        last, depth = compounds[-1], len(compounds) - 2
        found = [
            elements[i]
            for i in candidates
            if _fits(last, elements[i], classes[i])
            and _has_ancestors(compounds, depth, elements[i], self._top)
        ]
        if selector.attribute is None:
            return found
        values = (node.get(selector.attribute) for node in found)
        return [value for value in values if value is not None]


class CardIndex(_Index):
    """One card's elements (the card first) in document order, by class token and by name."""

    __slots__ = ("_by_tag",)

    def __init__(self, card: Node) -> None:
        super().__init__(list(card.iter(etree.Element)), card)  # no comments, no PIs
        self._by_tag: dict[str, list[int]] = {}
        for position, node in enumerate(self._elements):
            self._by_tag.setdefault(node.tag, []).append(position)

    def select(self, selector: SimpleSelector) -> list[Any]:
        """What `compiled(css)(card)` returns: elements, or the asked attribute's values."""
        if selector.never:
            return []
        last = selector.compounds[-1]
        if last.classes:
            return self._answer(selector, self._with_classes(last.classes))
        if last.tag is not None:
            return self._answer(selector, self._by_tag.get(last.tag, ()))
        return self._answer(selector, range(len(self._elements)))


_WITH_CLASS = etree.XPath("descendant-or-self::*[@class]", smart_strings=False)


class PageIndex(_Index):
    """A page's elements that have a class attribute, by class token: one XPath walk answers
    the page-wide selectors (each layout's cards, the next-page link) that name a class.

    `select` returns None for a selector it cannot answer (not simple, or its last compound
    names no class): the caller asks the XPath. Ancestor compounds are matched on the element's
    real ancestors, with or without a class.
    """

    __slots__ = ()

    def __init__(self, root: Node) -> None:
        super().__init__(_WITH_CLASS(root), None)

    def select(self, selector: SimpleSelector | None) -> list[Any] | None:
        """What `compiled(css)(root)` returns, or None when this index cannot tell."""
        if selector is None or not selector.compounds[-1].classes:
            return None
        if selector.never:
            return []
        return self._answer(selector, self._with_classes(selector.compounds[-1].classes))


def _has_ancestors(
    compounds: tuple[Compound, ...], depth: int, node: Node, top: Node | None
) -> bool:
    """Whether ancestors of `node` up to `top`, innermost first, match `compounds[depth]`,
    `[depth - 1]`... (each one a descendant of the next), as the descendant combinator asks."""
    if depth < 0:
        return True
    while node is not top:
        node = node.getparent()
        if node is None:
            return False
        if _fits(compounds[depth], node, _tokens(node.get("class"))) and _has_ancestors(
            compounds, depth - 1, node, top
        ):
            return True
    return False
