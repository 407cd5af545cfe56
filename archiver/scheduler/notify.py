"""Notifications through Apprise: a run that needs a look, and the releases a run found new.

    archiver scheduler --notify 'mailto://me:app-password@gmail.com' --notify ntfy://alerts
    archiver schedule add syria ... --notify-new

After every fire the service sends at most two messages to every `--notify` URL (any of the
services Apprise knows: mail, ntfy, Matrix, Slack, a JSON webhook, ...):

- a run that did not go well (failed, partial, interrupted, a filter that matched nothing) or
  whose selector health is flagged (`fallback_layout`, `cards_drop`, ...): what happened, the
  missed pages and flags, and where to look (`archiver runs --id N`, or the web view's
  `/runs/N` with `--web-url`);
- with `--notify-new` on the schedule (the setting `ARCHIVER_NOTIFY_NEW`): the titles and links
  of the releases the run found first (`releases.first_run_id`), never an empty message. Any
  run that stored new releases sends them, a partial or flagged one too: a release is found new
  once, so a later run would never announce it.

The messages are built by pure functions (`failure_message`, `new_releases_message`); sending
is `send_notification`. Apprise URLs hold tokens and passwords, so a URL is never logged: only
its scheme and its place on the command line (`notification #2 (ntfy://***)`). A notification
that cannot be sent is logged and never stops the service.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from archiver.db.feeds import FeedEntry, new_in_run
from archiver.db.runs import get_run
from archiver.db.schedules import ScheduleSpec
from archiver.errors import ArgumentError
from archiver.outcome import EXIT_CODES
from archiver.scheduler.runner import RunReport
from archiver.settings_catalog import is_on

logger = logging.getLogger(__name__)

#: The schedule setting `--notify-new` stores (declared in archiver.settings_catalog).
NOTIFY_NEW = "ARCHIVER_NOTIFY_NEW"
#: Releases listed in one message; the rest are counted.
MAX_LISTED = 50
#: Missed pages listed in one message; the rest are counted.
MAX_MISSED = 10

Message = tuple[str, str]

# Anything URL-like in a log message: `scheme://` and everything up to the next blank.
_URL_IN_TEXT = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://\S+")


class _MaskURLs(logging.Filter):
    """Apprise logs a URL it cannot parse as given (`Unparseable URL ntfy://token@...`) and
    the addresses it posts to: on its logger, every URL keeps its scheme only."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _URL_IN_TEXT.sub(r"\1://***", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def _apprise() -> Any:
    """The apprise module, its logger masking URLs (installed once per process)."""
    import apprise

    apprise_logger = logging.getLogger("apprise")
    if not any(isinstance(each, _MaskURLs) for each in apprise_logger.filters):
        apprise_logger.addFilter(_MaskURLs())
    return apprise


@dataclass(frozen=True, slots=True)
class Notification:
    """A message `notify_run` sent, and how many of the URLs took it."""

    title: str
    body: str
    delivered: int


def mask_notify_url(url: str) -> str:
    """An Apprise URL as it may be logged: its scheme only (tokens sit anywhere after it).

    >>> mask_notify_url("tgram://123456:AAE-bot-token/987"), mask_notify_url("no scheme")
    ('tgram://***', '***')
    """
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://***" if sep and scheme.isascii() and scheme.isalnum() else "***"


def check_notify_urls(urls: Sequence[str]) -> None:
    """Refuse (ArgumentError) a URL Apprise cannot use, before the service starts."""
    apprise = _apprise()

    for number, url in enumerate(urls, start=1):
        if apprise.Apprise.instantiate(url) is None:
            raise ArgumentError(
                f"--notify #{number} ({mask_notify_url(url)}) is not a notification URL Apprise"
                " knows: see https://github.com/caronc/apprise/wiki"
            )


def notify_new_enabled(settings: Mapping[str, Any]) -> bool:
    """Whether a schedule's settings ask for new-release messages (`--notify-new`).

    >>> notify_new_enabled({NOTIFY_NEW: "1"}), notify_new_enabled({NOTIFY_NEW: "off"})
    (True, False)
    >>> notify_new_enabled({})
    False
    """
    return is_on(settings.get(NOTIFY_NEW, False))


def where_to_look(run_id: int | None, web_url: str | None) -> str:
    """How a person sees the run: the web view's page, else the command.

    >>> where_to_look(12, "https://archive.example/"), where_to_look(12, None)
    ('https://archive.example/runs/12', 'archiver runs --id 12')
    >>> where_to_look(None, None)
    'archiver runs'
    """
    if run_id is None:
        return f"{web_url.rstrip('/')}/runs" if web_url else "archiver runs"
    if web_url:
        return f"{web_url.rstrip('/')}/runs/{run_id}"
    return f"archiver runs --id {run_id}"


