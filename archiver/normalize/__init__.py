"""Normalisation and validation of listing cards: small pure functions, composed here.

Each field has its own module with a tiny, doctested function (`normalize_title`, `parse_date`,
`normalize_type`, `normalize_summary`, `canonical_release_url`, `content_hash`); this module
composes them into the clean fields of a `ReleaseItem` and lists the reasons an item is refused.
Nothing here touches Scrapy, the network or a database, so archived pages can be re-normalised
offline with exactly the code a crawl used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from datetime import date
from typing import Any

from archiver.items import ReleaseItem
from archiver.normalize.dates import is_plausible, parse_date
from archiver.normalize.hashing import content_hash
from archiver.normalize.summaries import normalize_summary
from archiver.normalize.text import clean_text
from archiver.normalize.titles import normalize_title
from archiver.normalize.types import OTHER, normalize_type
from archiver.normalize.urls import canonical_release_url
from archiver.sites import Source, get_source

__all__ = [
    "OTHER",
    "item_fields",
    "normalize_in_place",
    "normalize_item",
    "normalized_fields",
    "release_fingerprints",
    "validate_item",
]

_RELEASE_FIELD_ORDER = tuple(field.name for field in dataclasses.fields(ReleaseItem))
_RELEASE_FIELDS = frozenset(_RELEASE_FIELD_ORDER)


class _ReleaseFields(MutableMapping[str, Any]):
    """A `ReleaseItem`'s fields as a mapping, as ItemAdapter shows them, for a fraction of the cost.

    ItemAdapter lists a dataclass's fields again for every item it wraps: a third of the
    normalise pipeline's time, with three adapters per item on the way to the store.
    """

    __slots__ = ("_item",)

    def __init__(self, item: ReleaseItem) -> None:
        self._item = item

    def __getitem__(self, name: str) -> Any:
        if name in _RELEASE_FIELDS:
            return getattr(self._item, name)
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self._item, name) if name in _RELEASE_FIELDS else default

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in _RELEASE_FIELDS:
            raise KeyError(f"ReleaseItem does not support field: {name}")
        setattr(self._item, name, value)

    def update(self, other: Any = (), /, **values: Any) -> None:  # type: ignore[override]
        """As `MutableMapping.update`, with the names checked at once and set as attributes
        (the inherited one goes through `__setitem__` a name at a time)."""
        pairs = dict(other, **values)
        unknown = pairs.keys() - _RELEASE_FIELDS
        if unknown:
            raise KeyError(f"ReleaseItem does not support field: {min(unknown)}")
        item = self._item
        for name, value in pairs.items():
            setattr(item, name, value)

    def __delitem__(self, name: str) -> None:
        if name not in _RELEASE_FIELDS:
            raise KeyError(f"ReleaseItem does not support field: {name}")
        try:
            delattr(self._item, name)
        except AttributeError as error:
            raise KeyError(name) from error

    def __iter__(self) -> Iterator[str]:
        return (name for name in _RELEASE_FIELD_ORDER if hasattr(self._item, name))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def item_fields(item: Any) -> MutableMapping[str, Any]:
    """The item's fields as a mapping: ItemAdapter, or a cheaper view of a `ReleaseItem`.

    >>> item = ReleaseItem("amnestyusa", None, "https://x/news/", 1, "current", "/a/", "A", "",
    ...                    "", "", "")
    >>> fields = item_fields(item)
    >>> fields["title_raw"], fields.get("title"), fields.get("nope", "-")
    ('A', None, '-')
    >>> fields["title"] = "A"; item.title
    'A'
    """
    if type(item) is ReleaseItem:
        return _ReleaseFields(item)
    from itemadapter import ItemAdapter  # here: it loads Scrapy, which exports and the CLI skip

    return ItemAdapter(item)


def normalized_fields(
    raw: Mapping[str, Any], source: Source, base_url: str | None = None
) -> dict[str, Any]:
    """The clean fields for one item's raw fields (`url_raw`, `title_raw`, … as in `ReleaseItem`).

    `base_url` is the root of a local copy of the site when one was crawled (see `urls.py`).
    """
    url = canonical_release_url(
        raw.get("url_raw"), source, page_url=raw.get("page_url"), base_url=base_url
    )
    title = normalize_title(raw.get("title_raw"))
    summary = normalize_summary(raw.get("summary_raw"), raw.get("summary_html"))
    published_on = parse_date(raw.get("date_raw"))
    release_type = normalize_type(raw.get("type_raw"), url, source)
    return {
        "url": url,
        "title": title or None,
        "summary": summary.text or None,
        "summary_truncated": summary.truncated,
        "published_on": published_on,
        "type": release_type.name,
        "type_source": release_type.source,
        "content_hash": content_hash(title, summary.text, release_type.name, published_on),
    }


def normalize_item(item: ReleaseItem, source: Source, base_url: str | None = None) -> ReleaseItem:
    """A copy of `item` with its clean fields filled from its raw fields (the input is untouched).

    >>> from archiver.sites import AMNESTYUSA
    >>> raw = ReleaseItem(source="amnestyusa", facet=None, position=1, layout="previous",
    ...     page_url="https://amnestyusa.org/news/", url_raw="/reports/saydnaya/",
    ...     title_raw="Human slaughterhouse ", summary_raw="A chilling report\\u00a0 \\u2026",
    ...     summary_html="", date_raw="February 3, 2017", type_raw="Sheet of paper Report")
    >>> clean = normalize_item(raw, AMNESTYUSA)
    >>> clean.url, clean.title
    ('https://www.amnestyusa.org/reports/saydnaya/', 'Human slaughterhouse')
    >>> clean.summary, clean.summary_truncated
    ('A chilling report', True)
    >>> clean.published_on, clean.type, clean.type_source, raw.title is None
    (datetime.date(2017, 2, 3), 'Report', 'label', True)
    """
    return dataclasses.replace(
        item, **normalized_fields(dataclasses.asdict(item), source, base_url)
    )


def normalize_in_place(item: Any, source: Source | None = None) -> MutableMapping[str, Any]:
    """Fill an item's clean fields from its raw ones, once; returns the item's fields.

    An item is normalised when its `content_hash` is set: the incremental stop judges a page
    before the pipelines see its items, and the normalise pipeline then finds the work done
    (the functions are pure, so doing it again could only cost time).
    """
    fields = item_fields(item)
    if fields.get("content_hash") is None:
        fields.update(normalized_fields(fields, source or get_source(fields["source"])))
    return fields


def release_fingerprints(items: Iterable[Any], today: date) -> list[tuple[str, str]]:
    """(canonical url, content hash) of the items validation accepts, normalising them once.

    What "this page holds nothing new" is judged by: the same normalisers and checks as the
    pipelines, so "known" means exactly "the store would count it unchanged". Refused items are
    left out: they are never stored, so they can never be known.
    """
    found: list[tuple[str, str]] = []
    for item in items:
        fields = normalize_in_place(item)
        fetched_at = fields.get("fetched_at")
        if not validate_item(item, fetched_at.date() if fetched_at else today):
            found.append((fields["url"], fields["content_hash"]))
    return found


def validate_item(item: Any, today: date) -> list[str]:
    """Why a normalised item cannot be stored as a release (empty when it can).

    `today` is the day the page was fetched: a release dated more than two days after it, or
    before 1961, is implausible. `item` is a `ReleaseItem` or any item ItemAdapter understands.
    """
    fields = item_fields(item)
    reasons: list[str] = []
    if not fields.get("url"):
        reasons.append("invalid_url" if clean_text(fields.get("url_raw")) else "missing_url")
    if not fields.get("title"):
        reasons.append("missing_title")
    published_on = fields.get("published_on")
    if published_on is None:
        has_text = bool(clean_text(fields.get("date_raw")))
        reasons.append("unparseable_date" if has_text else "missing_date")
    elif not is_plausible(published_on, today):
        reasons.append("implausible_date")
    return reasons
