"""`WebContext`: what every request handler of the web view needs (archiver.web.app makes it).

One engine on the archive, opened on first use through `open_archive` (schema current, dead
runs marked), the templates, the operator sessions and the schedules this process started.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from starlette.templating import Jinja2Templates

from archiver.config import scrub_secrets
from archiver.web.security import Operator


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
