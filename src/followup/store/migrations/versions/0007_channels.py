"""Where officials already are (issue 11): group robots of the work chats (政务钉钉, 企业微信, 飞书) per
unit, the chat outbox, and each official's chat identity (mobile, user id) and choice of channel.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from followup.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("officials", sa.Column("mobile", sa.String(32), nullable=True))
    op.add_column("officials", sa.Column("chat_user_id", sa.String(64), nullable=True))
    op.add_column("officials", sa.Column("notify", sa.String(8), nullable=True))
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("webhook", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(300), nullable=True),
        sa.Column("mention_by", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_channels_unit", "channels", ["unit_id"])
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("stage_seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("round", sa.String(40), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("repeat_no", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), sa.ForeignKey("channels.id"), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint(
            "project_id",
            "stage_seq",
            "kind",
            "round",
            "level",
            "repeat_no",
            "channel_id",
            name="uq_chat_messages_identity",
        ),
    )
    op.create_index("ix_chat_messages_due", "chat_messages", ["status", "next_attempt_at"])
    op.create_index("ix_chat_messages_sent", "chat_messages", ["channel_id", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_chat_messages_sent", "chat_messages")
    op.drop_index("ix_chat_messages_due", "chat_messages")
    op.drop_table("chat_messages")
    op.drop_index("ix_channels_unit", "channels")
    op.drop_table("channels")
    with op.batch_alter_table("officials") as batch:
        batch.drop_column("notify")
        batch.drop_column("chat_user_id")
        batch.drop_column("mobile")
