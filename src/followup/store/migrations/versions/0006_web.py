"""Officials act from their inbox (issue 10): the web app's sign-in links and sessions (kept as digests),
extension and hold requests waiting for approval (审批), and evidence attached to history (以图为证).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from followup.store.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("purpose", sa.String(12), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("official_id", sa.Integer(), sa.ForeignKey("officials.id"), nullable=False),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_web_tokens_official", "web_tokens", ["official_id", "purpose", "created_at"])
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("stage_seq", sa.Integer(), nullable=False),
        sa.Column("deadline_version", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("officials.id"), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("officials.id"), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
    )
    op.create_index("ix_approval_requests_project", "approval_requests", ["project_id", "status"])
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("project_events.id"), nullable=True),
        sa.Column("problem_id", sa.Integer(), sa.ForeignKey("problems.id"), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), sa.ForeignKey("officials.id"), nullable=True),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_attachments_project", "attachments", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_project", "attachments")
    op.drop_table("attachments")
    op.drop_index("ix_approval_requests_project", "approval_requests")
    op.drop_table("approval_requests")
    op.drop_index("ix_web_tokens_official", "web_tokens")
    op.drop_table("web_tokens")
