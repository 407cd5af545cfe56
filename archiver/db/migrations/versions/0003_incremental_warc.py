"""Incremental crawls, raw page archive and selector health (issue 8).

- `warc_pages`: where each fetched listing page lies in the WARC files (file, offset, length),
  by run, so `archiver reparse` can read a run's pages back without the network;
- `listing_validators`: the ETag / Last-Modified of each listing URL (conditional requests);
- `releases.first_warc_record` / `last_warc_record`: the archived page a release came from;
- `crawl_runs.cards_per_page` / `health`: selector health of each run.

Revision ID: 0003_incremental_warc
Revises: 0002_scheduler
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_incremental_warc"
down_revision: str | Sequence[str] | None = "0002_scheduler"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warc_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("facet", sa.String(length=200), nullable=True),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("warc_file", sa.Text(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("payload_digest", sa.String(length=100), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_warc_pages_run_id_crawl_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warc_pages")),
        sa.UniqueConstraint("record_id", name=op.f("uq_warc_pages_record_id")),
    )
    with op.batch_alter_table("warc_pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warc_pages_fetched_at"), ["fetched_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_warc_pages_run_id"), ["run_id"], unique=False)

    op.create_table(
        "listing_validators",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_listing_validators_run_id_crawl_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_listing_validators")),
    )

    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_warc_record", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("last_warc_record", sa.String(length=100), nullable=True))

    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cards_per_page", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("health", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_column("health")
        batch_op.drop_column("cards_per_page")

    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_column("last_warc_record")
        batch_op.drop_column("first_warc_record")

    op.drop_table("listing_validators")
    with op.batch_alter_table("warc_pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warc_pages_run_id"))
        batch_op.drop_index(batch_op.f("ix_warc_pages_fetched_at"))
    op.drop_table("warc_pages")
