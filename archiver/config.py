"""Where the archiver keeps things: database URL and data folder, resolved one way everywhere.

Precedence (documented in the README): an explicit value (`--db`), then the environment
(`ARCHIVER_DATABASE_URL`, `ARCHIVER_DATA_DIR`), then the defaults under `data/` in the current
directory. Nothing here touches the database or the network.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DEFAULT_DATA_DIR = "data"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data folder (logs, exports, archived pages, default database)."""
    raw = explicit or os.environ.get("ARCHIVER_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(raw).expanduser().absolute()


def database_url(explicit: str | None = None) -> str:
    """The database URL: `--db`, else `ARCHIVER_DATABASE_URL`, else SQLite in the data folder."""
    url = explicit or os.environ.get("ARCHIVER_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'archive.db'}"


def mask_url(url: str) -> str:
    """A database URL that is safe to print: the password is replaced by `***`.

    >>> mask_url("postgresql+psycopg://archiver:s3cret@db.example:5432/news")
    'postgresql+psycopg://archiver:***@db.example:5432/news'
    >>> mask_url("sqlite:///data/archive.db")
    'sqlite:///data/archive.db'
    >>> mask_url("not a url")
    'not a url'
    >>> mask_url("postgresql://me:pw@host:notaport/db")
    'postgresql://me:***@host:notaport/db'
    """
    from sqlalchemy.engine import make_url  # here: config is imported by every command, cheaply

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        # Not parsable as a database URL: still hide anything shaped like user:password@.
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)
