"""Atom feeds of the archive: any filter of the export, the releases it learnt last first.

    with read_snapshot(engine) as connection:
        xml = atom_feed(
            connection,
            ExportFilters.parse(countries=["syria"]),
            base_url="https://archive.example/",
            feed_url="https://archive.example/feed.atom?country=syria",
        )

A feed reader polls the same URL for years and decides what is new by the entries' ids and
`updated` times, so everything in the XML comes from the archive and nothing from the clock:

- entry id: the release's canonical URL (its identity in the archive), the same in every run,
  every database and every filter that shows it;
- entry `published`: when the archive first saw it; entry `updated`: when its listing values
  (`content_since`) or its page's text (`release_texts.text_since`) last changed, so an edited
  release comes back as updated under the same id;
- feed id: a `tag:` URI of the filter's canonical query string (`filter_query`), the same for
  the same filter however its options were spelled or ordered; feed `updated`: the newest entry
  `updated` (the Unix epoch for an empty feed); the generator carries no time.

So the same archive gives the same bytes twice (which lets a web server answer with an ETag).
Text is escaped text (`type="text"`), never HTML: a title holding `<script>` is shown, not run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from feedgen.feed import FeedGenerator
from sqlalchemy import Connection

from archiver import __version__
from archiver.db.feeds import FeedEntry, feed_entries
from archiver.db.releases import ReleaseFilter, stored_facets, where_clauses
from archiver.errors import ExportError
from archiver.export.filters import ExportFilters, iso_utc
from archiver.sites import SOURCES, decode_facet

#: The tagging entity of every id this module mints (RFC 4151).
TAG = "tag:archiver,2026:"
#: Entries in a feed when the caller does not say, and the most it may ask for.
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
#: `updated` of a feed without entries: fixed, so an empty feed is stable too.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Query keys `parse_query` reads, in canonical order.
QUERY_KEYS = ("source", "country", "issue", "type", "since", "until", "search", "seen_since")

# Characters XML 1.0 cannot carry at all (lxml refuses them): dropped from text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def filter_query(filters: ReleaseFilter) -> str:
    """The filters as a canonical query string: keys in one order, values sorted, repeated keys
    for several values; empty when nothing is filtered.

    >>> filter_query(ExportFilters.parse(types=["report"], countries=["syria", "iraq"]))
    'country=iraq&country=syria&type=Report'
    >>> filter_query(ExportFilters.parse(since="2016", search="death penalty", seen_since="42"))
    'since=2016-01-01&search=death+penalty&seen_since=42'
    >>> filter_query(ExportFilters())
    ''
    """
    pairs: list[tuple[str, str]] = [("source", value) for value in sorted(filters.sources)]
    for key, values in filters.facet_values().items():
        pairs.extend((key, value) for value in sorted(values))
    pairs.extend(("type", value) for value in sorted(filters.types))
    if filters.since:
        pairs.append(("since", filters.since.isoformat()))
    if filters.until:
        pairs.append(("until", filters.until.isoformat()))
    if filters.search:
        pairs.append(("search", filters.search))
    if isinstance(filters.seen_since, datetime):
        pairs.append(("seen_since", iso_utc(filters.seen_since)))
    elif filters.seen_since is not None:
        pairs.append(("seen_since", str(filters.seen_since)))
    return urlencode(pairs)


def parse_query(
    pairs: Iterable[tuple[str, str]], *, ignore: Iterable[str] = ("limit",)
) -> ExportFilters:
    """Filters from a URL's query (`request.query_params.multi_items()`), checked as the
    export's options are: keys as in `filter_query`, repeated or comma-separated for several
    values, empty values ignored. Unknown keys raise `ExportError` (a typo must not widen a
    feed to the whole archive), except those in `ignore`.

    >>> filter_query(parse_query([("country", "syria,iraq"), ("type", "press release"),
    ...                           ("issue", ""), ("limit", "10")]))
    'country=iraq&country=syria&type=Press+Release'
    >>> parse_query([("contry", "syria")])
    Traceback (most recent call last):
    ...
    archiver.errors.ExportError: unknown feed parameter 'contry' (known: source, country, \
issue, type, since, until, search, seen_since)
    """
    skipped = set(ignore)
    values: dict[str, list[str]] = {key: [] for key in QUERY_KEYS}
    for key, value in pairs:
        if key in skipped:
            continue
        if key not in values:
            known = ", ".join(QUERY_KEYS)
            raise ExportError(f"unknown feed parameter {key!r} (known: {known})")
        if key in ("source", "country", "issue"):
            values[key].extend(part.strip() for part in value.split(",") if part.strip())
        elif value.strip():
            values[key].append(value)
    single = {}
    for key in ("since", "until", "search", "seen_since"):
        if len(values[key]) > 1:
            raise ExportError(f"feed parameter {key!r} given {len(values[key])} times")
        single[key] = values[key][0] if values[key] else None
    return ExportFilters.parse(
        sources=values["source"],
        countries=values["country"],
        issues=values["issue"],
        types=values["type"],
        **single,
    )


def feed_id(filters: ReleaseFilter) -> str:
    """The feed's id: the same for the same filter, in any archive.

    >>> feed_id(ExportFilters.parse(countries=["syria"])), feed_id(ExportFilters())
    ('tag:archiver,2026:feed?country=syria', 'tag:archiver,2026:feed')
    """
    query = filter_query(filters)
    return f"{TAG}feed" + (f"?{query}" if query else "")


def feed_title(filters: ReleaseFilter) -> str:
    """A reader's name for the feed.

    >>> feed_title(ExportFilters.parse(countries=["syria"], types=["report", "news"]))
    'archiver: releases, country syria, type News or Report'
    >>> feed_title(ExportFilters())
    'archiver: all releases'
    """
    parts: dict[str, list[str]] = {}
    for key, value in parse_qsl(filter_query(filters)):
        parts.setdefault(key.replace("_", " "), []).append(value)
    if not parts:
        return "archiver: all releases"
    named = [f"{key} {' or '.join(values)}" for key, values in parts.items()]
    return "archiver: releases, " + ", ".join(named)


def atom_feed(
    connection: Connection,
    filters: ReleaseFilter,
    *,
    base_url: str,
    feed_url: str,
    limit: int = DEFAULT_LIMIT,
) -> bytes:
    """The Atom feed (UTF-8 XML) of the `limit` releases matching `filters` that the archive
    first saw last, newest first.

    `base_url` is the page the feed stands for (its `rel="alternate"` link: the web view of the
    same filter, or the newsroom); `feed_url` the feed's own address (`rel="self"`; empty: none).
    The caller owns the transaction (`archiver.db.releases.read_snapshot` gives one snapshot).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ExportError(f"a feed holds 1 to {MAX_LIMIT} entries, not {limit}")
    facets = stored_facets(connection) if filters.facet_values() else None
    entries = feed_entries(connection, where_clauses(filters, facets), limit)

    feed = FeedGenerator()
    feed.id(feed_id(filters))
    feed.title(feed_title(filters))
    query = filter_query(filters)
    feed.subtitle(
        "Press releases kept by the archiver, the ones it found last first"
        + (f" (filters: {query})" if query else "")
    )
    feed.author({"name": "archiver"})
    feed.link(href=base_url, rel="alternate")
    if feed_url:
        feed.link(href=feed_url, rel="self", type="application/atom+xml")
    feed.generator("archiver", version=__version__)
    feed.updated(max((_moment(entry.updated_at) for entry in entries), default=EPOCH))
    for entry in entries:
        _add_entry(feed, entry)
    return feed.atom_str(pretty=True)


