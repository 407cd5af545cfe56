"""What the archiver knows about the sites it crawls: sources, listing URLs, filters and facets.

The one place for each of these rules, pure (no Scrapy, no database), so the spider routes with
them, the command line checks arguments with them before a crawl starts, the store and the
exports read facets with them, and tests check URL forms without running Scrapy:

- a `Source` knows its canonical origin (a release's identity is its URL there, whichever host
  served the listing) and the URL sections that name a release's type;
- a `ListingQuery` is one crawl's listing: filters, pages, host;
- a filter value is a slug as the site writes it in listing URLs (`check_slug`);
- a facet is the filter a release was seen under, stored as a string
  (`country=russian-federation,ukraine&issue=death-penalty`): `encode_facet` writes it,
  `decode_facet` reads it, `facet_of_arguments` / `arguments_of_facet` go to and from the
  spider arguments that crawl it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from archiver.errors import ArgumentError

DEFAULT_BASE_URL = "https://www.amnestyusa.org"
#: The listing filters, in the order they appear in a facet string and in listing URLs.
FILTER_KEYS = ("country", "issue")

_SLUG = re.compile(r"[a-z0-9_-]+")

Filters = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class Source:
    """A newsroom the archiver can crawl."""

    name: str
    canonical_origin: str  # scheme://host of release identities, no trailing slash
    domain: str  # registrable domain: the host itself and every subdomain are the source's own
    # URL path sections that say a release's type when its card has no label.
    section_types: tuple[tuple[str, str], ...] = ()

    def owns_host(self, host: str) -> bool:
        """Whether `host` is the source itself or one of its subdomains (mirrors, `www`).

        >>> AMNESTYUSA.owns_host("amnestyusa.org"), AMNESTYUSA.owns_host("mirror.amnestyusa.org")
        (True, True)
        >>> AMNESTYUSA.owns_host("amnesty.org"), AMNESTYUSA.owns_host("notamnestyusa.org")
        (False, False)
        """
        host = host.lower().rstrip(".")
        return host == self.domain or host.endswith("." + self.domain)


AMNESTYUSA = Source(
    name="amnestyusa",
    canonical_origin="https://www.amnestyusa.org",
    domain="amnestyusa.org",
    section_types=(
        ("press-releases", "Press Release"),
        ("reports", "Report"),
        ("updates", "Update"),
        ("urgent-actions", "Urgent Action"),
        ("news", "News"),
    ),
)

SOURCES: dict[str, Source] = {AMNESTYUSA.name: AMNESTYUSA}


def get_source(name: str) -> Source:
    """The source called `name`; an ArgumentError naming the known ones otherwise.

    >>> get_source("bbc")
    Traceback (most recent call last):
    ...
    archiver.errors.ArgumentError: unknown source 'bbc' (known: amnestyusa)
    """
    try:
        return SOURCES[name]
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise ArgumentError(f"unknown source {name!r} (known: {known})") from None


def check_slug(key: str, value: str) -> str:
    """A filter value as the site writes it in listing URLs: lower-case ASCII, digits, - and _.

    The one slug rule: crawls, schedules and exports accept exactly the same values.

    >>> check_slug("country", " Syria ")
    'syria'
    >>> check_slug("country", "syria&x")
    Traceback (most recent call last):
    ...
    archiver.errors.ArgumentError: country 'syria&x' is not a slug like 'syria' or \
