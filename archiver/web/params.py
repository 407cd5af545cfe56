"""The query string of a releases, coverage or download URL: parsed, checked, and written back.

The URL is the query (bookmarkable, shareable): `?country=syria&type=Report&since=2016&q=...`.
Filter values are checked by the export's own parser (`archiver.export.ExportFilters.parse`),
so a page, its coverage chart and its download accept exactly the same values, and a bad one
is a 400 page with the parser's one-line message.

`q` is the full-text search (title, summary and page body, `archiver.db.search`) on the pages;
a download has no ranked index, so there it becomes `archiver export --search` (title or summary
contains the text), and the page shows the equivalent command.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from archiver.db.browse import MAX_PAGE, SORTS, Cursor
from archiver.errors import ExportError
from archiver.export import ExportFilters

#: Query parameters that select releases, in the order links write them.
FILTER_PARAMS: tuple[str, ...] = ("source", "country", "issue", "type", "since", "until", "q")
#: Parameters that may repeat (values ORed).
MULTI_PARAMS = frozenset({"source", "country", "issue", "type"})
#: The `archiver export` option of each filter parameter.
EXPORT_OPTIONS = {
    "source": "--source",
    "country": "--country",
    "issue": "--issue",
    "type": "--type",
    "since": "--since",
    "until": "--until",
    "q": "--search",
}
DEFAULT_PAGE = 50


class BadRequest(ValueError):
    """A query string the page cannot use; the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class Selection:
    """What a page selects: export filters (without a text search), the full-text words, and
    the filter parameters as given (to write links with)."""

    filters: ExportFilters
    words: str | None
    items: tuple[tuple[str, str], ...]

    def export_filters(self) -> ExportFilters:
        """The filters of a download: the words become `--search`."""
        return replace(self.filters, search=self.words)

    def query(self, *extra: tuple[str, str]) -> str:
        """The filter parameters (and `extra` ones) as a query string, without the `?`."""
        return urlencode([*self.items, *extra])

    def adding(self, key: str, value: str) -> str:
        """The query string with one more filter value (a facet or type clicked)."""
        if (key, value) in self.items:
            return self.query()
        kept = [item for item in self.items if item[0] != key or key in MULTI_PARAMS]
        return urlencode([*kept, (key, value)])

    def removing(self, key: str, value: str) -> str:
        """The query string without one filter value."""
        return urlencode([item for item in self.items if item != (key, value)])

    def export_command(self) -> str:
        """The `archiver export` command line that writes the same CSV as the download."""
        words = ["archiver", "export"]
        for key, value in self.items:
            words += [EXPORT_OPTIONS[key], value]
        return shlex.join(words)

    def values(self, key: str) -> list[str]:
        """The values of one filter parameter, as given."""
        return [value for name, value in self.items if name == key]

    def first(self, key: str) -> str:
        """The first value of a filter parameter as given ("" when none): the form's field."""
        found = self.values(key)
        return found[0] if found else ""

    @property
    def active(self) -> bool:
        """Whether anything is selected."""
        return bool(self.items)


def _items(params: QueryParams | Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    pairs: Iterable[tuple[str, str]] = (
        params.multi_items() if isinstance(params, QueryParams) else params.items()
    )
    items = []
    seen = set()
    for key, value in pairs:
        value = value.strip()
        if key not in FILTER_PARAMS or not value:
            continue
        if key not in MULTI_PARAMS and key in seen:
            continue  # one since, until, q: the first wins
        seen.add(key)
        if (key, value) not in items:
            items.append((key, value))
    order = {key: index for index, key in enumerate(FILTER_PARAMS)}
    return tuple(sorted(items, key=lambda item: order[item[0]]))


def parse_selection(params: QueryParams | Mapping[str, str]) -> Selection:
    """The selection a query string names; BadRequest with the parser's message otherwise."""
    items = _items(params)

    def values(key: str) -> list[str]:
        return [value for name, value in items if name == key]

    def one(key: str) -> str | None:
        found = values(key)
        return found[0] if found else None

    try:
        filters = ExportFilters.parse(
            sources=values("source"),
            countries=values("country"),
            issues=values("issue"),
            types=values("type"),
            since=one("since"),
            until=one("until"),
        )
    except ExportError as error:
        raise BadRequest(str(error).replace("--", "")) from None
    words = one("q")
    if words is not None and len(words) > 500:
        raise BadRequest("the search text is too long (500 characters at most)")
    return Selection(filters, words, items)


@dataclass(frozen=True, slots=True)
class Paging:
    """Which page of a list: its order, where it starts, how long it is."""

    sort: str = "published"
    after: Cursor | None = None
    limit: int = DEFAULT_PAGE


def parse_paging(params: QueryParams | Mapping[str, str]) -> Paging:
    """`sort`, `after` (a cursor) and `limit` from a query string; BadRequest otherwise."""
    sort = params.get("sort") or "published"
    if sort not in SORTS:
        raise BadRequest(f"unknown sort {sort!r} (known: {', '.join(SORTS)})")
    after = None
    if params.get("after"):
        try:
            after = Cursor.parse(params["after"], sort)
        except ValueError as error:
            raise BadRequest(str(error)) from None
    limit = DEFAULT_PAGE
    if params.get("limit"):
        text = params["limit"]
        if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
            raise BadRequest(f"limit must be a number from 1 to {MAX_PAGE}")
        limit = int(text)
    return Paging(sort, after, limit)


def positive_int(text: str | None, what: str) -> int | None:
    """An optional positive whole number from the query string; BadRequest otherwise."""
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) < 1 or len(text) > 18:
        raise BadRequest(f"{what} must be a positive whole number")
    return int(text)


def paging_items(paging: Paging, *, after: Cursor | None) -> Sequence[tuple[str, str]]:
    """The paging parameters of a link to the page starting after `after`."""
    items: list[tuple[str, str]] = []
    if paging.sort != "published":
        items.append(("sort", paging.sort))
    if paging.limit != DEFAULT_PAGE:
        items.append(("limit", str(paging.limit)))
    if after is not None:
        items.append(("after", after.encode()))
    return items
