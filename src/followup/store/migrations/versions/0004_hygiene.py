"""Hygiene: a project entered by mistake can be voided (``projects.voided_at``), and every line of
history records who typed it (``project_events.entered_by``, 录入人).

A project on hold now climbs a ladder once its hold runs out (暂缓到期): a project held before this
revision had no next look (the sweep never saw it), so it is given one now; the next sweep reschedules it.

Both columns are added in place (nullable, no default): the history's triggers stay as they are (a
batch rebuild of ``project_events`` on SQLite would have to drop and recreate them), and the lines
written before keep NULL — nobody recorded who typed them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("project_events", sa.Column("entered_by", sa.String(64), nullable=True))
    op.execute(
        "UPDATE projects SET next_escalation_at = CURRENT_TIMESTAMP "
        "WHERE stage = 'on_hold' AND hold_until IS NOT NULL AND next_escalation_at IS NULL"
    )


def downgrade() -> None:
    # SQLite (3.35+) drops a plain column in place, so the triggers on project_events survive.
    op.drop_column("project_events", "entered_by")
    op.drop_column("projects", "voided_at")