'russian-federation' (letters a-z, digits, '-')
    """
    slug = value.strip().lower()
    if not _SLUG.fullmatch(slug):
        raise ArgumentError(
            f"{key} {value!r} is not a slug like 'syria' or 'russian-federation'"
            " (letters a-z, digits, '-')"
        )
    return slug


def filter_values(key: str, raw: str) -> tuple[str, ...]:
    """The values of one filter argument: one slug, or several separated by commas.

    >>> filter_values("country", "Russian-Federation, ukraine")
    ('russian-federation', 'ukraine')
    """
    values = tuple(check_slug(key, value) for value in raw.split(",") if value.strip())
    if not values:
        raise ArgumentError(f"{key} is empty: give one value or several separated by commas")
    return values


def encode_facet(filters: Iterable[tuple[str, Iterable[str]]]) -> str | None:
    """The facet string of a listing's filters, as stored with every release seen under it.

    >>> encode_facet([("country", ["russian-federation", "ukraine"]), ("issue", ["death-penalty"])])
    'country=russian-federation,ukraine&issue=death-penalty'
    >>> encode_facet([]) is None
    True
    """
    parts = [f"{key}={','.join(values)}" for key, values in filters]
    return "&".join(parts) or None


def decode_facet(facet: str | None) -> dict[str, tuple[str, ...]]:
    """The filters a stored facet string names, by key (`{}` for the unfiltered listing).

    >>> decode_facet("country=russian-federation,ukraine&issue=death-penalty")
    {'country': ('russian-federation', 'ukraine'), 'issue': ('death-penalty',)}
    >>> decode_facet(None), decode_facet("")
    ({}, {})
    """
    decoded: dict[str, tuple[str, ...]] = {}
    for part in (facet or "").split("&"):
        key, sep, values = part.partition("=")
        if sep:
            decoded[key] = decoded.get(key, ()) + tuple(v for v in values.split(",") if v)
    return decoded


def arguments_of_facet(facet: str | None) -> dict[str, str]:
    """The spider arguments that crawl the listing of a facet.

    >>> arguments_of_facet("country=russian-federation,ukraine&issue=death-penalty")
    {'country': 'russian-federation,ukraine', 'issue': 'death-penalty'}
    """
    return {key: ",".join(values) for key, values in decode_facet(facet).items()}


def facet_of_arguments(arguments: Mapping[str, Any] | None) -> str | None:
    """The facet a run's recorded arguments crawled (None: unfiltered or unreadable).

    >>> facet_of_arguments({"country": "Syria", "base_url": "http://127.0.0.1:1"})
    'country=syria'
    """
    raw = {key: str(value) for key, value in (arguments or {}).items() if key in FILTER_KEYS}
    try:
        return encode_facet(
            (key, filter_values(key, raw[key])) for key in FILTER_KEYS if key in raw
        )
    except ArgumentError:
        return None


@dataclass(frozen=True, slots=True)
class ListingQuery:
    """What one crawl reads: which filters, which pages, on which host."""

    base_url: str = DEFAULT_BASE_URL
    filters: Filters = ()  # (("country", ("syria",)),)
    start_page: int = 1
    max_pages: int | None = None

    @property
    def facet(self) -> str | None:
        """The filter as stored with each item: `country=syria`, `country=a,b&issue=c`, or None.

        >>> parse_listing_args(country="syria").facet
        'country=syria'
        """
        return encode_facet(self.filters)

    @property
    def whole_listing(self) -> bool:
        """Whether the query reads the listing from its first page with no page limit."""
        return self.start_page == 1 and self.max_pages is None

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

    def unfiltered(self) -> ListingQuery:
        """The same listing without its filters (the control page of an empty filter)."""
        return ListingQuery(base_url=self.base_url)

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


def _positive_int(name: str, raw: object) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        raise ArgumentError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ArgumentError(f"{name} must be 1 or more, not {value}")
    return value


def check_base_url(raw: str | None) -> str:
    """The origin to crawl: an http(s) URL with a host and no path (None: the real site).

    An empty value is refused rather than taken for the default: `-a base_url=` with a variable
    that did not expand must not send a crawl meant for a local copy to the real site.

    >>> check_base_url("http://127.0.0.1:8080/")
    'http://127.0.0.1:8080'
    >>> check_base_url("")
    Traceback (most recent call last):
    ...
    archiver.errors.ArgumentError: base_url is empty: give an http(s) URL such as \
https://www.amnestyusa.org, or leave it out
    """
    if raw is None:
        return DEFAULT_BASE_URL
    base = raw.strip().rstrip("/")
    if not base:
        raise ArgumentError(
            f"base_url is empty: give an http(s) URL such as {DEFAULT_BASE_URL}, or leave it out"
        )
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ArgumentError(
            f"base_url must be an http(s) URL with a host, such as {DEFAULT_BASE_URL}, not {base!r}"
        )
    if parts.path or parts.query:
        raise ArgumentError(f"base_url must be the site's origin without a path, not {base!r}")
    return base


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
    archiver.errors.ArgumentError: start_page must be 1 or more, not 0
    """
    raw = {"country": country, "issue": issue}
    return ListingQuery(
        base_url=check_base_url(base_url),
        filters=tuple(
            (key, filter_values(key, value))
            for key in FILTER_KEYS
            if (value := raw[key]) is not None
        ),
        start_page=_positive_int("start_page", start_page),
        max_pages=None if max_pages in (None, "") else _positive_int("max_pages", max_pages),
    )
