"""Completeness: partial runs, listing coverage (gaps that heal), one quarantine row per card.

- `crawl_runs.status` gains `partial` (listing pages the run could not read); `finish_reason`
  holds the outcome's whole message (TEXT); `missed_pages` lists the pages and why.
- `listing_coverage`: per source and facet, whether a run ever read the listing to its end, and
  the gap a later run left (the next crawl reads to the end until it is healed).
- `invalid_items`: one row per refused card (`identity`), with first and last seen, the runs and
  a count; rows kept before this migration are merged by the same identity.

Revision ID: 0004_completeness
Revises: 0003_incremental_warc
Create Date: 2026-12-03
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_completeness"
down_revision: str | Sequence[str] | None = "0003_incremental_warc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATUSES = "status IN ('running', 'finished', 'failed', 'interrupted', 'skipped')"
_NEW_STATUSES = "status IN ('running', 'finished', 'partial', 'failed', 'interrupted', 'skipped')"


def _identity(source: str, url: str | None, raw: dict) -> str:
    # Frozen here as archiver.items.QuarantinedItem.identity_hash was when this was written.
    fields = raw.get("raw", raw) if isinstance(raw, dict) else {}
    parts = [source, url or "", fields.get("title_raw") or "", fields.get("date_raw") or ""]
    if not url:
        parts.append(fields.get("summary_raw") or "")
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_crawl_runs_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crawl_runs_status"), _NEW_STATUSES)
        batch_op.alter_column(
            "finish_reason",
            existing_type=sa.String(length=100),
            type_=sa.Text(),
            existing_nullable=True,
        )
        batch_op.add_column(sa.Column("missed_pages", sa.JSON(), nullable=True))

    op.create_table(
        "listing_coverage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("facet", sa.String(length=200), nullable=False),
        sa.Column("ever_complete", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("complete_run_id", sa.Integer(), nullable=True),
        sa.Column("gap_from_page", sa.Integer(), nullable=True),
        sa.Column("gap_reason", sa.Text(), nullable=True),
        sa.Column("gap_run_id", sa.Integer(), nullable=True),
        sa.Column("open_run_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complete_run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_listing_coverage_complete_run_id_crawl_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["gap_run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_listing_coverage_gap_run_id_crawl_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["open_run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_listing_coverage_open_run_id_crawl_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_coverage")),
        sa.UniqueConstraint("source", "facet", name=op.f("uq_listing_coverage_source_facet")),
    )

    with op.batch_alter_table("invalid_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("times_seen", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.alter_column(
            "created_at",
            new_column_name="first_seen_at",
            existing_type=sa.DateTime(timezone=True),
            existing_nullable=False,
        )
    _merge_refusals()
    with op.batch_alter_table("invalid_items", schema=None) as batch_op:
        batch_op.alter_column("identity", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column(
            "last_seen_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_unique_constraint(op.f("uq_invalid_items_identity"), ["identity"])
        batch_op.create_foreign_key(
            op.f("fk_invalid_items_last_run_id_crawl_runs"),
            "crawl_runs",
            ["last_run_id"],
            ["id"],
            ondelete="SET NULL",
        )


def _merge_refusals() -> None:
    """Give every kept refusal its identity, then keep one row per identity with the count."""
    connection = op.get_bind()
    items = sa.table(
        "invalid_items",
        sa.column("id", sa.Integer()),
        sa.column("source", sa.String()),
        sa.column("url", sa.Text()),
        sa.column("raw", sa.JSON()),
        sa.column("run_id", sa.Integer()),
        sa.column("first_seen_at", sa.DateTime(timezone=True)),
        sa.column("identity", sa.String()),
        sa.column("last_run_id", sa.Integer()),
        sa.column("last_seen_at", sa.DateTime(timezone=True)),
        sa.column("times_seen", sa.Integer()),
    )
    rows = connection.execute(
        sa.select(
            items.c.id,
            items.c.source,
            items.c.url,
            items.c.raw,
            items.c.run_id,
            items.c.first_seen_at,
        ).order_by(items.c.id)
    ).all()
    kept: dict[str, dict] = {}
    for row in rows:
        identity = _identity(row.source, row.url, row.raw or {})
        if identity not in kept:
            kept[identity] = {
                "id": row.id,
                "last_run_id": row.run_id,
                "last_seen_at": row.first_seen_at,
                "times_seen": 1,
                "drop": [],
            }
            continue
        entry = kept[identity]
        entry["drop"].append(row.id)
        entry["times_seen"] += 1
        entry["last_run_id"] = row.run_id
        entry["last_seen_at"] = row.first_seen_at
    for identity, entry in kept.items():
        connection.execute(
            items.update()
            .where(items.c.id == entry["id"])
            .values(
                identity=identity,
                last_run_id=entry["last_run_id"],
                last_seen_at=entry["last_seen_at"],
                times_seen=entry["times_seen"],
            )
        )
        if entry["drop"]:
            connection.execute(items.delete().where(items.c.id.in_(entry["drop"])))


def downgrade() -> None:
    with op.batch_alter_table("invalid_items", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_invalid_items_last_run_id_crawl_runs"), type_="foreignkey"
        )
        batch_op.drop_constraint(op.f("uq_invalid_items_identity"), type_="unique")
        batch_op.alter_column(
            "first_seen_at",
            new_column_name="created_at",
            existing_type=sa.DateTime(timezone=True),
            existing_nullable=False,
        )
        batch_op.drop_column("times_seen")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("last_run_id")
        batch_op.drop_column("identity")

    op.drop_table("listing_coverage")

    # Partial runs become failed ones: the old schema has no word for them.
    op.execute("UPDATE crawl_runs SET status = 'failed' WHERE status = 'partial'")
    op.execute("UPDATE crawl_runs SET finish_reason = substr(finish_reason, 1, 100)")
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_column("missed_pages")
        batch_op.alter_column(
            "finish_reason",
            existing_type=sa.Text(),
            type_=sa.String(length=100),
            existing_nullable=True,
        )
        batch_op.drop_constraint(op.f("ck_crawl_runs_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_crawl_runs_status"), _OLD_STATUSES)
