"""The ledger comes in, the reports go out (issue 9): a project's own number (项目编号, what a re-imported
ledger is matched by), its industry-chain link (产业链环节) and remarks (备注); the problem list (问题清单),
numbered 督办 notices and their replies, and reporting rounds (调度) with their reports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from followup.store.models import Hundredths, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place (no batch rebuild of projects on SQLite, which would lose the partial index of 0002).
    op.add_column("projects", sa.Column("chain_link", sa.String(100), nullable=True))
    op.add_column("projects", sa.Column("code", sa.String(64), nullable=True))
    op.add_column("projects", sa.Column("remarks", sa.Text(), nullable=True))
    op.create_index("uq_projects_code", "projects", ["code"], unique=True)
    op.add_column("officials", sa.Column("aliases", sa.JSON(), nullable=True))
    # A notification with no project (a bulletin, a unit's overdue round report) is unique by the rest of
    # its identity: the identity index treats NULL project ids as all different.
    no_project = sa.text("project_id IS NULL")
    op.create_index(
        "uq_notifications_no_project",
        "notifications",
        ["kind", "round", "level", "repeat_no", "recipient_id"],
        unique=True,
        sqlite_where=no_project,
        postgresql_where=no_project,
    )
    op.create_table(
        "problems",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("owner_unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), sa.ForeignKey("officials.id"), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), sa.ForeignKey("officials.id"), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("entered_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_problems_project_id", "problems", ["project_id"])
    op.create_index("ix_problems_due_on", "problems", ["due_on"])
    op.create_table(
        "supervision_notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("stage_seq", sa.Integer(), nullable=False),
        sa.Column("round", sa.String(40), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("reply_due", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("replied_at", UTCDateTime(), nullable=True),
        sa.Column("reply_by_id", sa.Integer(), sa.ForeignKey("officials.id"), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.UniqueConstraint("year", "number", name="uq_supervision_notices_number"),
        sa.UniqueConstraint(
            "project_id", "stage_seq", "round", "level", name="uq_supervision_notices_ladder"
        ),
    )
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period", sa.String(20), nullable=False, unique=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("units", sa.JSON(), nullable=True),
        sa.Column("opened_by_id", sa.Integer(), sa.ForeignKey("officials.id"), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "round_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=True),
        sa.Column("next_step", sa.Text(), nullable=True),
        sa.Column("funds", Hundredths(), nullable=True),
        sa.Column("reported_at", UTCDateTime(), nullable=False),
        sa.Column("by_id", sa.Integer(), sa.ForeignKey("officials.id"), nullable=True),
        sa.Column("entered_by", sa.String(64), nullable=True),
        sa.UniqueConstraint("round_id", "project_id", name="uq_round_reports_project"),
    )


def downgrade() -> None:
    op.drop_table("round_reports")
    op.drop_table("rounds")
    op.drop_table("supervision_notices")
    op.drop_index("ix_problems_due_on", "problems")
    op.drop_index("ix_problems_project_id", "problems")
    op.drop_table("problems")
    op.drop_index("uq_notifications_no_project", table_name="notifications")
    op.drop_column("officials", "aliases")
    op.drop_index("uq_projects_code", "projects")
    op.drop_column("projects", "remarks")
    op.drop_column("projects", "code")
    op.drop_column("projects", "chain_link")
