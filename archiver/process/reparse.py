"""`archiver reparse`: parse archived pages again, offline, as a crawl of its own (listing pages,
and the release pages a crawl with `--details` fetched).

The pages are chosen in the archive's index (`warc_pages`): by the run that fetched them or by
fetch time. Their list goes to the reparse spider (spiders/reparse.py) in a private file; the
spider reads the WARC records and its items go through the same pipelines as any crawl, in a run
whose trigger is `reparse`, so the store never lets an old page overwrite newer values.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from archiver.config import data_dir as resolve_data_dir
from archiver.config import database_url
from archiver.db import open_archive
from archiver.db.pages import archived_pages
from archiver.db.runs import get_run
from archiver.durations import parse_moment
from archiver.errors import ArgumentError
from archiver.process.crawl import LOCAL_SITE_SETTINGS, CrawlResult, run_crawl

SPIDER = "reparse"

#: What a reparse run needs: no robots.txt, nothing written to WARC, no conditional requests.
REPARSE_SETTINGS: dict[str, Any] = {
    **LOCAL_SITE_SETTINGS,
    "ROBOTSTXT_OBEY": False,
    "ARCHIVER_TRIGGER": "reparse",
    "ARCHIVER_WARC_ENABLED": False,
    "ARCHIVER_CONDITIONAL_REQUESTS": False,
}


def check_selection(run: object = None, since: object = None) -> tuple[int | None, datetime | None]:
    """The checked selection: exactly one of a run id and a start time."""
    if (run in (None, "")) == (since in (None, "")):
        raise ArgumentError("give either a run id (--run) or a start date (--since)")
    if run not in (None, ""):
        try:
            return int(str(run)), None
        except ValueError:
            raise ArgumentError(f"run must be a run id, not {run!r}") from None
    try:
        return None, parse_moment(str(since))
    except ArgumentError as error:
        raise ArgumentError(f"--since {error}") from None


def write_selection(
    path: Path, db_url: str, data: Path, run_id: int | None, since: datetime | None
) -> int:
    """Write the selected pages (one JSON object per line) for the spider; returns how many."""
    engine = open_archive(db_url)
    try:
        with engine.connect() as connection:
            if run_id is not None and get_run(connection, run_id) is None:
                raise ArgumentError(f"--run {run_id}: no crawl run with that id")
            pages = archived_pages(connection, run_id=run_id, since=since)
    finally:
        engine.dispose()
    with path.open("w", encoding="utf-8") as handle:
        for page in pages:
            warc_file = Path(page.warc_file)
            record = {
                "record_id": page.record_id,
                "url": page.url,
                "status": page.status,
                "warc_file": str(warc_file if warc_file.is_absolute() else data / warc_file),
                "offset": page.offset,
                "source": page.source,
                "facet": page.facet,
                "fetched_at": page.fetched_at.isoformat(),
                "kind": page.kind,
                "release_id": page.release_id,
            }
            handle.write(json.dumps(record) + "\n")
    return len(pages)


def run_reparse(
    *,
    run_id: int | None = None,
    since: str | None = None,
    db_url: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    timeout: float | None = None,
) -> CrawlResult:
    """Reparse a run's archived pages (or those fetched since a time) in a child process."""
    chosen_run, chosen_since = check_selection(run_id, since)
    data = resolve_data_dir(data_dir)
    url = database_url(db_url, data)
    recorded = {"run": str(chosen_run)} if chosen_run is not None else {"since": str(since)}
    with tempfile.TemporaryDirectory(prefix="archiver-reparse-") as tmp:
        selection = Path(tmp) / "pages.jsonl"
        write_selection(selection, url, data, chosen_run, chosen_since)
        return run_crawl(
            SPIDER,
            {"selection": str(selection)},
            db_url=url,
            data_dir=data,
            settings={
                **REPARSE_SETTINGS,
                "ARCHIVER_RUN_ARGUMENTS": recorded,
                **(settings or {}),
            },
            on_progress=on_progress,
            timeout=timeout,
        )
