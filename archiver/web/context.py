"""`WebContext`: what every request handler of the web view needs (archiver.web.app makes it).

One engine on the archive, opened on first use through `open_archive` (schema current, dead
runs marked), the templates, the operator sessions, the schedules this process started, and a
small cache of counts tied to the archive's state (`WebContext.snapshot`).
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from starlette.templating import Jinja2Templates

from archiver.config import scrub_secrets
from archiver.web.security import Operator

T = TypeVar("T")

#: Results kept by `ResultCache` (counts of a selection: a few kilobytes each).
CACHE_ENTRIES = 256
_SEEN_TOKEN = "archiver_web_snapshot_token"


class ResultCache:
    """The last `size` results computed, by key (thread-safe, least recently used first out)."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class Snapshot:
    """One read-only transaction of a page, with the version of the archive it sees: results
    cached under the same version were computed from the very same rows."""

    connection: Connection
    version: str
    cache: ResultCache

    def cached(self, key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        """`compute()`, or what it returned for `key` on this version of the archive."""
        found = self.cache.get((self.version, *key))
        if found is None:
            found = compute()
            self.cache.put((self.version, *key), found)
        return found

    def peek(self, key: tuple[Hashable, ...]) -> Any | None:
        """What `cached` keeps for `key` on this version, or None (nothing is computed)."""
        return self.cache.get((self.version, *key))


@dataclass
class WebContext:
    """What every request handler needs: the archive, the templates, the operator state."""

    db_url: str
    data_dir: Path
    templates: Jinja2Templates
    operator: Operator
    _engine: Engine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Schedules started with "run now" by this process, by name (their threads).
    started: dict[str, threading.Thread] = field(default_factory=dict)
    #: Counts over large selections (`snapshot`), by archive version.
    results: ResultCache = field(default_factory=ResultCache)
    _version_lock: threading.Lock = field(default_factory=threading.Lock)
    _generation: int = 0

    def engine(self) -> Engine:
        """The archive's engine, opened on first use."""
        from archiver.db import open_archive

        with self._lock:
            if self._engine is None:
                self._engine = open_archive(self.db_url)
            return self._engine

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only snapshot of the archive for one page."""
        from archiver.db.releases import read_snapshot

        with read_snapshot(self.engine()) as connection:
            yield connection

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """`read`, with the version of the archive the transaction sees, for `Snapshot.cached`.

        PostgreSQL: the transaction's snapshot itself. SQLite: a generation number, moved on
        whenever a connection's `PRAGMA data_version` (the transaction's first statement)
        differs from what that connection saw last, i.e. another connection committed since.
        Checking and reading the generation happen under one lock, so a transaction never gets
        a generation older than a commit it sees, nor newer than a commit it does not see:
        two transactions with the same version read the same rows. (The view's own writes, the
        schedules' flags, change nothing that is cached.)
        """
        from archiver.db import browse

        with self.read() as connection:
            if connection.dialect.name == "postgresql":
                version = browse.snapshot_token(connection)
            else:
                with self._version_lock:
                    token = browse.snapshot_token(connection)
                    if connection.info.get(_SEEN_TOKEN) != token:
                        connection.info[_SEEN_TOKEN] = token
                        self._generation += 1
                    version = str(self._generation)
            yield Snapshot(connection, version, self.results)

    def scrub(self, text: Any) -> str:
        """`text` without the database password or any URL password (run messages, stats)."""
        return scrub_secrets("" if text is None else str(text), [self.db_url])

    def start_once(self, name: str, target: Callable[..., None], *args: Any) -> bool:
        """Start `target(*args)` in a daemon thread unless the one started under `name` still
        runs; returns whether it started."""
        with self._lock:
            running = self.started.get(name)
            if running is not None and running.is_alive():
                return False
            thread = threading.Thread(target=target, args=args, name=f"run-now-{name}", daemon=True)
            self.started[name] = thread
        thread.start()
        return True

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
