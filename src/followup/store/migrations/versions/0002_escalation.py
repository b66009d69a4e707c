"""Escalation: ladder identity and next escalation time on projects, the notification outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from followup.store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PENDING = sa.text("status IN ('pending', 'sending')")
DUE = sa.text("next_escalation_at IS NOT NULL")
DIGEST = sa.text("kind = 'digest'")


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("stage_seq", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("deadline_version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("level", sa.String(20), nullable=True))
        batch.add_column(sa.Column("next_escalation_at", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_projects_next_escalation_at",
        "projects",
        ["next_escalation_at"],
        sqlite_where=DUE,
        postgresql_where=DUE,
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("stage_seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("round", sa.String(40), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("repeat_no", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name="fk_notifications_project_id_projects"),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["officials.id"], name="fk_notifications_recipient_id_officials"
        ),
        sa.UniqueConstraint(
            "project_id",
            "stage_seq",
            "kind",
            "round",
            "level",
            "repeat_no",
            "recipient_id",
            name="uq_notifications_identity",
        ),
    )
    op.create_index(
        "ix_notifications_pending",
        "notifications",
        ["next_attempt_at"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index(
        "uq_notifications_digest",
        "notifications",
        ["recipient_id", "round"],
        unique=True,
        sqlite_where=DIGEST,
        postgresql_where=DIGEST,
    )


def downgrade() -> None:
    op.drop_index("uq_notifications_digest", table_name="notifications")
    op.drop_index("ix_notifications_pending", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_projects_next_escalation_at", table_name="projects")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("next_escalation_at")
        batch.drop_column("level")
        batch.drop_column("deadline_version")
        batch.drop_column("stage_seq")
