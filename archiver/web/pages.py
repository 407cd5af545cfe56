"""The web view's routes: one handler per page, each reading one snapshot of the archive.

| route | page |
|---|---|
| `GET /` | releases: filters, sort, keyset pages, counts per facet and type, downloads |
| `GET /counts` | the counts of a selection (the list loads them with htmx unless kept) |
| `GET /export.csv`, `.json`, `.jsonl` | the selected releases, written by `archiver.export` |
| `GET /export.manifest.json` | the manifest of that export |
| `GET /feed.atom` | an Atom feed of the selection, newest found first (`archiver.export.atom`) |
| `GET /release/{id}` | one release: every field, facets, versions with word diffs, page text |
| `GET /archive/{record}` | an archived page from the WARC files, made inert |
| `GET /runs`, `GET /runs/{id}` | crawl runs with charts; one run |
| `GET /coverage` | releases per month by type for the selection, and listing coverage |
| `GET /schedules` | schedules; operator buttons when logged in |
| `POST /login`, `POST /logout` | operator session (403 without an operator token) |
| `POST /schedules/{name}/pause`, `/resume`, `/run` | operator actions (session + CSRF) |

Handlers that read the database are plain functions (Starlette runs them in its thread pool);
the POST handlers read their form first, then do their work in the pool too.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from archiver.db import browse
from archiver.errors import ArchiverError, ScheduleError
from archiver.web.charts import Point, month_range, stacked_bars, time_chart
from archiver.web.context import Snapshot, WebContext
from archiver.web.diff import paragraphs, text_diff, word_diff
from archiver.web.inert import ARCHIVE_CSP, inert_html, is_html
from archiver.web.params import (
    BadRequest,
    Selection,
    paging_items,
    parse_paging,
    parse_selection,
    positive_int,
)
from archiver.web.security import SESSION_COOKIE, same_origin

logger = logging.getLogger("archiver.web")

#: Marks around the matched words in search snippets (escaped text is split on them).
SNIPPET_MARKS = ("\u2e22", "\u2e25")
#: A "run now" crawl ends after this long, like the scheduler's default --max-runtime.
RUN_NOW_MAX_RUNTIME = 4 * 3600
#: Runs drawn on the charts of the runs page.
CHART_RUNS = 200


def web(request: Request) -> WebContext:
    return request.app.state.web  # type: ignore[no-any-return]


def operator_session(request: Request) -> str | None:
    """The operator session of this browser (None: not logged in, or no operator mode)."""
    return web(request).operator.session_id(request.cookies.get(SESSION_COOKIE))


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    """A page, with what the header needs to know about operator mode."""
    context = web(request)
    session = operator_session(request)
    values.update(
        operator_enabled=context.operator.enabled,
        operator=session is not None,
        csrf=context.operator.csrf_token(session) if session else "",
        scrub=context.scrub,
    )
    response = context.templates.TemplateResponse(
        request, template, values, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store" if session else "no-cache"
    return response


def snippet_html(text: str) -> Any:
    """A search snippet as markup: the text escaped, the matched words in `<mark>`."""
    from markupsafe import Markup, escape

    start, stop = SNIPPET_MARKS
    escaped = str(escape(text))
    return Markup(escaped.replace(start, "<mark>").replace(stop, "</mark>"))


# -- releases ------------------------------------------------------------------------------------


def _selection_clauses(
    snapshot: Snapshot, selection: Selection, *, correlated: bool = False
) -> list[Any]:
    """The WHERE clauses of `selection`, with the archive's facet strings read once per
    version of the archive."""
    connection = snapshot.connection
    facets = (
        snapshot.cached(("facets",), lambda: browse.facet_strings(connection))
        if selection.filters.facet_values()
        else None
    )
    return browse.filter_clauses(
        connection, selection.filters, selection.words, facets=facets, correlated=correlated
    )


def _list_counts(snapshot: Snapshot, selection: Selection, clauses: list[Any]) -> tuple[Any, ...]:
    """(total, counts per type, counts per filter value) of a selection, computed once per
    version of the archive: over a million releases they take a few hundred milliseconds."""

    def compute() -> tuple[Any, ...]:
        connection = snapshot.connection
        types = browse.type_counts(connection, clauses)
        facets = browse.facet_counts(connection, clauses)
        return sum(count for _, count in types), types, facets

    return snapshot.cached(("list", selection.items), compute)


def releases_page(request: Request) -> Response:
    """The list: a keyset page of rows, with the selection's counts when they are kept
    (`Snapshot.peek`); otherwise a placeholder that htmx fills from `GET /counts` (a link to it
    without JavaScript), so the rows never wait for counting a large selection."""
    selection = parse_selection(request.query_params)
    paging = parse_paging(request.query_params)
    partial = request.headers.get("hx-request") == "true" and paging.after is not None
    with web(request).snapshot() as snapshot:
        connection = snapshot.connection
        clauses = _selection_clauses(snapshot, selection)
        known = snapshot.peek(("list", selection.items))
        total, types, facets = known if known is not None else (None, None, None)

        def archive() -> int:
            return snapshot.cached(("size",), lambda: browse.count_releases(connection))

        walk, budget = False, None  # no filter: the order's index; words: the full-text index
        if clauses and not selection.words:
            if total is not None:  # many releases: walk the order's index, testing each one
                walk = browse.walks_order(total, archive(), paging.limit)
            else:  # how many is not known: walk a little, else collect (`walk_budget`)
                walk, budget = True, browse.walk_budget(archive(), paging.limit)
        page = browse.release_page(
            connection,
            _selection_clauses(snapshot, selection, correlated=True) if walk else clauses,
            sort=paging.sort,
            after=paging.after,
            limit=paging.limit,
            walk=walk,
            budget=budget,
            collect=clauses,
        )
        snippets = (
            browse.snippets(
                connection, selection.words, [row.id for row in page.rows], SNIPPET_MARKS
            )
            if selection.words
            else {}
        )
    next_query = (
        selection.query(*paging_items(paging, after=page.next_cursor))
        if page.next_cursor is not None
        else None
    )
    values: dict[str, Any] = {
        "selection": selection,
        "paging": paging,
        "rows": page.rows,
        "snippets": {key: snippet_html(text) for key, text in snippets.items()},
        "next_query": next_query,
    }
    if partial:
        response = render(request, "_release_rows.html", **values)
    else:
        first_query = selection.query(*paging_items(paging, after=None))
        response = render(
            request,
            "releases.html",
            **values,
            total=total,
            types=types,
            facets=facets,
            first_query=first_query if paging.after is not None else None,
            known_types=_known_types(),
            sorts=browse.SORTS,
        )
    response.headers["Vary"] = "HX-Request"
    return response


def counts_page(request: Request) -> Response:
    """The counts of a selection (total, per type, per filter value), computed once per version
    of the archive: for htmx (`HX-Request`), the counts panel of the list with its total as an
    out-of-band swap; otherwise a page of them (the list's link without JavaScript)."""
    selection = parse_selection(request.query_params)
    with web(request).snapshot() as snapshot:
        clauses = _selection_clauses(snapshot, selection)
        total, types, facets = _list_counts(snapshot, selection, clauses)
    fragment = request.headers.get("hx-request") == "true"
    response = render(
        request,
        "_counts_fragment.html" if fragment else "counts.html",
        selection=selection,
        total=total,
        types=types,
        facets=facets,
    )
    response.headers["Vary"] = "HX-Request"
    return response


def _known_types() -> tuple[str, ...]:
    from archiver.export.filters import known_types

    return known_types()


# -- downloads -----------------------------------------------------------------------------------

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
}


