"""Opening the archive: the one way every command and every crawl gets its engine.

`open_archive` checks the database holds an archive (or creates one, for the commands that may),
brings the schema to this version's head, and marks the runs whose process died as interrupted
(`archiver.db.runs.mark_dead_runs`), so whoever opens it next sees a consistent archive. Database
errors come out as one `DatabaseError` line without the password.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import ArgumentError as UrlError
from sqlalchemy.exc import SQLAlchemyError

from archiver.config import mask_url, scrub_secrets
from archiver.db.engine import engine_url, make_engine, write_transaction
from archiver.db.migrate import ensure_schema
from archiver.db.runs import mark_dead_runs
from archiver.errors import ArchiveNotFoundError, ArgumentError, DatabaseError


def database_error(error: BaseException, url: str) -> DatabaseError:
    """One line saying what went wrong with the database at `url`, without its password."""
    detail = str(getattr(error, "orig", None) or error).strip() or type(error).__name__
    line = " ".join(scrub_secrets(detail, [url]).split())
    return DatabaseError(f"database {mask_url(url)}: {line[:300]}")


def check_database_url(url: str) -> None:
    """Refuse what is not a SQLite or PostgreSQL URL, before any driver is loaded."""
    try:
        parsed = engine_url(url)
    except (UrlError, ValueError):
        raise DatabaseError(f"{mask_url(url)!r} is not a database URL") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"database {mask_url(url)}: the archive supports SQLite and PostgreSQL URLs"
            " (sqlite:///path.db, postgresql://user@host/db)"
        )


def missing_archive(url: str) -> str | None:
    """Why `url` names no archive that can be opened without creating anything (None: it does).

    A SQLite file must exist; a server database must exist and hold the archive's tables.
    """
    parsed = engine_url(url)
    shown = mask_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            return f"no archive at {shown}: an in-memory database holds none"
        if not database.startswith("file:") and not Path(database).expanduser().is_file():
            return f"no archive at {shown}: the file does not exist"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if inspect(connection).has_table("crawl_runs"):
                return None
    finally:
        engine.dispose()
    return f"database {shown} holds no archive (no archiver tables)"


def archive_exists(url: str) -> bool:
    """Whether `url` names an archive (see `missing_archive`)."""
    return missing_archive(url) is None


def open_archive(url: str, *, create: bool = False) -> Engine:
    """An engine on the archive at `url`: schema current, dead runs marked interrupted.

    Without `create`, a database that holds no archive is an `ArchiveNotFoundError` and nothing
    is created (a mistyped path must not become an empty archive that answers "no runs yet").
    The caller disposes the engine.
    """
    check_database_url(url)
    try:
        missing = None if create else missing_archive(url)
        if missing is not None:
            raise ArchiveNotFoundError(
                f"{missing} (crawl first, e.g. `archiver demo`, or check --db /"
                " ARCHIVER_DATABASE_URL)"
            )
        engine = make_engine(url)
    except (SQLAlchemyError, ImportError, OSError) as error:
        raise database_error(error, url) from None
    try:
        ensure_schema(engine)
        with write_transaction(engine) as connection:
            mark_dead_runs(connection)
    except (SQLAlchemyError, OSError) as error:
        engine.dispose()
        raise database_error(error, url) from None
    except BaseException:
        engine.dispose()
        raise
    return engine


def upgrade_archive(url: str, revision: str = "head") -> tuple[str | None, str]:
    """Create or upgrade the archive at `url` to `revision`; returns (before, after).

    What `archiver db upgrade` does: the one command that migrates on purpose, at a moment the
    operator chooses. An unknown revision is an ArgumentError, database trouble a DatabaseError.
    """
    from alembic.util.exc import CommandError

    from archiver.db.migrate import head_revision, known_revision, upgrade

    check_database_url(url)
    if revision != "head" and not known_revision(revision):
        raise ArgumentError(
            f"unknown schema revision {revision!r} (this archiver knows up to {head_revision()})"
        )
    try:
        before = upgrade(url, revision)
    except (SQLAlchemyError, ImportError, OSError) as error:
        raise database_error(error, url) from None
    except CommandError as error:
        raise ArgumentError(f"cannot upgrade to {revision!r}: {error}") from None
    return before, head_revision() if revision == "head" else revision
