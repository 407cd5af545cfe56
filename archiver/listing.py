"""Listing URLs and filters of amnestyusa.org: pure functions the spider routes with.

Kept apart from the spider so that the CLI can check arguments before it starts a crawl, and so
that tests can check the URL forms without running Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

DEFAULT_BASE_URL = "https://www.amnestyusa.org"
FILTER_KEYS = ("country", "issue")


class ArgumentError(ValueError):
    """A spider argument that cannot be used, with a message meant for the user."""


@dataclass(frozen=True, slots=True)
class ListingQuery:
    """What one crawl reads: which filters, which pages, on which host."""

    base_url: str = DEFAULT_BASE_URL
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (("country", ("syria",)),)
    start_page: int = 1
    max_pages: int | None = None

    @property
    def facet(self) -> str | None:
        """The filter as stored with each item: `country=syria`, `country=a,b&issue=c`, or None.

        >>> parse_listing_args(country="syria").facet
        'country=syria'
        >>> parse_listing_args(country="Russian-Federation, ukraine", issue="death-penalty").facet
        'country=russian-federation,ukraine&issue=death-penalty'
        """
        if not self.filters:
            return None
        return "&".join(f"{key}={','.join(values)}" for key, values in self.filters)

    def page_url(self, page: int) -> str:
        """The site's URL of listing page `page` for these filters.

        >>> parse_listing_args(country="russian-federation,ukraine").page_url(2)
        'https://www.amnestyusa.org/news/page/2/?country=russian-federation%2Cukraine'
        >>> parse_listing_args(base_url="http://127.0.0.1:8080/").page_url(1)
        'http://127.0.0.1:8080/news/'
        """
        path = "/news/" if page == 1 else f"/news/page/{page}/"
        query = "&".join(
            f"{key}={quote(','.join(values), safe='')}" for key, values in self.filters
        )
        return self.base_url + path + (f"?{query}" if query else "")

    def on_base(self, url: str) -> str:
        """`url` moved onto the crawled host: the site's own links may name its canonical host
        (`https://www.amnestyusa.org/news/page/2/`), but a crawl stays on the host it was given.

        >>> q = parse_listing_args(base_url="http://127.0.0.1:8080")
        >>> q.on_base("https://www.amnestyusa.org/news/page/2/?country=syria")
        'http://127.0.0.1:8080/news/page/2/?country=syria'
        """
        parts = urlsplit(url)
        base = urlsplit(self.base_url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    @property
    def host(self) -> str:
        """The host name crawled (for Scrapy's allowed_domains)."""
        return urlsplit(self.base_url).hostname or ""


def _split_values(key: str, raw: str) -> tuple[str, ...]:
    values = tuple(v.strip().lower() for v in raw.split(",") if v.strip())
    if not values:
        raise ArgumentError(f"{key} is empty: give one value or several separated by commas")
    for value in values:
        if not all(c.isalnum() or c in "-_" for c in value):
            raise ArgumentError(
                f"{key}={value!r} is not a slug as the site uses them (letters, digits, '-')"
            )
    return values


def _positive_int(name: str, raw: object) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        raise ArgumentError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ArgumentError(f"{name} must be 1 or more, not {value}")
    return value


def parse_listing_args(
    *,
    country: str | None = None,
    issue: str | None = None,
    start_page: object = 1,
    max_pages: object = None,
    base_url: str | None = None,
) -> ListingQuery:
    """Check the spider's arguments (as strings from `-a key=value`) and build the query.

    >>> parse_listing_args(start_page="0")
    Traceback (most recent call last):
    ...
    archiver.listing.ArgumentError: start_page must be 1 or more, not 0
    """
    base = (base_url or DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ArgumentError(
            f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}, not {base!r}"
        )
    if parts.path or parts.query:
        raise ArgumentError(f"base_url must be the site's origin without a path, not {base!r}")
    filters = tuple(
        (key, _split_values(key, raw))
        for key, raw in (("country", country), ("issue", issue))
        if raw is not None
    )
    return ListingQuery(
        base_url=base,
        filters=filters,
        start_page=_positive_int("start_page", start_page),
        max_pages=None if max_pages in (None, "") else _positive_int("max_pages", max_pages),
    )