def failure_message(
    report: RunReport,
    *,
    health: Sequence[str] = (),
    missed_pages: Sequence[Mapping[str, Any]] = (),
    web_url: str | None = None,
) -> Message | None:
    """(title, body) about a run somebody should look at; None when nobody needs to.

    A skipped fire needs nobody; a run with a non-zero exit status or with health flags does.

    >>> report = RunReport("syria", "partial", "partial: 1 listing page could not be read",
    ...                    run_id=7, exit_code=5)
    >>> title, body = failure_message(report, missed_pages=[
    ...     {"page": 4, "url": "https://example.org/news/page/4/", "cause": "HTTP 503"}])
    >>> title
    'archiver: syria partial'
    >>> print(body)
    Run 7 of schedule syria ended partial: partial: 1 listing page could not be read.
    Exit status 5: partial: some listing pages could not be read; the next run heals the gap.
    Missed listing pages:
    - page 4 (HTTP 503): https://example.org/news/page/4/
    See: archiver runs --id 7
    >>> failure_message(RunReport("syria", "finished", "ok", run_id=8, exit_code=0)) is None
    True
    """
    if report.status == "skipped" or (report.ok and not health):
        return None
    title = f"archiver: {report.schedule} {report.status}"
    if health:
        title += f", flagged {', '.join(health)}"
    run = f"Run {report.run_id}" if report.run_id is not None else "A run"
    lines = [f"{run} of schedule {report.schedule} ended {report.status}: {report.reason}."]
    if report.exit_code is not None and report.exit_code in EXIT_CODES and not report.ok:
        lines.append(f"Exit status {report.exit_code}: {EXIT_CODES[report.exit_code]}.")
    if health:
        lines.append(
            f"Selector health flags: {', '.join(health)} (the site's markup may have changed)."
        )
    if missed_pages:
        lines.append("Missed listing pages:")
        for page in missed_pages[:MAX_MISSED]:
            lines.append(f"- page {page.get('page')} ({page.get('cause')}): {page.get('url')}")
        if len(missed_pages) > MAX_MISSED:
            lines.append(f"- and {len(missed_pages) - MAX_MISSED} more")
    if report.stats:
        lines.append(
            f"Read {report.stats.get('archiver/listing_pages', 0)} listing pages,"
            f" {report.stats.get('archiver/store/new', 0)} new releases,"
            f" {report.stats.get('archiver/store/updated', 0)} updated,"
            f" in {report.duration:.0f} s."
        )
    if report.log_path is not None:
        lines.append(f"Log: {report.log_path}")
    lines.append(f"See: {where_to_look(report.run_id, web_url)}")
    return title, "\n".join(lines)


def new_releases_message(
    schedule: str,
    run_id: int,
    releases: Sequence[FeedEntry],
    *,
    total: int | None = None,
    web_url: str | None = None,
) -> Message | None:
    """(title, body) listing the releases run `run_id` found first; None when it found none.

    `total` is how many it found when `releases` holds only the first of them.
    """
    if not releases:
        return None
    total = max(total or 0, len(releases))
    noun = "release" if total == 1 else "releases"
    title = f"archiver: {schedule}: {total} new {noun}"
    lines = [f"Run {run_id} of schedule {schedule} found {total} new {noun}:", ""]
    for release in releases:
        day = f" ({release.published_on.isoformat()})" if release.published_on else ""
        lines += [f"- {release.title}{day}", f"  {release.url}"]
    if total > len(releases):
        lines.append(f"- and {total - len(releases)} more")
    lines += ["", f"See: {where_to_look(run_id, web_url)}"]
    return title, "\n".join(lines)


def send_notification(urls: Sequence[str], title: str, body: str) -> int:
    """Send one message to every URL; returns how many took it. Never raises."""
    try:
        apprise = _apprise()
    except ImportError as error:  # a broken install must not stop the scheduler either
        logger.error("notifications cannot be sent: %s", error)
        return 0
    delivered = 0
    for number, url in enumerate(urls, start=1):
        where = f"notification #{number} ({mask_notify_url(url)})"
        try:
            sender = apprise.Apprise()
            if not sender.add(url):
                logger.error("%s: not a URL Apprise can use", where)
                continue
            if sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT):
                delivered += 1
                logger.info("%s sent: %s", where, title)
            else:
                logger.error("%s could not be sent: %s", where, title)
        except Exception as error:  # Apprise's plugins raise what their libraries raise
            logger.error("%s could not be sent: %s", where, type(error).__name__)
    return delivered


def notify_run(
    report: RunReport,
    spec: ScheduleSpec,
    engine: Engine,
    urls: Sequence[str],
    *,
    web_url: str | None = None,
    send: Callable[[Sequence[str], str, str], int] = send_notification,
) -> list[Notification]:
    """Send what a person should hear about this fire of `spec`; returns what was sent.

    Reads the run's health flags, missed pages and new releases from the archive. Never
    raises: a broken notification must not take the scheduler down with it.
    """
    if not urls or report.status == "skipped":
        return []
    messages: list[Message] = []
    try:
        health: tuple[str, ...] = ()
        missed: list[Mapping[str, Any]] = []
        found: list[FeedEntry] = []
        total = 0
        with engine.connect() as connection:
            run = get_run(connection, report.run_id) if report.run_id is not None else None
            if run is not None:
                health = tuple(flag for flag in (run.health or "").split(",") if flag)
                missed = list(run.missed_pages or [])
                if notify_new_enabled(spec.settings):
                    found, total = new_in_run(connection, run.id, MAX_LISTED)
        failure = failure_message(report, health=health, missed_pages=missed, web_url=web_url)
        if failure is not None:
            messages.append(failure)
        if report.run_id is not None:
            news = new_releases_message(
                spec.name, report.run_id, found, total=total, web_url=web_url
            )
            if news is not None:
                messages.append(news)
    except Exception:
        logger.exception("schedule %s: could not prepare its notifications", spec.name)
    return [Notification(title, body, send(urls, title, body)) for title, body in messages]
