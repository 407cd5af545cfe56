"""Layouts written in a TOML file, so a new markup can be read without writing Python.

    # mylayouts.toml: the site's 2027 redesign
    include_shipped = true          # try the shipped layouts too (after these)

    [[layout]]
    name = "2027"
    card = [".news-teaser"]
    title = [".news-teaser__title"]
    link = [".news-teaser__title a::attr(href)"]
    date = ["time"]
    label = [".news-teaser__kicker"]
    summary = [".news-teaser__excerpt"]

Each field is a list of CSS selectors tried in order (parsel's `::attr()` for the link); a field
left out is found by structure (docs/extraction.md). `card` and `name` are required.
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from cssselect import SelectorError
from lxml import etree

from archiver.errors import ArgumentError
from archiver.extract.layouts import FALLBACK, LAYOUTS, Layout
from archiver.extract.nodes import compiled

_FIELDS = tuple(f.name for f in fields(Layout) if f.name != "name")


def load_layouts(value: str) -> tuple[Layout, ...]:
    """The layouts `ARCHIVER_EXTRACT_LAYOUTS` names: a `.toml` file, or the import path of a
    tuple of `Layout` (`mylayouts.LAYOUTS`). Raises ArgumentError saying what is wrong."""
    if value.endswith(".toml"):
        return load_layout_file(value)
    module_name, _, attribute = value.rpartition(".")
    try:
        layouts = tuple(getattr(importlib.import_module(module_name), attribute))
    except (ImportError, AttributeError, TypeError, ValueError) as error:
        raise ArgumentError(
            f"ARCHIVER_EXTRACT_LAYOUTS={value!r}: not a .toml file nor the import path of a"
            f" tuple of layouts ({type(error).__name__}: {error})"
        ) from None
    if not layouts or not all(isinstance(layout, Layout) for layout in layouts):
        raise ArgumentError(f"ARCHIVER_EXTRACT_LAYOUTS={value!r}: not a tuple of Layout")
    return layouts


def load_layout_file(path: str | Path) -> tuple[Layout, ...]:
    """The layouts of a TOML file (then the shipped ones, if it says `include_shipped`).

    Raises ArgumentError naming the file and what is wrong with it.
    """
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ArgumentError(f"layout file {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ArgumentError(f"layout file {path}: not TOML: {error}") from None
    unknown = sorted(set(document) - {"layout", "include_shipped"})
    if unknown:
        raise ArgumentError(f"layout file {path}: unknown key {unknown[0]!r}")
    tables = document.get("layout", [])
    if not isinstance(tables, list) or not tables:
        raise ArgumentError(f"layout file {path}: no [[layout]] table")
    layouts = tuple(_layout(path, table) for table in tables)
    names = [layout.name for layout in layouts]
    if len(set(names)) != len(names) or FALLBACK.name in names:
        raise ArgumentError(f"layout file {path}: layout names must be distinct, not 'fallback'")
    return layouts + (LAYOUTS if document.get("include_shipped", False) else ())


def _layout(path: Path, table: Any) -> Layout:
    if not isinstance(table, dict):
        raise ArgumentError(f"layout file {path}: each [[layout]] must be a table")
    name = table.get("name")
    where = f"layout file {path}, layout {name!r}"
    if not isinstance(name, str) or not name.strip():
        raise ArgumentError(f"layout file {path}: a layout without a name")
    unknown = sorted(set(table) - {"name", *_FIELDS})
    if unknown:
        known = ", ".join(_FIELDS)
        raise ArgumentError(f"{where}: unknown field {unknown[0]!r} (known: {known})")
    selectors = {}
    for field_name in _FIELDS:
        value = table.get(field_name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(css, str) for css in value):
            raise ArgumentError(f"{where}: {field_name} must be a list of CSS selectors")
        for css in value:
            if css:  # "" in `link` means the card itself is the link
                _check_css(where, field_name, css)
        selectors[field_name] = tuple(value)
    if not selectors["card"]:
        raise ArgumentError(f"{where}: card needs at least one selector")
    return Layout(name=name, **selectors)


def _check_css(where: str, field_name: str, css: str) -> None:
    try:
        compiled(css)
    except (SelectorError, etree.XPathError, ValueError) as error:
        raise ArgumentError(f"{where}: {field_name} selector {css!r}: {error}") from None