def _add_entry(feed: FeedGenerator, entry: FeedEntry) -> None:
    item = feed.add_entry(order="append")
    item.id(entry.url)
    item.title(_text(entry.title) or entry.url)
    item.link(href=entry.url, rel="alternate")
    source = SOURCES.get(entry.source)
    author = {"name": entry.source}
    if source is not None:
        author["uri"] = source.canonical_origin
    item.author(author)
    item.published(_moment(entry.first_seen_at))
    item.updated(_moment(entry.updated_at))
    if entry.summary:
        item.summary(_text(entry.summary), type="text")
    if entry.body:
        item.content(_text(entry.body), type="text")
    item.category(_categories(entry))


def _categories(entry: FeedEntry) -> list[dict[str, str]]:
    """The release's type and every filter value it was seen under, each once, sorted."""
    found: set[tuple[str, str]] = set()
    if entry.type:
        found.add(("type", entry.type))
    for facet in entry.facets:
        for key, values in decode_facet(facet).items():
            found.update((key, value) for value in values)
    return [
        {"term": value, "scheme": f"{TAG}{key}", "label": f"{key}: {value}"}
        for key, value in sorted(found)
    ]


def _moment(moment: datetime) -> datetime:
    """UTC to the second: both dialects keep microseconds, no reader needs them."""
    return moment.astimezone(UTC).replace(microsecond=0)


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)
