"""`create_app`: the web view as a Starlette application (served by uvicorn in `archiver web`).

The application's state is a `WebContext` (the archive's engine, opened on first use, the
Jinja2 templates, autoescaped, and the operator sessions). Pages read through the same
database functions as the command line (`archiver.db.browse`, `archiver.db.runs`,
`archiver.db.schedules`) and downloads through the export module, each page in one read-only
snapshot.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from archiver import __version__
from archiver.config import data_dir as resolve_data_dir
from archiver.web import pages
from archiver.web.context import WebContext
from archiver.web.security import GuardedApp, Operator

STATIC_DIR = Path(__file__).with_name("static")


def _when(moment: datetime | date | None) -> str:
    """A time as UTC text to the second, a date as `YYYY-MM-DD`, nothing as an empty string."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.isoformat()


def _duration(started: datetime | None, finished: datetime | None) -> str:
    if started is None or finished is None:
        return ""
    from archiver.durations import format_duration

    seconds = int((finished - started).total_seconds())
    return format_duration(seconds) if seconds >= 1 else "<1s"


def _web_link(url: str | None) -> str | None:
    """`url` when a browser may follow it (http or https), else None (shown as text only).

    >>> _web_link("https://www.amnestyusa.org/x/"), _web_link("javascript:alert(1)")
    ('https://www.amnestyusa.org/x/', None)
    """
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url
    return None


def make_templates() -> Jinja2Templates:
    """The templates, autoescaped (every value a site or a user gave is text, never markup)."""
    environment = Environment(
        loader=PackageLoader("archiver.web", "templates"),
        autoescape=select_autoescape(("html", "svg", "xml"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    environment.filters["duration"] = _duration
    environment.filters["web_link"] = _web_link
    environment.globals["version"] = __version__
    return Jinja2Templates(env=environment)


def default_data_dir(db_url: str) -> Path:
    """Where the archive's WARC files are when nobody said: beside a SQLite archive (the demo
    keeps `data/demo/archive.db` with `data/demo/warc/`), else `ARCHIVER_DATA_DIR` or `./data`.

    >>> default_data_dir("sqlite:////srv/archive/archive.db").as_posix()
    '/srv/archive'
    """
    from archiver.db.engine import engine_url

    try:
        parsed = engine_url(db_url)
    except Exception:  # not a URL: open_archive says so on the first page
        return resolve_data_dir(None)
    database = parsed.database or ""
    if (
        parsed.get_backend_name() == "sqlite"
        and database
        and not database.startswith((":memory:", "file:"))
    ):
        return Path(database).expanduser().absolute().parent
    return resolve_data_dir(None)


def create_app(
    db_url: str, *, data_dir: Path | str | None = None, operator_token: str | None = None
) -> Starlette:
    """The web view of the archive at `db_url`.

    `data_dir` is where the crawls kept their WARC files (archived pages are read from there)
    and where a "run now" crawl logs (default: `default_data_dir`). `operator_token` enables
    operator mode (schedules can be paused, resumed and run by whoever logs in with it);
    without it the view is read-only.
    Nothing connects to the database until the first request.
    """
    context = WebContext(
        db_url=db_url,
        data_dir=resolve_data_dir(data_dir) if data_dir else default_data_dir(db_url),
        templates=make_templates(),
        operator=Operator(operator_token),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            context.dispose()

    app = Starlette(
        routes=[
            *pages.ROUTES,
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[Middleware(GuardedApp, known_secrets=[db_url, operator_token])],
        exception_handlers=pages.EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.web = context
    return app
