"""Make chosen pages of the local site misbehave, the way a failing production server does.

A crawler that runs for months meets every kind of broken answer: 5xx storms, connections that
hang or are reset, bodies cut short, maintenance pages served as 200, redirect loops, binary junk
and pages in the wrong encoding. Tests (and a person running `archiver serve-demo --fault ...`)
stage them here, in the spirit of Scrapy's own tests/mockserver resources.

This module only decides: a `FaultPlan` says which path answers with which `Fault` (and counts
the tries, so a fault can clear after `times` tries), and `fault_answer` says what goes on the
wire. `archiver.demo.server` does the sending, so every fault really happens on the socket.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import html
import random
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from http import HTTPStatus
from typing import Any, Literal, cast, get_args
from urllib.parse import parse_qsl, quote, urlsplit

FaultKind = Literal[
    "status",
    "hang",
    "reset",
    "truncate",
    "empty",
    "maintenance",
    "redirect_loop",
    "garbage",
    "wrong_encoding",
]
KINDS: tuple[str, ...] = get_args(FaultKind)

# The parameters that mean something for each kind (the CLI refuses the others).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "status": ("status",),
    "hang": ("seconds",),
    "truncate": ("fraction",),
    "garbage": ("size",),
    "wrong_encoding": ("encoding",),
}

HTML = "text/html; charset=UTF-8"


def _normalise_query(query: str) -> str:
    # Decoded, then encoded the way the spider sends it (archiver.listing: quote(value, safe=""))
    # so `,`, `%2C` and `%2c` (and `+` / `%20`) are one spelling.
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in pairs)


@functools.lru_cache(maxsize=4096)  # the server asks on every request; a crawl repeats paths
def normalise_path(path: str) -> str:
    """The one spelling of a request target (path and query) that faults and tries are keyed by.

    Listing pages are written as the spider requests them (`/news/` for page 1, `/news/page/N/`),
    whatever the request's spelling; the query keeps its parameters in order, re-encoded.

    >>> normalise_path("/news/page/1?country=syria")
    '/news/?country=syria'
    >>> normalise_path("/news/page/03/?country=russian-federation,ukraine")
    '/news/page/3/?country=russian-federation%2Cukraine'
    >>> normalise_path("/robots.txt?")
    '/robots.txt'
    """
    parts = urlsplit(path)
    route = parts.path or "/"
    segments = [segment for segment in route.split("/") if segment]
    if segments == ["news"]:
        route = "/news/"
    elif len(segments) == 3 and segments[:2] == ["news", "page"] and segments[2].isdigit():
        number = int(segments[2])
        route = "/news/" if number == 1 else f"/news/page/{number}/"
    query = _normalise_query(parts.query)
    return f"{route}?{query}" if query else route


def listing_path(page: int, query: str = "") -> str:
    """The path (and query) the spider requests for page `page` of the listing for `query`.

    >>> listing_path(1), listing_path(3, "country=syria")
    ('/news/', '/news/page/3/?country=syria')
    >>> listing_path(2, "country=russian-federation,ukraine")
    '/news/page/2/?country=russian-federation%2Cukraine'
    """
    if page < 1:
        raise ValueError(f"page must be 1 or more, not {page}")
    route = "/news/" if page == 1 else f"/news/page/{page}/"
    query = _normalise_query(query.lstrip("?"))
    return f"{route}?{query}" if query else route


@dataclass(frozen=True)
class Fault:
    """How a page misbehaves, and for how many tries (`times`; None = for ever).

    `times` counts the requests the server receives. A client may send more than it reports:
    Scrapy's connection pool (Twisted) silently sends a request again, once, when a reused
    keep-alive connection closes before any answer (a `reset`), so one Scrapy try can be two here.

    Kinds and their parameters:

    - `status`: answer `status` (400-599) with a small HTML error page.
    - `hang`: read the request, send nothing for `seconds`, then close the connection.
    - `reset`: close the connection with a TCP RST, no answer at all.
    - `truncate`: the real headers (full Content-Length), only `fraction` of the body, then close.
    - `empty`: 200 with an empty body.
    - `maintenance`: 200 with a "down for maintenance" page: site header, no cards, no next link.
    - `redirect_loop`: 302 to the very same URL. Scrapy's duplicate filter drops that redirect
      (the URL was already scheduled) rather than hitting REDIRECT_MAX_TIMES.
    - `garbage`: 200, `text/html; charset=UTF-8`, `size` bytes of noise seeded from the path.
    - `wrong_encoding`: the real page encoded in `encoding` while the header says UTF-8, so its
      accents and curly quotes arrive as invalid UTF-8 (the previous layout writes its cards'
      non-ASCII as entities, so there only the footer's © is spoilt).

    >>> Fault("status", status=503, times=2).describe()
    'status (status=503) on the first 2 tries'
    """

    kind: FaultKind
    times: int | None = None
    status: int = 500
    seconds: float = 60.0
    fraction: float = 0.4
    size: int = 4096
    encoding: str = "cp1252"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (choose from {', '.join(KINDS)})")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be 1 or more (or None for ever), not {self.times}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"status must be 400-599, not {self.status}")
        if not 0 < self.seconds < 86_400:
            raise ValueError(f"seconds must be more than 0 and less than a day, not {self.seconds}")
        if not 0 < self.fraction < 1:
            raise ValueError(f"fraction must be between 0 and 1, not {self.fraction}")
        if self.size < 1:
            raise ValueError(f"size must be 1 or more, not {self.size}")
        try:
            name = codecs.lookup(self.encoding).name
        except LookupError:
            raise ValueError(f"unknown encoding {self.encoding!r}") from None
        if name == "utf-8":
            raise ValueError("encoding must not be UTF-8 (that is the page's own encoding)")

    def describe(self) -> str:
        """One line for a person: the kind, its parameters, how many tries."""
        params = " ".join(f"{name}={getattr(self, name)}" for name in PARAMETERS.get(self.kind, ()))
        if self.times is None:
            tries = "every try"
        else:
            tries = "the first try" if self.times == 1 else f"the first {self.times} tries"
        return f"{self.kind} ({params}) on {tries}" if params else f"{self.kind} on {tries}"


class FaultPlan(Mapping[str, Fault]):
    """Which path answers with which fault, and how many times each path was asked for.

    Keys are normalised (`normalise_path`), so any spelling of a page finds its fault. The
    server calls `on_request` for every request; the counts belong to the plan, so a fresh plan
    starts from zero. Safe to change from a test while the server's threads read it.

    >>> plan = FaultPlan({listing_path(2, "country=syria"): Fault("empty", times=1)})
    >>> plan.on_request("/news/page/2/?country=syria").kind
    'empty'
    >>> plan.on_request("/news/page/2?country=syria") is None  # another spelling, second try
    True
    >>> plan.tries
    {'/news/page/2/?country=syria': 2}
    """

    def __init__(self, faults: Mapping[str, Fault] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}
        self._tries: dict[str, int] = {}
        for selector, fault in (faults or {}).items():
            self.add(selector, fault)

    def add(self, selector: str, fault: Fault) -> FaultPlan:
        """Make `selector` (a path such as `listing_path(3, "country=syria")`) answer `fault`."""
        if not isinstance(fault, Fault):
            raise TypeError(f"expected a Fault, not {type(fault).__name__}")
        with self._lock:
            self._faults[normalise_path(selector)] = fault
        return self

    def remove(self, selector: str) -> None:
        """Let `selector` answer normally again."""
        with self._lock:
            self._faults.pop(normalise_path(selector), None)

    def __getitem__(self, selector: str) -> Fault:
        return self._faults[normalise_path(selector)]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def __repr__(self) -> str:
        return f"FaultPlan({dict(self._faults)!r})"

    def on_request(self, path: str) -> Fault | None:
        """Count one try of `path`; the fault to answer it with, or None for the real page."""
        key = normalise_path(path)
        with self._lock:
            number = self._tries.get(key, 0) + 1
            self._tries[key] = number
            fault = self._faults.get(key)
        if fault is None or (fault.times is not None and number > fault.times):
            return None
        return fault

    @property
    def tries(self) -> dict[str, int]:
        """How many requests each normalised path received (a copy)."""
        with self._lock:
            return dict(self._tries)

    def reset(self) -> None:
        """Forget the counts: every fault starts over (its `times` counts again from 0)."""
        with self._lock:
            self._tries.clear()


@dataclass(frozen=True)
class FaultAnswer:
    """What to put on the wire: wait, then (if `status`) a response, then how to end.

    `end` is `keep` (the connection stays open, as for a normal answer), `close` (a normal
    close: FIN) or `reset` (SO_LINGER 0, then close: RST).
    """

    status: int | None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    wait: float = 0.0
    end: Literal["keep", "close", "reset"] = "keep"


def _error_page(status: int) -> bytes:
    try:
        phrase = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        phrase = f"{status} Error"
    return (
        f"<html>\r\n<head><title>{phrase}</title></head>\r\n<body>\r\n<center><h1>{phrase}</h1>"
        "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


MAINTENANCE_PAGE = (
    "<!DOCTYPE html>\n"
    '<html lang="en-US"><head><meta charset="UTF-8">\n'
    '<meta name="robots" content="noindex, nofollow">\n'
    "<title>Down for maintenance - Amnesty International USA</title>\n"
    "</head><body>\n"
    '<header class="site-header"><nav class="main-nav"><a href="/">Amnesty International USA'
    '</a> <a href="/issues/">Issues</a> <a href="/countries/">Countries</a> '
    '<a href="/news/">Newsroom</a> <a href="/donate/">Donate</a></nav></header>\n'
    '<main id="main"><section class="maintenance">\n'
    '<h1 class="utility-xl">We’ll be right back</h1>\n'
    '<p class="body-sm">amnestyusa.org is briefly down for scheduled maintenance. '
    "Please check back in a few minutes.</p>\n"
    "</section></main>\n"
    '<footer class="site-footer"><p>© Amnesty International USA. '
    '<a href="/privacy-policy/">Privacy</a></p></footer>\n'
    "</body></html>\n"
).encode()


def _garbage(path: str, size: int) -> bytes:
    seed = int.from_bytes(hashlib.sha256(normalise_path(path).encode()).digest()[:8], "big")
    return random.Random(seed).randbytes(size)


def _complete(status: int, content_type: str, body: bytes) -> FaultAnswer:
    headers = (("Content-Type", content_type), ("Content-Length", str(len(body))))
    return FaultAnswer(status, headers, body)


def fault_answer(
    fault: Fault, path: str, page_status: int, page_body: bytes, content_type: str = HTML
) -> FaultAnswer:
    """What the server sends for `path` under `fault`; the real answer is `page_status`,
    `page_body` (`content_type`), which `truncate` and `wrong_encoding` spoil.

    >>> fault_answer(Fault("redirect_loop"), "/news/", 200, b"").headers[0]
    ('Location', '/news/')
    >>> answer = fault_answer(Fault("truncate", fraction=0.5), "/news/", 200, b"0123456789")
    >>> answer.headers[1], answer.body, answer.end
    (('Content-Length', '10'), b'01234', 'close')
    """
    kind = fault.kind
    if kind == "status":
        return _complete(fault.status, HTML, _error_page(fault.status))
    if kind == "hang":
        return FaultAnswer(None, wait=fault.seconds, end="close")
    if kind == "reset":
        return FaultAnswer(None, end="reset")
    if kind == "truncate":
        cut = int(len(page_body) * fault.fraction)
        headers = (("Content-Type", content_type), ("Content-Length", str(len(page_body))))
        return FaultAnswer(page_status, headers, page_body[:cut], end="close")
    if kind == "empty":
        return _complete(200, HTML, b"")
    if kind == "maintenance":
        return _complete(200, HTML, MAINTENANCE_PAGE)
    if kind == "redirect_loop":
        body = f'<a href="{html.escape(path)}">Found</a>.\n'.encode()
        headers = (("Location", path), ("Content-Type", HTML), ("Content-Length", str(len(body))))
        return FaultAnswer(302, headers, body)
    if kind == "garbage":
        return _complete(200, HTML, _garbage(path, fault.size))
    if kind == "wrong_encoding":
        text = page_body.decode("utf-8", errors="replace")
        return _complete(page_status, HTML, text.encode(fault.encoding, "xmlcharrefreplace"))
    raise AssertionError(f"unhandled fault kind {kind!r}")  # pragma: no cover


SPEC_HELP = (
    "Comma-separated NAME=VALUE fields: which page (`page=N` with optional `query=Q`, or "
    "`path=/P` for any other path), `kind=K`, optional `times=N` (default: for ever) and the "
    "kind's parameter (status=, seconds=, fraction=, size=, encoding=). A field without `=` "
    "continues the one before, so `query=country=a,b` keeps its comma."
)

_SELECTOR_FIELDS = ("page", "query", "path")
_FAULT_FIELDS = tuple(f.name for f in fields(Fault))


def parse_fault_spec(spec: str) -> tuple[str, Fault]:
    """Read one `--fault` spec into (normalised path, Fault); ValueError says what is wrong.

    >>> path, fault = parse_fault_spec("page=3,query=country=syria,kind=status,status=500,times=2")
    >>> path, fault.describe()
    ('/news/page/3/?country=syria', 'status (status=500) on the first 2 tries')
    >>> parse_fault_spec("page=2,query=country=russian-federation,ukraine,kind=reset")[0]
    '/news/page/2/?country=russian-federation%2Cukraine'
    >>> parse_fault_spec("path=/robots.txt,kind=hang,seconds=5")[1].describe()
    'hang (seconds=5.0) on every try'
    """
    values: dict[str, str] = {}
    last: str | None = None
    for part in spec.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            if last is None:
                raise ValueError(f"{part.strip()!r} is not NAME=VALUE")
            values[last] += "," + part.strip()
            continue
        if name not in _SELECTOR_FIELDS and name not in _FAULT_FIELDS:
            raise ValueError(f"unknown field {name!r}")
        if name in values:
            raise ValueError(f"{name}= given twice")
        values[name] = value.strip()
        last = name
    if "kind" not in values:
        raise ValueError(f"kind= is missing (one of {', '.join(KINDS)})")
    kind = values.pop("kind")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (choose from {', '.join(KINDS)})")
    if "path" in values:
        if "page" in values or "query" in values:
            raise ValueError("give either path= or page=/query=, not both")
        selector = normalise_path(values.pop("path"))
        if not selector.startswith("/"):
            raise ValueError(f"path must start with '/', not {selector!r}")
    elif "page" in values or "query" in values:
        selector = listing_path(_number(values.pop("page", "1"), "page"), values.pop("query", ""))
    else:
        raise ValueError("say which page: page=N (and query=Q) or path=/P")
    params: dict[str, Any] = {}
    if "times" in values:
        params["times"] = _number(values.pop("times"), "times")
    allowed = PARAMETERS.get(kind, ())
    for name, value in values.items():
        if name not in allowed:
            raise ValueError(f"{name}= does not apply to kind={kind}")
        if name in ("status", "size"):
            params[name] = _number(value, name)
        elif name in ("seconds", "fraction"):
            params[name] = _decimal(value, name)
        else:
            params[name] = value
    return selector, Fault(cast(FaultKind, kind), **params)


def _number(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}= must be a whole number, not {value!r}") from None


def _decimal(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name}= must be a number, not {value!r}") from None