def _export(request: Request, fmt: str) -> tuple[Any, Path]:
    """Run `archiver.export.export_releases` for the selection into a private temporary folder;
    returns the result and the folder (the caller removes it once the file was sent)."""
    from archiver.export import default_export_path, export_releases

    selection = parse_selection(request.query_params)
    filters = selection.export_filters()
    folder = Path(tempfile.mkdtemp(prefix="archiver-web-export-"))
    try:
        target = default_export_path(filters, fmt, data_dir=folder)
        target.parent.mkdir(parents=True)
        result = export_releases(web(request).db_url, target, filters=filters, fmt=fmt)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return result, folder


def _public_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The export's manifest as the web view serves it: the database is not named."""
    return {**manifest, "database": "(not shown by the web view)"}


def export_download(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    if fmt not in _MEDIA:
        raise HTTPException(404)
    result, folder = _export(request, fmt)
    return FileResponse(
        result.path,
        media_type=_MEDIA[fmt],
        filename=result.path.name,
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


def export_manifest(request: Request) -> Response:
    fmt = request.query_params.get("format", "csv")
    if fmt not in _MEDIA:
        raise BadRequest(f"unknown format {fmt!r} (known: {', '.join(_MEDIA)})")
    result, folder = _export(request, fmt)
    try:
        manifest = _public_manifest(result.manifest)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return JSONResponse(manifest, headers={"Cache-Control": "no-store"})


def atom_feed_page(request: Request) -> Response:
    """`archiver feed` over HTTP: the export's filters as the query (`search`, or the list's
    `q`, is the export's title-or-summary search), `limit` entries (default 50)."""
    import hashlib

    from archiver.errors import ExportError
    from archiver.export.atom import DEFAULT_LIMIT, MAX_LIMIT, atom_feed, filter_query, parse_query

    pairs = [
        ("search", value) if key == "q" else (key, value)
        for key, value in request.query_params.multi_items()
    ]
    try:
        filters = parse_query(pairs)
    except ExportError as error:
        raise BadRequest(str(error).replace("--", "")) from None
    limit = positive_int(request.query_params.get("limit"), "limit") or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise BadRequest(f"a feed holds 1 to {MAX_LIMIT} entries, not {limit}")
    query = filter_query(filters).replace("search=", "q=")
    base_url = str(request.base_url) + (f"?{query}" if query else "")
    with web(request).read() as connection:
        xml = atom_feed(
            connection, filters, base_url=base_url, feed_url=str(request.url), limit=limit
        )
    etag = '"' + hashlib.sha256(xml).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(xml, media_type="application/atom+xml; charset=utf-8", headers=headers)


# -- one release ---------------------------------------------------------------------------------


def _changes(earlier: list[Any], current: Any, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each earlier version next to the one that replaced it, newest change first: the word
    diff of every field in `fields` that changed, and the version's own row."""
    states = [*earlier, current]
    changes = []
    for older, newer in itertools.pairwise(states):
        diffs = {}
        for name in fields:
            before, after = getattr(older, name), getattr(newer, name)
            if before != after:
                if name == "body":
                    diffs[name] = text_diff(before, after)
                elif isinstance(before, str | None) and isinstance(after, str | None):
                    diffs[name] = word_diff(before, after)
                else:
                    diffs[name] = word_diff(_text(before), _text(after))
        changes.append({"version": older, "diffs": diffs})
    return changes[::-1]


def _text(value: Any) -> str:
    return "" if value is None else str(value.isoformat() if hasattr(value, "isoformat") else value)


def record_key(record_id: str | None) -> str | None:
    """The path segment of an archived record: its UUID (`<urn:uuid:X>` → `X`)."""
    if not record_id:
        return None
    return record_id.removeprefix("<urn:uuid:").removesuffix(">")


def release_page(request: Request) -> Response:
    release_id = request.path_params["release_id"]
    with web(request).read() as connection:
        detail = browse.release_detail(connection, release_id)
    if detail is None:
        raise HTTPException(404, "No release with this number.")
    listing_fields = ("title", "summary", "published_on", "type", "type_raw", "summary_truncated")
    text_fields = ("headline", "body", "published_raw", "modified_raw")
    text_changes = _changes(detail.text_versions, detail.text, text_fields) if detail.text else []
    body_paragraphs = paragraphs(detail.text.body) if detail.text else []
    return render(
        request,
        "release.html",
        detail=detail,
        release=detail.release,
        text=detail.text,
        body_paragraphs=body_paragraphs,
        changes=_changes(detail.versions, detail.release, listing_fields),
        text_changes=text_changes,
        record_key=record_key,
    )


def archive_record(request: Request) -> Response:
    key = request.path_params["record"]
    try:
        record_id = f"<urn:uuid:{uuid.UUID(key)}>"
    except ValueError:
        raise HTTPException(404, "No archived page with this id.") from None
    context = web(request)
    with context.read() as connection:
        row = browse.archived_page(connection, record_id)
    if row is None:
        raise HTTPException(404, "No archived page with this id.")
    page = _read_warc(context, row)
    headers = {
        "Content-Security-Policy": ARCHIVE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }
    if is_html(page.headers, page.body):
        html = inert_html(page.body, headers=page.headers, url=row.url, fetched_at=row.fetched_at)
        return Response(html, media_type="text/html; charset=utf-8", headers=headers)
    text = page.body.decode("utf-8", "replace")
    return Response(text, media_type="text/plain; charset=utf-8", headers=headers)


def _read_warc(context: WebContext, row: Any) -> Any:
    from archiver.warcfile import read_record

    path = Path(row.warc_file)
    if not path.is_absolute():
        path = context.data_dir / path
    try:
        return read_record(path, row.offset)
    except (OSError, ValueError) as error:
        logger.warning("archived page %s unreadable: %s", row.record_id, context.scrub(error))
        raise HTTPException(
            404,
            "The archived page is recorded, but its WARC file is not in the data folder this"
            " server was started with (--data-dir).",
        ) from None


# -- runs ----------------------------------------------------------------------------------------


def _run_tooltip(point: browse.RunPoint, what: str) -> str:
    when = f"{point.started_at:%Y-%m-%d %H:%M}"
    return f"run {point.id} ({point.trigger}, {point.status}) {when}: {what}"


def runs_page(request: Request) -> Response:
    before = positive_int(request.query_params.get("before"), "before")
    with web(request).read() as connection:
        rows, next_before = browse.run_page(connection, before=before)
        series = browse.run_series(connection, limit=CHART_RUNS)
    cards = time_chart(
        [
            Point(
                p.started_at,
                p.cards_per_page,
                _run_tooltip(
                    p,
                    "no listing page read"
                    if p.cards_per_page is None
                    else f"{p.cards_per_page:g} cards per page",
                ),
                p.status,
            )
            for p in series
        ],
        label="Cards per listing page, per run",
    )
    new = time_chart(
        [
            Point(p.started_at, p.items_new, _run_tooltip(p, f"{p.items_new} new"), p.status)
            for p in series
        ],
        label="New releases per run",
        bars=True,
    )
    return render(
        request,
        "runs.html",
        runs=rows,
        next_before=next_before,
        first_page=before is not None,
        cards_chart=cards,
        new_chart=new,
        charted=len(series),
    )


def run_page(request: Request) -> Response:
    from archiver.db.runs import get_run

    run_id = request.path_params["run_id"]
    with web(request).read() as connection:
        run = get_run(connection, run_id)
        pages = browse.run_archived_pages(connection, run_id) if run else []
    if run is None:
        raise HTTPException(404, "No run with this number.")
    return render(request, "run.html", run=run, pages=pages, record_key=record_key)


# -- coverage ------------------------------------------------------------------------------------


def coverage_page(request: Request) -> Response:
    from archiver.db.coverage import listing_coverage

    selection = parse_selection(request.query_params)
    with web(request).snapshot() as snapshot:
        clauses = _selection_clauses(snapshot, selection)
        counts = snapshot.cached(
            ("months", selection.items),
            lambda: browse.monthly_counts(snapshot.connection, clauses),
        )
        listings = listing_coverage(snapshot.connection)
    dated = [count for count in counts if count.month is not None]
    undated = sum(count.releases for count in counts if count.month is None)
    months = month_range(dated[0].month, dated[-1].month) if dated else []
    totals: dict[str | None, int] = {}
    for count in dated:
        totals[count.type] = totals.get(count.type, 0) + count.releases
    types = sorted(totals, key=lambda name: (-totals[name], name or ""))
    index = {month: i for i, month in enumerate(months)}
    table = {name: [0] * len(months) for name in types}
    for count in dated:
        table[count.type][index[count.month]] += count.releases
    series = [(name or "(no type)", table[name]) for name in types]
    rows = [
        (month, [table[name][i] for name in types], sum(table[name][i] for name in types))
        for i, month in enumerate(months)
    ]
    chart = stacked_bars(months, series, label="Releases per month, by type")
    return render(
        request,
        "coverage.html",
        selection=selection,
        chart=chart,
        types=[name or "(no type)" for name in types],
        rows=rows,
        empty_months=sum(1 for _, _, total in rows if total == 0),
        undated=undated,
        total=sum(totals.values()) + undated,
        listings=listings,
    )


# -- schedules and operator mode -----------------------------------------------------------------


def schedules_page(request: Request) -> Response:
    from archiver.db.schedules import schedule_overview

    context = web(request)
    with context.read() as connection:
        rows = schedule_overview(connection)
    started = {name for name, thread in context.started.items() if thread.is_alive()}
    return render(
        request,
        "schedules.html",
        schedules=rows,
        started=started,
        message=request.query_params.get("done"),
        name=request.query_params.get("name"),
    )


async def _operator_form(request: Request, *, csrf: bool = True) -> tuple[Any, str | None]:
    """The form of an operator POST, after every check: operator mode on, same origin, and
    (with `csrf`) a session whose CSRF token the form carries. Refusals are 403."""
    context = web(request)
    if not context.operator.enabled:
        raise HTTPException(
            403, "This web view is read-only: it was started without an operator token."
        )
    if not same_origin(request):
        raise HTTPException(403, "Refused: the form was sent from another site.")
    form = await request.form(max_files=0, max_fields=10)
    session = operator_session(request)
    if csrf:
        if session is None:
            raise HTTPException(403, "Log in as operator first (Schedules page).")
        if not context.operator.check_csrf(session, _field(form, "csrf")):
            raise HTTPException(403, "Refused: the form's CSRF token is missing or wrong.")
    return form, session


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _local_path(target: str | None) -> str:
    """Where to go after logging in: a path on this server only."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/schedules"


async def login(request: Request) -> Response:
    form, _session = await _operator_form(request, csrf=False)
    operator = web(request).operator
    if operator.locked_out():
        raise HTTPException(429, "Too many wrong tokens: wait a minute, then try again.")
    token = _field(form, "token") or ""
    if not operator.check_token(token):
        raise HTTPException(403, "Wrong operator token.")
    response = RedirectResponse(_local_path(_field(form, "next")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        operator.new_session(),
        max_age=operator.lifetime,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def logout(request: Request) -> Response:
    await _operator_form(request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def schedule_action(request: Request) -> Response:
    await _operator_form(request)
    name = request.path_params["name"]
    action = request.path_params["action"]
    if action not in ("pause", "resume", "run"):
        raise HTTPException(404)
    done = await run_in_threadpool(_schedule_action, web(request), name, action)
    from urllib.parse import urlencode

    return RedirectResponse(
        "/schedules?" + urlencode({"done": done, "name": name}), status_code=303
    )


def _schedule_action(context: WebContext, name: str, action: str) -> str:
    from archiver.db import write_transaction
    from archiver.db.schedules import get_schedule, set_enabled

    engine = context.engine()
    try:
        if action in ("pause", "resume"):
            with write_transaction(engine) as connection:
                set_enabled(connection, name, action == "resume")
            logger.info(
                "operator %s schedule %s", "resumed" if action == "resume" else "paused", name
            )
            return "resumed" if action == "resume" else "paused"
        with engine.connect() as connection:
            spec = get_schedule(connection, name)
    except ScheduleError:
        raise HTTPException(404, "No schedule with this name.") from None
    if not context.start_once(name, _run_now, context, spec):
        return "busy"
    logger.info("operator started schedule %s", name)
    return "started"


def _run_now(context: WebContext, spec: Any) -> None:
    """Run a schedule once, as `archiver schedule run` does (a crawl in a child process,
    recorded with the schedule's name as trigger; skipped if a run of it is going)."""
    from archiver.scheduler.runner import run_schedule

    try:
        report = run_schedule(
            spec,
            context.engine(),
            db_url=context.db_url,
            data_dir=context.data_dir,
            max_runtime=RUN_NOW_MAX_RUNTIME,
        )
        logger.info("%s", context.scrub(report.summary()))
    except Exception as error:  # a thread has nobody to raise to: log it, without secrets
        logger.error("run now of %s failed: %s", spec.name, context.scrub(f"{error!r}")[:500])


# -- errors --------------------------------------------------------------------------------------

_TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    429: "Too many tries",
    503: "Archive unavailable",
}


def _error_page(request: Request, status: int, message: str) -> Response:
    try:
        return render(
            request,
            "error.html",
            status_code=status,
            status=status,
            title=_TITLES.get(status, "Error"),
            message=message,
        )
    except Exception:  # the archive or the templates are what failed: plain text then
        return Response(message, status_code=status, media_type="text/plain; charset=utf-8")


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    status = error.status_code
    default = {
        404: "There is nothing at this address.",
        405: f"This address does not take {request.method} requests.",
    }.get(status, _TITLES.get(status, "Error"))
    message = error.detail if error.detail and error.detail != _phrase(status) else default
    return await run_in_threadpool(_error_page, request, status, message)


def _phrase(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase


async def bad_request(request: Request, error: Exception) -> Response:
    return await run_in_threadpool(_error_page, request, 400, str(error))


async def archive_error(request: Request, error: Exception) -> Response:
    """The archive cannot be opened or read: logged (without secrets), never shown."""
    logger.error("archive unavailable: %s", web(request).scrub(error)[:500])
    return await run_in_threadpool(
        _error_page,
        request,
        503,
        "The archive could not be read. The reason was logged on the server.",
    )


ROUTES = [
    Route("/", releases_page, methods=["GET"], name="releases"),
    Route("/counts", counts_page, methods=["GET"], name="counts"),
    Route("/export.manifest.json", export_manifest, methods=["GET"], name="export_manifest"),
    Route("/export.{fmt}", export_download, methods=["GET"], name="export"),
    Route("/feed.atom", atom_feed_page, methods=["GET"], name="feed"),
    Route("/release/{release_id:int}", release_page, methods=["GET"], name="release"),
    Route("/archive/{record}", archive_record, methods=["GET"], name="archive"),
    Route("/runs", runs_page, methods=["GET"], name="runs"),
    Route("/runs/{run_id:int}", run_page, methods=["GET"], name="run"),
    Route("/coverage", coverage_page, methods=["GET"], name="coverage"),
    Route("/schedules", schedules_page, methods=["GET"], name="schedules"),
    Route("/login", login, methods=["POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/schedules/{name}/{action}", schedule_action, methods=["POST"], name="schedule_action"),
]

EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: http_error,
    BadRequest: bad_request,
    ArchiverError: archive_error,
}
