"""Resilient extraction: the share of fields each run found by structure instead of selectors.

- `crawl_runs.structure_share`: fields found by the structural rules / all fields found
  (archiver.extract); a rise against the previous run of the schedule is the `structure_jump`
  health flag, as cards per page are for `cards_drop`.

Revision ID: 0005_structure_share
Revises: 0004_completeness
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_structure_share"
down_revision: str | Sequence[str] | None = "0004_completeness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch_op:
        batch_op.add_column(sa.Column("structure_share", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch_op:
        batch_op.drop_column("structure_share")
