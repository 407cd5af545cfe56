"""CSV, JSON and JSON Lines writers: rows in, text out, one row at a time.

Each writer takes rows as the export query yields them (`archiver.db.releases`) and turns
them into the file's cells or records, so nothing is held back: memory does not grow with the
number of rows. Values are formatted one way in every format: dates `YYYY-MM-DD`, times
ISO 8601 UTC with `Z`, booleans `true`/`false`, a missing value empty (CSV) or `null` (JSON).

Dates and times arrive as text the database formatted (`archiver.db.releases`).

CSV follows RFC 4180 (comma, double quotes doubled, fields with commas, quotes or line breaks
quoted). A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return as a formula (CSV injection); `neutralize` puts an apostrophe in front of such values,
which spreadsheets show as text. JSON is never changed: no program runs it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from archiver.export.columns import RELEASE_FIELDS, TEXT_FIELDS, VERSION_FIELDS

#: First characters that make a spreadsheet evaluate a cell (OWASP "CSV injection").
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: What `neutralize` puts in front of such a value.
FORMULA_GUARD = "'"

# Positions (in RELEASE_FIELDS / VERSION_FIELDS) of free-text columns a formula could hide in.
_RELEASE_TEXT = tuple(
    i
    for i, name in enumerate(RELEASE_FIELDS)
    if name in ("url", "title", "type", "type_raw", "summary", "facets")
)
_VERSION_TEXT = tuple(
    i
    for i, name in enumerate(VERSION_FIELDS)
    if name in ("url", "title", "type", "type_raw", "summary")
)
# `--with-text` columns are page text and raw page values: all of them but the two the archiver
# writes itself (a status word, a time) could start with anything.
_TEXT_TEXT = tuple(
    len(RELEASE_FIELDS) + i
    for i, name in enumerate(TEXT_FIELDS)
    if name not in ("text_status", "gone_at")
)
#: Columns whose values `neutralize` may change, by file (the manifest lists them).
SANITIZED_RELEASE_COLUMNS = tuple(RELEASE_FIELDS[i] for i in _RELEASE_TEXT)
SANITIZED_TEXT_COLUMNS = tuple(TEXT_FIELDS[i - len(RELEASE_FIELDS)] for i in _TEXT_TEXT)


def neutralize(value: str) -> str:
    """`value` made safe to open in a spreadsheet: a leading formula character gets a `'`.

    >>> neutralize('=HYPERLINK("http://x","click")')
    '\\'=HYPERLINK("http://x","click")'
    >>> neutralize("-5 degrees"), neutralize("@user"), neutralize("\\tx")
    ("'-5 degrees", "'@user", "'\\tx")
    >>> neutralize("Syria: 5 = 5"), neutralize("")
    ('Syria: 5 = 5', '')
    """
    if value.startswith(FORMULA_TRIGGERS):
        return FORMULA_GUARD + value
    return value


def facet_list(aggregated: str | None) -> list[str]:
    """The facets the query aggregated (in no particular order), sorted.

    >>> facet_list("issue=death-penalty;country=syria"), facet_list(None)
    (['country=syria', 'issue=death-penalty'], [])
    """
    return sorted(aggregated.split(";")) if aggregated else []


def release_cells(row: Sequence[Any]) -> list[str]:
    """A release row (`archiver.db.releases.releases_query`) as CSV cells, `RELEASE_FIELDS` order.

    >>> release_cells(("u", "T", None, None, "", None, 1, "b;a", "2024-05-01T12:00:00Z",
    ...                "2024-05-02T12:00:00Z", 7))
    ['u', 'T', '', '', '', '', 'true', 'a;b', '2024-05-01T12:00:00Z', '2024-05-02T12:00:00Z']
    """
    facets, first, last = row[7:10]
    return [*_field_cells(row), ";".join(facet_list(facets)), first, last]


def text_cells(row: Sequence[Any]) -> list[str]:
    """A `--with-text` release row as CSV cells, `RELEASE_FIELDS` then `TEXT_FIELDS` order.

    The text columns (`archiver.db.releases.text_columns`) sit between the release columns and
    the row id. Lists are joined (tags and disagreements with ';', attachment URLs with a
    space), provenance is its JSON text, a value the page never gave is empty.

    >>> row = ("u", "T", None, None, "", None, 0, None, "f", "l", "H", "P1\\n\\nP2", "2024-05-01",
    ...        None, "en", ["a", "b"], [{"url": "https://x/r.pdf", "title": None}], "u", None,
    ...        "enriched", None, ["date"], {"body": "jsonld"}, 7)
    >>> text_cells(row)[10:16], text_cells(row)[16:]
    (['H', 'P1\\n\\nP2', '2024-05-01', '', 'en', 'a;b'], \
['https://x/r.pdf', 'u', '', 'enriched', '', 'date', '{"body": "jsonld"}'])
    """
    (
        headline,
        body,
        published,
        modified,
        language,
        tags,
        attachments,
        canonical,
        moved_to,
        status,
        gone_at,
        disagreements,
        provenance,
    ) = row[10:23]
    return [
        *release_cells(row),
        headline or "",
        body or "",
        published or "",
        modified or "",
        language or "",
        ";".join(tags) if tags else "",
        " ".join(_attachment_url(attachment) for attachment in attachments or ()),
        canonical or "",
        moved_to or "",
        status or "",
        gone_at or "",
        ";".join(disagreements) if disagreements else "",
        "" if provenance is None else json.dumps(provenance, ensure_ascii=False, sort_keys=True),
    ]


def _attachment_url(attachment: Any) -> str:
    """An attachment's URL: stored as {url, title}; a bare string is its own URL."""
    return str(attachment.get("url") or "") if isinstance(attachment, dict) else str(attachment)


