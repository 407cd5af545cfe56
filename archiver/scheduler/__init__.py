"""Scheduled crawls: schedules kept in the database, and the service that fires them.

- `archiver.scheduler.schedules`: checking schedules (`6h`, cron, time zones, spiders) and
  their APScheduler triggers; the table itself is `archiver.db.schedules`.
- `archiver.scheduler.runner`: one run of a schedule in a child process
  (`archiver.process.crawl`), and the record it leaves in `crawl_runs`, whatever happens.
- `archiver.scheduler.lock`: one service per database (PostgreSQL advisory lock, lock file).
- `archiver.scheduler.hooks`: the `--on-failure` command.
- `archiver.scheduler.notify`: `--notify` messages through Apprise (runs to look at, new releases).
- `archiver.scheduler.service`: the long-lived `archiver scheduler` (APScheduler 3.x).
"""
