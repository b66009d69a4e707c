"""Delivery robustness: a random nonce per notification (Message-IDs), claim tokens, deferrals (connection
failures cost no attempt), the ``unknown`` status in the pending index; on SQLite, history refuses an
INSERT OR REPLACE over an existing line.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WAITING = sa.text("status IN ('pending', 'sending', 'unknown')")
PENDING = sa.text("status IN ('pending', 'sending')")
#: 32 random hex digits, drawn by the database for every row (old rows included)
NONCE = {
    "sqlite": sa.text("(lower(hex(randomblob(16))))"),
    "postgresql": sa.text("replace(gen_random_uuid()::text, '-', '')"),
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_notifications_pending", table_name="notifications")
    # SQLite cannot ADD COLUMN with an expression as its default: the table is rebuilt (batch mode
    # copies the rows, each drawing its own nonce). PostgreSQL evaluates the volatile default per row.
    with op.batch_alter_table("notifications", recreate="always" if dialect == "sqlite" else "auto") as batch:
        batch.add_column(sa.Column("deferrals", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("nonce", sa.String(32), nullable=False, server_default=NONCE[dialect]))
        batch.add_column(sa.Column("claim_token", sa.String(32), nullable=True))
    op.create_index(
        "ix_notifications_pending",
        "notifications",
        ["next_attempt_at"],
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )
    if dialect == "sqlite":
        # INSERT OR REPLACE deletes the old line without firing the delete trigger (SQLite's recursive
        # triggers are off): refuse any insert whose id is taken. PostgreSQL has no such statement; its
        # INSERT ... ON CONFLICT DO UPDATE fires the update trigger of 0001.
        op.execute(
            "CREATE TRIGGER project_events_no_replace BEFORE INSERT ON project_events "
            "WHEN EXISTS (SELECT 1 FROM project_events WHERE id = NEW.id) "
            "BEGIN SELECT RAISE(ABORT, 'project history is append-only'); END"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS project_events_no_replace")
    op.drop_index("ix_notifications_pending", table_name="notifications")
    op.execute("UPDATE notifications SET status = 'pending' WHERE status = 'unknown'")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("claim_token")
        batch.drop_column("nonce")
        batch.drop_column("deferrals")
    op.create_index(
        "ix_notifications_pending",
        "notifications",
        ["next_attempt_at"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
