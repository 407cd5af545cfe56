"""Full text: what each release's own page says, its earlier texts, and full-text search.

- `release_texts`: one row per release whose page was read (or tried): headline, body, dates,
  contact, tags, attachments, canonical URL, language, the extractor of each field, the
  disagreements with the listing, conditional-request validators, `gone` with its date;
- `release_text_versions`: a page's text before an edit;
- `warc_pages.kind` / `release_id`: release pages are archived beside listing pages;
- the search index (`archiver.db.search`): FTS5 on SQLite, a `tsvector` with a GIN index on
  PostgreSQL, kept current by triggers, filled from the releases already stored.

Revision ID: 0006_release_texts
Revises: 0005_structure_share
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from archiver.db.search import install_search, remove_search

revision: str = "0006_release_texts"
down_revision: str | Sequence[str] | None = "0005_structure_share"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "release_texts",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("headline", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("published_raw", sa.String(length=64), nullable=True),
        sa.Column("page_published_on", sa.Date(), nullable=True),
        sa.Column("modified_raw", sa.String(length=64), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=True),
        sa.Column("canonical_url", sa.Text(), nullable=True),
        sa.Column("moved_to", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=True),
        sa.Column("disagreements", sa.JSON(), nullable=True),
        sa.Column("text_hash", sa.String(length=64), nullable=True),
        sa.Column("listing_hash", sa.String(length=64), nullable=True),
        sa.Column("first_enriched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("text_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("warc_record", sa.String(length=100), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('enriched', 'failed', 'gone')", name=op.f("ck_release_texts_status")
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_texts_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_release_texts_run_id_crawl_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("release_id", name=op.f("pk_release_texts")),
    )
    with op.batch_alter_table("release_texts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_release_texts_status"), ["status"], unique=False)

    op.create_table(
        "release_text_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("headline", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("published_raw", sa.String(length=64), nullable=True),
        sa.Column("modified_raw", sa.String(length=64), nullable=True),
        sa.Column("text_hash", sa.String(length=64), nullable=True),
        sa.Column("seen_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_text_versions_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_release_text_versions_replaced_run_id_crawl_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_text_versions")),
    )
    with op.batch_alter_table("release_text_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_release_text_versions_release_id"), ["release_id"], unique=False
        )

    with op.batch_alter_table("warc_pages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="listing", nullable=False)
        )
        batch_op.add_column(sa.Column("release_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_warc_pages_release_id_releases"),
            "releases",
            ["release_id"],
            ["id"],
            ondelete="SET NULL",
        )

    install_search(op.get_bind())


def downgrade() -> None:
    remove_search(op.get_bind())
    with op.batch_alter_table("warc_pages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_warc_pages_release_id_releases"), type_="foreignkey"
        )
        batch_op.drop_column("release_id")
        batch_op.drop_column("kind")
    with op.batch_alter_table("release_text_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_text_versions_release_id"))
    op.drop_table("release_text_versions")
    with op.batch_alter_table("release_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_texts_status"))
    op.drop_table("release_texts")
