"""Scheduler: per-schedule crawl settings, max runtime and next fire time; `skipped` runs.

A fire of a schedule whose previous run is still going is recorded as a `crawl_runs` row with
status `skipped`, so the status check constraint gains that value (SQLite rebuilds the table in
batch mode). Schedules gain the Scrapy settings their runs use, an optional run time limit, and
the next fire time the running service writes back for `archiver schedule list`.

Revision ID: 0002_scheduler
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_scheduler"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATUSES = "status IN ('running', 'finished', 'failed', 'interrupted')"
_NEW_STATUSES = "status IN ('running', 'finished', 'failed', 'interrupted', 'skipped')"


def upgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settings", sa.JSON(), server_default="{}", nullable=False))
        batch_op.add_column(sa.Column("max_runtime_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_fire_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crawl_runs_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crawl_runs_status"), _NEW_STATUSES)


def downgrade() -> None:
    # Skipped fires are a record of the scheduler only; the old schema cannot hold them.
    op.execute("DELETE FROM crawl_runs WHERE status = 'skipped'")
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crawl_runs_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crawl_runs_status"), _OLD_STATUSES)

    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_column("next_fire_at")
        batch_op.drop_column("max_runtime_seconds")
        batch_op.drop_column("settings")
