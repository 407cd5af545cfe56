"""Full-text search over releases: title, summary and the body of the release's own page.

Each dialect keeps its own index, in step with the tables through triggers, so every writer
(the store, the detail pages, a migration, a hand-made `UPDATE`) keeps it current without
knowing about it:

- SQLite: an FTS5 table `release_search(title, summary, body)` whose rowid is the release id,
  Porter-stemmed, ranked with `bm25` (title weighs most, then summary, then body), snippets by
  FTS5's `snippet()`;
- PostgreSQL: `release_search(release_id, document tsvector)` with a GIN index, the document
  weighted A (title), B (summary), C (body), ranked with `ts_rank_cd`, snippets by `ts_headline`.

The objects are not models (SQLAlchemy has no FTS5 table, and the two dialects differ), so the
migration and `archiver.db.migrate`'s new-archive path both call `install_search`, and Alembic's
comparison skips the names in `SEARCH_OBJECTS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    column,
    false,
    func,
    literal_column,
    select,
    table,
)

from archiver.db.tables import RELEASES, TEXTS

#: Tables and shadow tables the search index consists of (Alembic leaves them alone).
SEARCH_OBJECTS = frozenset(
    {
        "release_search",
        "release_search_data",
        "release_search_idx",
        "release_search_content",
        "release_search_docsize",
        "release_search_config",
    }
)

_SQLITE = [
    "CREATE VIRTUAL TABLE release_search USING fts5("
    "title, summary, body, tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER release_search_insert AFTER INSERT ON releases BEGIN"
    " INSERT INTO release_search (rowid, title, summary, body)"
    " VALUES (new.id, new.title, coalesce(new.summary, ''), ''); END",
    "CREATE TRIGGER release_search_update AFTER UPDATE OF title, summary ON releases"
    " WHEN old.title IS NOT new.title OR old.summary IS NOT new.summary BEGIN"
    " UPDATE release_search SET title = new.title, summary = coalesce(new.summary, '')"
    " WHERE rowid = new.id; END",
    "CREATE TRIGGER release_search_delete AFTER DELETE ON releases BEGIN"
    " DELETE FROM release_search WHERE rowid = old.id; END",
    "CREATE TRIGGER release_search_text_insert AFTER INSERT ON release_texts BEGIN"
    " UPDATE release_search SET body = coalesce(new.body, '') WHERE rowid = new.release_id; END",
    "CREATE TRIGGER release_search_text_update AFTER UPDATE OF body ON release_texts BEGIN"
    " UPDATE release_search SET body = coalesce(new.body, '') WHERE rowid = new.release_id; END",
    "CREATE TRIGGER release_search_text_delete AFTER DELETE ON release_texts BEGIN"
    " UPDATE release_search SET body = '' WHERE rowid = old.release_id; END",
    "INSERT INTO release_search (rowid, title, summary, body)"
    " SELECT r.id, r.title, coalesce(r.summary, ''), coalesce(t.body, '')"
    " FROM releases r LEFT JOIN release_texts t ON t.release_id = r.id",
]

_POSTGRES_DOCUMENT = (
    "setweight(to_tsvector('english', coalesce({title}, '')), 'A')"
    " || setweight(to_tsvector('english', coalesce({summary}, '')), 'B')"
    " || setweight(to_tsvector('english', coalesce({body}, '')), 'C')"
)

_POSTGRES = [
    "CREATE TABLE release_search ("
    " release_id INTEGER PRIMARY KEY REFERENCES releases (id) ON DELETE CASCADE,"
    " document tsvector NOT NULL)",
    "CREATE INDEX release_search_document ON release_search USING GIN (document)",
    "CREATE FUNCTION release_search_refresh(wanted integer) RETURNS void"
    " LANGUAGE sql AS $$"
    " INSERT INTO release_search (release_id, document)"
    " SELECT r.id, "
    + _POSTGRES_DOCUMENT.format(title="r.title", summary="r.summary", body="t.body")
    + " FROM releases r LEFT JOIN release_texts t ON t.release_id = r.id WHERE r.id = wanted"
    " ON CONFLICT (release_id) DO UPDATE SET document = excluded.document $$",
    "CREATE FUNCTION release_search_on_release() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN PERFORM release_search_refresh(NEW.id); RETURN NULL; END $$",
    "CREATE FUNCTION release_search_on_text() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP = 'DELETE' THEN PERFORM release_search_refresh(OLD.release_id);"
    " ELSE PERFORM release_search_refresh(NEW.release_id); END IF;"
    " RETURN NULL; END $$",
    "CREATE TRIGGER release_search_insert AFTER INSERT ON releases"
    " FOR EACH ROW EXECUTE FUNCTION release_search_on_release()",
    "CREATE TRIGGER release_search_update AFTER UPDATE OF title, summary ON releases"
    " FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title"
    " OR OLD.summary IS DISTINCT FROM NEW.summary) EXECUTE FUNCTION release_search_on_release()",
    "CREATE TRIGGER release_search_text AFTER INSERT OR DELETE OR UPDATE OF body"
    " ON release_texts FOR EACH ROW EXECUTE FUNCTION release_search_on_text()",
    "INSERT INTO release_search (release_id, document) SELECT r.id, "
    + _POSTGRES_DOCUMENT.format(title="r.title", summary="r.summary", body="t.body")
    + " FROM releases r LEFT JOIN release_texts t ON t.release_id = r.id",
]


def install_search(connection: Connection) -> None:
    """Create the search index of this dialect, its triggers, and fill it from the tables."""
    statements = _POSTGRES if connection.dialect.name == "postgresql" else _SQLITE
    for statement in statements:
        connection.exec_driver_sql(statement)


def remove_search(connection: Connection) -> None:
    """Drop what `install_search` created (the migration's downgrade)."""
    if connection.dialect.name == "postgresql":
        for statement in (
            "DROP TABLE IF EXISTS release_search",
            "DROP TRIGGER IF EXISTS release_search_insert ON releases",
            "DROP TRIGGER IF EXISTS release_search_update ON releases",
            "DROP TRIGGER IF EXISTS release_search_text ON release_texts",
            "DROP FUNCTION IF EXISTS release_search_on_release()",
            "DROP FUNCTION IF EXISTS release_search_on_text()",
            "DROP FUNCTION IF EXISTS release_search_refresh(integer)",
        ):
            connection.exec_driver_sql(statement)
        return
    for trigger in (
        "insert",
        "update",
        "delete",
        "text_insert",
        "text_update",
        "text_delete",
    ):
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS release_search_{trigger}")
    connection.exec_driver_sql("DROP TABLE IF EXISTS release_search")


@dataclass(frozen=True, slots=True)
class Hit:
    """One release that matched, best first: its place, identity and a snippet of the match."""

    rank: int
    release_id: int
    url: str
    title: str
    published_on: date | None
    type: str | None
    snippet: str
    score: float


def fts5_query(words: str) -> str:
    """The user's words as an FTS5 query: each word a quoted term (ANDed), a quoted phrase kept
    as a phrase, so punctuation in the words (`-`, `:`, `*`) is never FTS5 syntax.

    >>> fts5_query('unlawful killings "fair trial"')
    '"unlawful" "killings" "fair trial"'
    >>> fts5_query('Côte d’Ivoire: AND')
    '"Côte" "d’Ivoire:" "AND"'
    """
    parts: list[str] = []
    for index, chunk in enumerate(words.split('"')):
        if index % 2:  # inside quotes: one phrase
            if chunk.strip():
                parts.append('"' + " ".join(chunk.split()) + '"')
        else:
            parts.extend('"' + word + '"' for word in chunk.split())
    return " ".join(part.replace('""', "") for part in parts if part != '""')


_FTS = table("release_search", column("rowid"))
_FTS_NAME = literal_column("release_search")
_PG_SEARCH = table("release_search", column("release_id"), column("document"))
_ENGLISH = literal_column("'english'::regconfig")


def match_clause(connection: Connection, words: str) -> ColumnElement[bool]:
    """A WHERE condition on `releases`: the release's title, summary or page body match `words`
    in the full-text index, as `search_releases` matches (every word, stemmed, "quoted" words
    as a phrase), without ranking (the web view's lists). Words that make no query match
    nothing."""
    releases = RELEASES.c
    if connection.dialect.name == "postgresql":
        if not words.strip():
            return false()
        query = func.websearch_to_tsquery(_ENGLISH, words)
        return releases.id.in_(
            select(_PG_SEARCH.c.release_id).where(_PG_SEARCH.c.document.op("@@")(query))
        )
    fts = fts5_query(words)
    if not fts:
        return false()
    return releases.id.in_(select(_FTS.c.rowid).where(_FTS_NAME.op("MATCH")(fts)))


def search_releases(
    connection: Connection,
    words: str,
    clauses: Sequence[ColumnElement[bool]] = (),
    *,
    limit: int = 20,
    offset: int = 0,
    marks: tuple[str, str] = ("[", "]"),
) -> list[Hit]:
    """Releases matching `words` in title, summary or body, best first, with one snippet each.

    `clauses` are further WHERE conditions on `releases` (archiver.db.releases.where_clauses);
    `marks` surround the matched words in the snippet. Ties keep the release id order, so the
    same archive always answers in the same order.
    """
    if not words.strip():
        return []
    if connection.dialect.name == "postgresql":
        statement = _postgres_query(words, marks)
    else:
        query = fts5_query(words)
        if not query:
            return []
        statement = _sqlite_query(query, marks)
    statement = statement.where(*clauses).limit(limit).offset(offset)
    return [
        Hit(
            rank=offset + index + 1,
            release_id=row.id,
            url=row.url,
            title=row.title,
            published_on=row.published_on,
            type=row.type,
            snippet=_snippet(row, marks[0]),
            score=round(float(row.score), 6),
        )
        for index, row in enumerate(connection.execute(statement))
    ]


def _snippet(row: Any, mark: str) -> str:
    """The body's snippet when the words matched there, else the summary's, else the best."""
    for name in ("body_snippet", "summary_snippet"):
        text = getattr(row, name, None)
        if text and mark in text:
            return " ".join(text.split())
    return " ".join((row.snippet or "").split())


#: bm25 weights of title, summary and body: a word in the title says most about a release.
_WEIGHTS = (10.0, 4.0, 1.0)


def _sqlite_query(query: str, marks: tuple[str, str]) -> Select[Any]:
    releases = RELEASES.c
    bm25 = func.bm25(_FTS_NAME, *_WEIGHTS)  # lower is better

    def snippet(column: int) -> Any:
        return func.snippet(_FTS_NAME, column, marks[0], marks[1], "…", 16)

    return (
        select(
            releases.id,
            releases.url,
            releases.title,
            releases.published_on,
            releases.type,
            # The title is shown anyway: the snippet comes from the body, else the summary,
            # where the words matched (column -1: wherever FTS5 matched best).
            snippet(2).label("body_snippet"),
            snippet(1).label("summary_snippet"),
            snippet(-1).label("snippet"),
            (-bm25).label("score"),
        )
        .select_from(_FTS.join(RELEASES, releases.id == _FTS.c.rowid))
        .where(_FTS_NAME.op("MATCH")(query))
        .order_by(bm25, releases.id)
    )


def _postgres_query(words: str, marks: tuple[str, str]) -> Select[Any]:
    releases, texts = RELEASES.c, TEXTS.c
    tsquery = func.websearch_to_tsquery(_ENGLISH, words)
    rank = func.ts_rank_cd(_PG_SEARCH.c.document, tsquery)
    # The title is shown anyway: the snippet comes from the summary and the body.
    document = func.concat_ws(" … ", releases.summary, texts.body)
    options = f"MaxFragments=1, MaxWords=24, MinWords=8, StartSel={marks[0]}, StopSel={marks[1]}"
    return (
        select(
            releases.id,
            releases.url,
            releases.title,
            releases.published_on,
            releases.type,
            func.ts_headline(_ENGLISH, document, tsquery, options).label("snippet"),
            rank.label("score"),
        )
        .select_from(
            _PG_SEARCH.join(RELEASES, releases.id == _PG_SEARCH.c.release_id).outerjoin(
                TEXTS, texts.release_id == releases.id
            )
        )
        .where(_PG_SEARCH.c.document.op("@@")(tsquery))
        .order_by(rank.desc(), releases.id)
    )
