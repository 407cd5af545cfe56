"""Release URLs: absolute, https, no fragment or tracking, canonical; the deduplication key.

A release's identity is its URL on the source's canonical origin (`https://www.amnestyusa.org`),
whichever host served the listing: the bare host, a mirror subdomain, or a local copy of the site
(the demo server, reached through the spider's `base_url`). The listing page actually fetched is
kept on the item (`page_url`) as provenance, so nothing is lost by rewriting the host here.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from archiver.sites import Source

# Parameters that say how a reader arrived, never which page they read.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "ref_src",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "hsa_")
# Browsers drop ASCII tabs and newlines anywhere in a URL (WHATWG URL standard); markup has them.
_URL_NOISE_RE = re.compile(r"[\t\n\r]")
_MAX_ROUNDS = 5
# After the origin: a path of plain segments (letters, digits, `-`, `_`, inner dots), ending in a
# slash, no query or fragment. Such a URL on the source's canonical origin is already canonical
# (`_canonical_once` returns it unchanged), so the confirming round can be skipped.
_PLAIN_PATH_RE = re.compile(r"(?:/[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)*/")
_plain_origins: dict[Source, bool] = {}


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter only tracks the visit.

    >>> is_tracking_param("utm_source"), is_tracking_param("UTM_Medium"), is_tracking_param("page")
    (True, True, False)
    """
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def strip_tracking(query: str) -> str:
    """The query string without tracking parameters (order and blank values otherwise kept).

    >>> strip_tracking("utm_source=twitter&id=7&fbclid=abc&q=")
    'id=7&q='
    """
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(name, value) for name, value in pairs if not is_tracking_param(name)])


def _origin_path(url: str, base_url: str | None) -> str | None:
    """The part of `url` below `base_url` as an absolute path, when `url` is under it."""
    if not base_url:
        return None
    base = urlsplit(base_url)
    target = urlsplit(url)
    if (base.scheme, base.netloc.lower()) != (target.scheme, target.netloc.lower()):
        return None
    prefix = base.path.rstrip("/")
    if target.path == prefix or target.path.startswith(prefix + "/"):
        return target.path[len(prefix) :] or "/"
    return None


def _canonical_once(
    url: str, source: Source, page_url: str | None, base_url: str | None
) -> str | None:
    text = _URL_NOISE_RE.sub("", url).strip()
    if not text:
        return None
    try:
        absolute = urljoin(page_url, text) if page_url else text
        parts = urlsplit(absolute)
        port = parts.port  # raises ValueError for an impossible port
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    path = parts.path or "/"
    page_netloc = urlsplit(page_url).netloc.lower() if page_url else None
    rebased = _origin_path(absolute, base_url)
    if rebased is not None:
        # A local copy of the site: its root stands for the canonical origin.
        origin, path = source.canonical_origin, rebased
    elif source.owns_host(host) or parts.netloc.lower() == page_netloc:
        # The source itself, a mirror, or the very host that served this listing.
        origin = source.canonical_origin
    else:
        # A release on another site: keep its host, but over https.
        origin = f"https://{host}" + (f":{port}" if port not in (None, 80, 443) else "")
    if origin == source.canonical_origin and not path.endswith("/"):
        last = path.rsplit("/", 1)[-1]
        if "." not in last:  # WordPress permalinks end in a slash and redirect to it
            path += "/"
    candidate = urlunsplit(("", "", path, strip_tracking(parts.query), ""))
    try:
        return canonicalize_url(origin + candidate, keep_fragments=False)
    except ValueError:
        return None


def _plain_origin(source: Source) -> bool:
    """Whether `source.canonical_origin` is a lower-case https origin of a host the source owns.

    Then `_canonical_once` maps a plain URL on that origin to itself (see `_is_fixed_point`).
    """
    known = _plain_origins.get(source)
    if known is None:
        origin = source.canonical_origin
        parts = urlsplit(origin)
        known = _plain_origins[source] = (
            origin == origin.lower()
            and parts.scheme == "https"
            and origin == f"https://{parts.netloc}"
            and parts.port is None
            and bool(parts.hostname)
            and source.owns_host(parts.hostname or "")
        )
    return known


def _is_fixed_point(url: str, source: Source, base_url: str | None) -> bool:
    """A cheap, conservative test that `_canonical_once(url, ...)` would return `url` itself.

    True only for `canonical origin + plain path` (the form of nearly every release URL), where
    each step of `_canonical_once` leaves the URL as it is: no noise to strip, an absolute https
    URL that `urljoin` keeps, an owned host, a path that already ends in a slash, no query, and
    nothing `canonicalize_url` would quote, sort or drop. A local copy's `base_url` on that very
    origin would rebase the path, so that case takes the full round.
    """
    origin = source.canonical_origin
    return (
        url.startswith(origin)
        and _PLAIN_PATH_RE.fullmatch(url, len(origin)) is not None
        and _plain_origin(source)
        and (not base_url or _origin_path(url, base_url) is None)
    )


