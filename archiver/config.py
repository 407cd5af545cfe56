"""Where the archiver keeps things, and how secrets are kept out of everything it prints.

Precedence (documented in the README and docs/settings.md): an explicit value (`--db`, a Scrapy
setting), then the environment (`ARCHIVER_DATABASE_URL`, `ARCHIVER_DATA_DIR`), then the defaults
under `data/` in the current directory. The same two functions answer for a command and for a
crawl process, so a crawl always writes where the command that launched it reads.

`scrub_secrets` is the one scrubber: every message, log line, stats value, run row and manifest
that may hold a URL goes through it (or through `mask_url` for a URL alone). Pure: no database
driver, no Scrapy.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from archiver.errors import ArgumentError

DEFAULT_DATA_DIR = "data"
MASK = "***"

# `scheme://user:password@` anywhere in a text; the password ends at the last `@` before the host.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s@/]*@")
# libpq keyword DSNs and query strings: `password=...`.
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('[^']*'|[^\s&;]+)", re.IGNORECASE)


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data folder (logs, exports, archived pages, default database)."""
    raw = explicit or os.environ.get("ARCHIVER_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(raw).expanduser().absolute()


def database_url(explicit: str | None = None, data: str | os.PathLike[str] | None = None) -> str:
    """The database URL: `explicit`, else `ARCHIVER_DATABASE_URL`, else `archive.db` in the data
    folder (`data`, else `ARCHIVER_DATA_DIR`, else `./data`)."""
    url = explicit or os.environ.get("ARCHIVER_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir(data) / 'archive.db'}"


def crawl_database_url(settings: Any) -> str:
    """The database a crawl writes to, from its Scrapy settings (then the environment).

    `-s ARCHIVER_DATA_DIR=/srv/archive` moves the default database there too.
    """
    return database_url(settings.get("ARCHIVER_DATABASE_URL"), settings.get("ARCHIVER_DATA_DIR"))


def mask_url(url: str) -> str:
    """A URL that is safe to print: the password is replaced by `***`.

    >>> mask_url("postgresql+psycopg://archiver:s3cret@db.example:5432/news")
    'postgresql+psycopg://archiver:***@db.example:5432/news'
    >>> mask_url("sqlite:///data/archive.db")
    'sqlite:///data/archive.db'
    >>> mask_url("not a url")
    'not a url'
    >>> mask_url("postgresql://me:pw@host:notaport/db")
    'postgresql://me:***@host:notaport/db'
    """
    return scrub_secrets(url)


def url_password(url: str | None) -> str | None:
    """The password a URL carries, decoded (None when it has none).

    >>> url_password("postgresql://me:p%40ss@h/db"), url_password("sqlite:///x.db")
    ('p@ss', None)
    """
    match = _URL_PASSWORD.search(url or "")
    if match is None:
        return None
    password = match.group(0)[len(match.group(1)) : -1]
    return unquote(password) or None


def scrub_secrets(text: str, known: Iterable[str | None] = ()) -> str:
    """`text` with every URL password, `password=` value and known secret replaced by `***`.

    `known` are URLs (their passwords are removed wherever they appear, also inside driver
    messages that quote them without the URL) or bare secrets.

    >>> scrub_secrets("auth failed for s3cret", ["postgresql://me:s3cret@h/db"])
    'auth failed for ***'
    >>> scrub_secrets("proxy http://u:pw@proxy:3128 and dsn host=h password=pw user=u")
    'proxy http://u:***@proxy:3128 and dsn host=h password=*** user=u'
    """
    secrets = set()
    for value in known:
        if value:
            password = url_password(value) if "://" in value else value
            if password:
                secrets.update({password, _quoted(password)})
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 2:  # a one-character "password" would mangle every message
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(rf"\1{MASK}@", text)
    return _KEYWORD_PASSWORD.sub(rf"\1{MASK}", text)


class SecretScrubber(logging.Filter):
    """Masks URL passwords (and the passwords of the `known` URLs) in every log record."""

    def __init__(self, known: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.known = list(known)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        scrubbed = scrub_secrets(message, self.known)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def skip_unlogged_levels() -> None:
    """Raise loggers' levels to the lowest level one of the root handlers writes.

    Scrapy sets its own logger to DEBUG and filters at its root handler, so every DEBUG message
    (a "Scraped from ..." per item, a "Crawled (200)" per page) still builds a LogRecord and
    looks up its caller, only to be dropped: a tenth of a plain crawl's time. Raised are the
    root logger and every logger set below that level; only ever raised, so nothing a handler
    would write is lost. Left alone when a logger has a handler of its own or does not pass its
    records up (a level there may be wanted). Call again when handlers change.
    """
    root = logging.getLogger()
    known = logging.Logger.manager.loggerDict.values()
    loggers = [each for each in known if isinstance(each, logging.Logger)]
    writers = _writing_handlers(root)
    if not writers or any(_writing_handlers(each) or not each.propagate for each in loggers):
        return
    lowest = min(handler.level for handler in writers)
    if root.level < lowest:
        root.setLevel(lowest)
    for each in loggers:
        if 0 < each.level < lowest:  # NOTSET (0) defers to the parent: nothing to raise
            each.setLevel(lowest)


def _writing_handlers(logger: logging.Logger) -> list[logging.Handler]:
    # A library's NullHandler (the logging HOWTO's advice) writes nothing.
    return [each for each in logger.handlers if not isinstance(each, logging.NullHandler)]


def scrub_log_handlers(scrubber: SecretScrubber) -> None:
    """Put `scrubber` on every root handler that has no secret scrubber yet (a logger's own
    filters would skip the records of its children)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(each, SecretScrubber) for each in handler.filters):
            handler.addFilter(scrubber)


def _quoted(password: str) -> str:
    from urllib.parse import quote

    return quote(password, safe="")


def parse_pairs(values: Iterable[str], what: str) -> dict[str, str]:
    """`KEY=VALUE` strings (spider arguments, settings) as a dict; ArgumentError otherwise.

    >>> parse_pairs(["country=syria", "max_pages=2"], "-a")
    {'country': 'syria', 'max_pages': '2'}
    >>> parse_pairs(["country"], "-a")
    Traceback (most recent call last):
    ...
    archiver.errors.ArgumentError: -a 'country' is not KEY=VALUE
    """
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise ArgumentError(f"{what} {value!r} is not KEY=VALUE")
        pairs[key.strip()] = rest
    return pairs
