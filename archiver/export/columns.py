"""What an export's columns are, in the one order every format, manifest and README use.

Researchers read these files with tools that guess (Excel, pandas, R); the column list with a
type and a meaning goes into every manifest and datapackage so that nothing has to be guessed.
Types are Frictionless Table Schema types, which is also what the manifest reports.
"""

from __future__ import annotations

from typing import NamedTuple


class Column(NamedTuple):
    """One exported column: its name, Table Schema type and what it means."""

    name: str
    type: str
    description: str


#: Columns of the releases file, in the stable export order.
RELEASE_COLUMNS: tuple[Column, ...] = (
    Column("url", "string", "Canonical URL of the release on its source's site (its identity)."),
    Column("title", "string", "Title as on the listing card, cleaned (entities, whitespace)."),
    Column(
        "published_on",
        "date",
        "Publication date printed on the card (YYYY-MM-DD); empty when the card had none.",
    ),
    Column(
        "type",
        "string",
        "Release type from the controlled vocabulary (Press Release, Report, …, Other); empty"
        " when neither the card's label nor the URL said.",
    ),
    Column("type_raw", "string", "The type label exactly as printed on the card (may be empty)."),
    Column("summary", "string", "Summary (teaser) text from the card, cleaned; may be empty."),
    Column(
        "summary_truncated",
        "boolean",
        "true when the site cut the summary short (its trailing ... marker was removed).",
    ),
    Column(
        "facets",
        "string",
        "Listing filters the release was seen under, sorted and joined with ';' (e.g."
        " 'country=syria;issue=death-penalty'); empty when only seen on the unfiltered listing."
        " In JSON and JSON Lines this is a list of strings.",
    ),
    Column(
        "first_seen_at",
        "datetime",
        "When the archiver first saw the release (ISO 8601, UTC, e.g. 2024-05-01T12:00:00Z).",
    ),
    Column(
        "last_seen_at",
        "datetime",
        "When the archiver last saw the release on a listing page (ISO 8601, UTC).",
    ),
)

#: Columns of the history file (`--with-history`): earlier values of edited releases.
VERSION_COLUMNS: tuple[Column, ...] = (
    Column("url", "string", "URL of the release these earlier values belong to."),
    Column("title", "string", "The title before the edit."),
    Column("published_on", "date", "The publication date before the edit (YYYY-MM-DD)."),
    Column("type", "string", "The type before the edit."),
    Column("type_raw", "string", "The type label before the edit."),
    Column("summary", "string", "The summary before the edit."),
    Column("summary_truncated", "boolean", "Whether that summary was cut short."),
    Column("seen_from", "datetime", "First time these values were seen (ISO 8601, UTC)."),
    Column("seen_until", "datetime", "Last time these values were seen (ISO 8601, UTC)."),
    Column("replaced_at", "datetime", "When the archiver saw the new values (ISO 8601, UTC)."),
)

#: Columns `--with-text` adds after the release columns: what the release's own page says
#: (`release_texts`), empty (CSV) or null (JSON) for a release whose page was never read.
TEXT_COLUMNS: tuple[Column, ...] = (
    Column("headline", "string", "Headline of the release's own page."),
    Column(
        "body",
        "string",
        "Full text of the release's page, paragraphs separated by a blank line.",
    ),
    Column(
        "page_published",
        "string",
        "Publication date (or date and time) as the page states it, usually ISO 8601 with the"
        " page's own offset.",
    ),
    Column("page_modified", "string", "Last-modified date as the page states it, if it says."),
    Column("language", "string", "Language of the page (e.g. 'en')."),
    Column(
        "page_tags",
        "string",
        "Tags the page lists, in page order, joined with ';'. In JSON and JSON Lines a list of"
        " strings.",
    ),
    Column(
        "attachments",
        "string",
        "URLs of the documents the page links as attachments (PDFs, reports), in page order,"
        " joined with a space. In JSON and JSON Lines a list of {url, title} objects.",
    ),
    Column("canonical_url", "string", "The canonical URL the page gives for itself."),
    Column(
        "moved_to",
        "string",
        "Where the release's URL redirected when its page was last read; empty when it did not.",
    ),
    Column(
        "text_status",
        "string",
        "enriched (the page was read), failed (the last try did not get it; retried by the next"
        " crawl), gone (the page answered 404/410; any text read before is kept); empty when the"
        " page was never tried.",
    ),
    Column(
        "gone_at",
        "datetime",
        "When the page was first found gone (ISO 8601, UTC); empty unless text_status is gone.",
    ),
    Column(
        "disagreements",
        "string",
        "What the page contradicts on the listing card (date, title, summary), joined with ';'."
        " In JSON and JSON Lines a list of strings.",
    ),
    Column(
        "provenance",
        "object",
        "Which extractor gave each page field, as a JSON object (field -> extractor); in CSV"
        " the object's JSON text.",
    ),
)

RELEASE_FIELDS: tuple[str, ...] = tuple(column.name for column in RELEASE_COLUMNS)
VERSION_FIELDS: tuple[str, ...] = tuple(column.name for column in VERSION_COLUMNS)
TEXT_FIELDS: tuple[str, ...] = tuple(column.name for column in TEXT_COLUMNS)


def release_columns(with_text: bool = False) -> tuple[Column, ...]:
    """The releases file's columns, with the `--with-text` ones when asked.

    >>> release_columns(True)[len(RELEASE_COLUMNS)].name, release_columns()[-1].name
    ('headline', 'last_seen_at')
    """
    return RELEASE_COLUMNS + TEXT_COLUMNS if with_text else RELEASE_COLUMNS


def describe(columns: tuple[Column, ...]) -> list[dict[str, str]]:
    """Columns as the manifest lists them.

    >>> describe(RELEASE_COLUMNS)[0]["name"], [c["name"] for c in describe(VERSION_COLUMNS)][-1]
    ('url', 'replaced_at')
    """
    return [column._asdict() for column in columns]