def canonical_release_url(
    url: str | None,
    source: Source,
    page_url: str | None = None,
    base_url: str | None = None,
) -> str | None:
    """The release's identity URL, or None when `url` is not a usable http(s) URL.

    `page_url` (the listing fetched) resolves relative links and tells which host served the
    listing; `base_url` is the root of a local copy of the site, when one was crawled.

    >>> from archiver.sites import AMNESTYUSA as S
    >>> canonical_release_url("http://amnestyusa.org/press-releases/x?utm_source=tw#top", S)
    'https://www.amnestyusa.org/press-releases/x/'
    >>> canonical_release_url("/reports/y/", S, page_url="https://mirror.amnestyusa.org/news/")
    'https://www.amnestyusa.org/reports/y/'
    >>> canonical_release_url("http://127.0.0.1:8080/site/updates/z/?b=2&a=1", S,
    ...                       base_url="http://127.0.0.1:8080/site/")
    'https://www.amnestyusa.org/updates/z/?a=1&b=2'
    >>> canonical_release_url("mailto:press@aiusa.org", S) is None
    True
    """
    if not url:
        return None
    return _plain_release_url(url, source, page_url, base_url) or canonical_by_rounds(
        url, source, page_url, base_url
    )


def canonical_by_rounds(
    url: str, source: Source, page_url: str | None = None, base_url: str | None = None
) -> str | None:
    """`canonical_release_url` the long way, for any URL: canonical rounds until a fixed point.

    Public so the tests can hold the shortcut (`_plain_release_url`) to it.
    """
    result: str | None = url
    for _ in range(_MAX_ROUNDS):
        previous = result
        result = _canonical_once(previous, source, page_url, base_url)
        # A fixed point ends the rounds: found by a round that changed nothing, or recognised
        # without running one more (a plain URL on the canonical origin, the common case).
        if result is None or result == previous or _is_fixed_point(result, source, base_url):
            break
    return result


def _without_tracking_suffix(url: str) -> str | None:
    """`url` without its fragment and a query of tracking parameters only; None if it has more.

    Conservative: a query with any other parameter is left to the rounds (which sort and quote
    what they keep).

    >>> _without_tracking_suffix("https://x.org/a/?utm_source=tw&fbclid=1#top")
    'https://x.org/a/'
    >>> _without_tracking_suffix("https://x.org/a/?id=7") is None
    True
    """
    url = url.partition("#")[0]
    url, _, query = url.partition("?")
    for pair in query.split("&"):
        if not pair:
            continue
        name = pair.partition("=")[0]
        if not is_tracking_param(name):  # a tracking name stays one once decoded
            return None
    return url


def _owned_origin_end(url: str, source: Source) -> int | None:
    """Where the path starts in an http(s) `url` on a plain host the source owns; else None.

    Plain: ASCII letters, digits, dots and dashes only (no port, user or IPv6 brackets).

    >>> from archiver.sites import AMNESTYUSA as S
    >>> _owned_origin_end("http://AmnestyUSA.org/x/", S), _owned_origin_end("https://ex.org/", S)
    (21, None)
    """
    if url.startswith("https://"):
        start = 8
    elif url.startswith("http://"):
        start = 7
    else:
        return None
    end = url.find("/", start)
    netloc = url[start:end]
    if end < 0 or not netloc.isascii() or not netloc.replace("-", "").replace(".", "").isalnum():
        return None
    return end if source.owns_host(netloc) else None


@lru_cache(maxsize=64)
def _page_origin(page_url: str) -> str | None:
    """`scheme://netloc` of a listing page fetched over http(s); None for any other page.

    Cached: every card of a page (and of a crawl, for the netloc) shares it.
    """
    try:
        parts = urlsplit(page_url)
        parts.port  # noqa: B018 (raises ValueError for an impossible port)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _plain_release_url(
    url: str, source: Source, page_url: str | None, base_url: str | None
) -> str | None:
    """The canonical URL of a release link of the common, plain shapes, without the rounds.

    Nearly every card links to a plain path (see `_PLAIN_PATH_RE`) on the canonical origin, on
    another host of the source (`amnestyusa.org`), on the listing's own origin (absolute, as
    the extractor resolves them), or root-relative. `_canonical_once` maps each of them to
    `canonical origin + path` and stops there, so this returns that directly: the rounds'
    `urljoin`, `urlsplit` and `canonicalize_url` cost about as much as all the other
    normalisers together. A fragment, and a query of tracking parameters only, are dropped
    first. None means "not that simple": take the rounds. A local copy's `base_url` may rebase
    paths, so with one only the first shape applies. `tests/test_normalize_properties.py`
    holds this to `canonical_by_rounds`.
    """
    if not _plain_origin(source):
        return None
    if "#" in url or "?" in url:
        stripped = _without_tracking_suffix(url)
        if stripped is None:
            return None
        url = stripped
    origin = source.canonical_origin
    if url.startswith(origin):
        return url if _is_fixed_point(url, source, base_url) else None
    if base_url:
        return None
    path_start = _owned_origin_end(url, source)
    if path_start is None:
        page_origin = _page_origin(page_url) if page_url else None
        if page_origin is None:
            return None
        if url.startswith(page_origin):
            path_start = len(page_origin)
        elif url.startswith("/"):  # root-relative (`//host/` fails the plain-path test)
            path_start = 0
        else:
            return None
    if _PLAIN_PATH_RE.fullmatch(url, path_start) is None:
        return None
    return origin + url[path_start:]