def version_cells(row: Sequence[Any]) -> list[str]:
    """A version row (`archiver.db.releases.versions_query`) as CSV cells (`VERSION_FIELDS`)."""
    since, until, replaced = row[7:10]
    return [*_field_cells(row), since or "", until or "", replaced or ""]


def _field_cells(row: Sequence[Any]) -> list[str]:
    """The seven cells a release and a version share: URL, title, date, type, raw type,
    summary, truncated."""
    url, title, published_on, type_, type_raw, summary, truncated = row[:7]
    empty_if_none = (title, published_on, type_, type_raw, summary)
    return [url, *(value or "" for value in empty_if_none), "true" if truncated else "false"]


def version_record(row: Sequence[Any]) -> dict[str, Any]:
    """A version row as a JSON object (without the release URL it is nested under)."""
    return {
        "title": row[1],
        "published_on": row[2],
        "type": row[3],
        "type_raw": row[4],
        "summary": row[5],
        "summary_truncated": bool(row[6]),
        "seen_from": row[7],
        "seen_until": row[8],
        "replaced_at": row[9],
    }


def release_record(
    row: Sequence[Any],
    versions: Sequence[Sequence[Any]] | None = None,
    *,
    with_text: bool = False,
) -> dict[str, Any]:
    """A release row as a JSON object; `versions` (a list, maybe empty) nests its history;
    `with_text` adds the page's fields (a `releases_query(..., with_text=True)` row)."""
    record = {
        "url": row[0],
        "title": row[1],
        "published_on": row[2],
        "type": row[3],
        "type_raw": row[4],
        "summary": row[5],
        "summary_truncated": bool(row[6]),
        "facets": facet_list(row[7]),
        "first_seen_at": row[8],
        "last_seen_at": row[9],
    }
    if with_text:
        record.update(zip(TEXT_FIELDS, row[10:23], strict=True))
    if versions is not None:
        record["versions"] = [version_record(version) for version in versions]
    return record


@dataclass(slots=True)
class WriteStats:
    """What a writer wrote: data rows (header excluded) and values it neutralised."""

    rows: int = 0
    neutralized: int = 0


def write_csv(
    out: TextIO,
    rows: Iterable[Sequence[Any]],
    *,
    history: bool = False,
    with_text: bool = False,
    excel: bool = False,
    sanitize: bool = True,
) -> WriteStats:
    """Write a header and one line per row; `history` picks the version columns, `with_text`
    adds the page's columns (rows from `releases_query(..., with_text=True)`).

    `out` must be opened with `newline=""` (the csv module writes the line ends itself);
    `excel` uses CRLF line ends (the caller adds the BOM through the encoding).
    """
    fields, cells, text = (
        (VERSION_FIELDS, version_cells, _VERSION_TEXT)
        if history
        else (RELEASE_FIELDS + TEXT_FIELDS, text_cells, _RELEASE_TEXT + _TEXT_TEXT)
        if with_text
        else (RELEASE_FIELDS, release_cells, _RELEASE_TEXT)
    )
    # The csv module quotes a field only for the characters of *its* line terminator, so with
    # "\n" a lone "\r" in a summary would go out unquoted and split the row in every reader.
    # Writing with "\r\n" (both quoted) and turning each row's end into "\n" avoids that.
    writer = csv.writer(out if excel else _LineFeedEnds(out), lineterminator="\r\n")
    writer.writerow(fields)
    stats = WriteStats()
    for row in rows:
        values = cells(row)
        if sanitize:
            for i in text:
                safe = neutralize(values[i])
                if safe is not values[i]:
                    values[i] = safe
                    stats.neutralized += 1
        writer.writerow(values)
        stats.rows += 1
    return stats


class _LineFeedEnds:
    """A text sink for `csv.writer` that ends each row with "\n" instead of "\r\n".

    `csv.writer.writerow` makes exactly one `write` call per row, ending in the terminator.
    """

    __slots__ = ("_write",)

    def __init__(self, out: TextIO) -> None:
        self._write = out.write

    def write(self, line: str) -> int:
        return self._write(line[:-2] + "\n")


def write_json(out: TextIO, records: Iterable[dict[str, Any]], *, lines: bool) -> WriteStats:
    """Write records as one JSON array (one record per line inside it) or as JSON Lines.

    UTF-8 text is written as is (`ensure_ascii=False`): accents and curly quotes stay readable.
    """
    stats = WriteStats()
    if lines:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False))
            out.write("\n")
            stats.rows += 1
        return stats
    out.write("[")
    for record in records:
        out.write(",\n" if stats.rows else "\n")
        out.write(json.dumps(record, ensure_ascii=False))
        stats.rows += 1
    out.write("\n]\n" if stats.rows else "]\n")
    return stats


def nest_versions(
    releases: Iterable[Sequence[Any]], versions: Iterable[Sequence[Any]]
) -> Iterator[tuple[Sequence[Any], list[Sequence[Any]]]]:
    """Pair each release row with its version rows by merging two streams in the same order.

    Both streams must walk releases in the same order (the export's ORDER BY); each row's last
    column is the release id. A version left over means the streams disagreed, which would
    silently drop history, so it is an error.

    >>> list(nest_versions([("a", 1), ("b", 2), ("c", 3)], [("v", 1), ("w", 3), ("x", 3)]))
    [(('a', 1), [('v', 1)]), (('b', 2), []), (('c', 3), [('w', 3), ('x', 3)])]
    """
    pending = iter(versions)
    version = next(pending, None)
    for release in releases:
        mine: list[Sequence[Any]] = []
        while version is not None and version[-1] == release[-1]:
            mine.append(version)
            version = next(pending, None)
        yield release, mine
    if version is not None:
        raise RuntimeError(f"history row for release id {version[-1]} has no release row")
