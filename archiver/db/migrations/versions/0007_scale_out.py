"""Scale-out: the Scrapyd node and job of every run a dispatcher sent to a node.

- `crawl_runs.node`: the Scrapyd node's URL (without credentials) the run was sent to;
- `crawl_runs.job_id`: the Scrapyd job id (the dispatcher chose it: `<schedule>.<hex>`), indexed,
  so the dispatcher finds the row the crawl opened for its job.

Both are NULL for runs started here (`archiver crawl`, the scheduler without `--scrapyd`).

Revision ID: 0007_scale_out
Revises: 0006_release_texts
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_scale_out"
down_revision: str | Sequence[str] | None = "0006_release_texts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch_op:
        batch_op.add_column(sa.Column("node", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("job_id", sa.String(length=150), nullable=True))
        batch_op.create_index("ix_crawl_runs_job_id", ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch_op:
        batch_op.drop_index("ix_crawl_runs_job_id")
        batch_op.drop_column("job_id")
        batch_op.drop_column("node")
