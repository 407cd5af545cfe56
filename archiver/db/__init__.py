"""The archive database: models, engines, migrations and the store layer (no Scrapy in here).

`prepare(url)` is what every command calls first: it brings the schema to the current revision
and marks runs whose process died as interrupted, so each command sees a consistent archive.
"""

from __future__ import annotations

from archiver.db.engine import make_engine, write_transaction
from archiver.db.migrate import ensure_schema, upgrade

__all__ = ["ensure_schema", "make_engine", "prepare", "upgrade", "write_transaction"]


def prepare(url: str) -> None:
    """Upgrade the schema if needed and mark dead runs interrupted (see archiver.db.runs)."""
    from archiver.db.runs import mark_interrupted

    ensure_schema(url)
    engine = make_engine(url)
    try:
        mark_interrupted(engine)
    finally:
        engine.dispose()
