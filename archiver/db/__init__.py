"""The archive database: models, engines, migrations and all of the archiver's SQL.

No Scrapy in here. Functions take a Connection (or Session) and leave the transaction to the
caller; `open_archive` is how every command and crawl gets its engine.
"""

from __future__ import annotations

from archiver.db.archive import archive_exists, database_error, open_archive
from archiver.db.engine import make_engine, write_transaction
from archiver.db.migrate import ensure_schema, upgrade

__all__ = [
    "archive_exists",
    "database_error",
    "ensure_schema",
    "make_engine",
    "open_archive",
    "upgrade",
    "write_transaction",
]
