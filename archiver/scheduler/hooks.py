"""The failure hook: a command the scheduler runs when a scheduled crawl fails, to alert someone.

    archiver scheduler --on-failure 'mail -s "$ARCHIVER_SUMMARY" ops@example.org </dev/null'

A crawl that fails at 3 a.m. otherwise shows only in `archiver schedule list`, the runs table
and the journal, where nobody looks until the gap in the archive is weeks old. The command runs
through `/bin/sh -c` with the run's facts in `ARCHIVER_*` environment variables (never the
database URL, which may hold a password), so any mailer, webhook (`curl`) or pager works without
the archiver knowing about it. It may take `HOOK_TIMEOUT` seconds; whatever it does, failing or
hanging included, is logged and never stops the service.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping

from archiver.scheduler.runner import RunReport

logger = logging.getLogger(__name__)

#: Seconds a hook may run before it is killed.
HOOK_TIMEOUT = 60.0


def failure_environment(report: RunReport) -> dict[str, str]:
    """The `ARCHIVER_*` variables a hook gets for `report` (every value a string, maybe empty).

    >>> from archiver.scheduler.runner import RunReport
    >>> env = failure_environment(RunReport("syria", "failed", "no items parsed", 7, 3))
    >>> env["ARCHIVER_SCHEDULE"], env["ARCHIVER_STATUS"], env["ARCHIVER_RUN_ID"]
    ('syria', 'failed', '7')
    >>> env["ARCHIVER_EXIT_CODE"], env["ARCHIVER_LOG"]
    ('3', '')
    """
    return {
        "ARCHIVER_SCHEDULE": report.schedule,
        "ARCHIVER_STATUS": report.status,
        "ARCHIVER_REASON": report.reason,
        "ARCHIVER_RUN_ID": "" if report.run_id is None else str(report.run_id),
        "ARCHIVER_EXIT_CODE": "" if report.exit_code is None else str(report.exit_code),
        "ARCHIVER_LOG": str(report.log_path or ""),
        "ARCHIVER_SUMMARY": report.summary(),
    }


def run_failure_hook(
    command: str,
    report: RunReport,
    *,
    timeout: float = HOOK_TIMEOUT,
    environ: Mapping[str, str] | None = None,
) -> int | None:
    """Run `command` for the failed run `report`; its exit status, or None if it could not run.

    Never raises: a broken alert must not take the scheduler down with it.
    """
    env = {**(os.environ if environ is None else environ), **failure_environment(report)}
    try:
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        logger.error(
            "schedule %s: --on-failure command killed after %.0f s", report.schedule, timeout
        )
        return None
    except OSError as error:
        logger.error("schedule %s: --on-failure command could not run: %s", report.schedule, error)
        return None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip().splitlines()
        logger.error(
            "schedule %s: --on-failure command exited with %d%s",
            report.schedule,
            done.returncode,
            f": {output[-1][:300]}" if output else "",
        )
    else:
        logger.info("schedule %s: --on-failure command ran", report.schedule)
    return done.returncode
