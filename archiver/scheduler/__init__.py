"""Scheduled crawls: schedules kept in the database, and the service that fires them.

- `archiver.scheduler.schedules`: parsing and validation (`6h`, cron, time zones, spiders) and
  the `schedules` table (add, list, pause, resume, remove). Pure apart from the table functions.
- `archiver.scheduler.runner`: one run of a schedule in a child process (`archiver.crawl`), and
  the record it leaves in `crawl_runs`, whatever happens to the child.
- `archiver.scheduler.lock`: one service per database (PostgreSQL advisory lock, lock file).
- `archiver.scheduler.service`: the long-lived `archiver scheduler` (APScheduler 3.x).
"""
