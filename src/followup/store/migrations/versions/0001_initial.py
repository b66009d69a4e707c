"""The lifecycle core: units, officials and their roles, projects, the append-only history.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from followup.store.models import Hundredths, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_units"),
        sa.UniqueConstraint("key", name="uq_units_key"),
    )
    op.create_table(
        "officials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("is_head", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("left_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_officials"),
        sa.UniqueConstraint("key", name="uq_officials_key"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_officials_unit_id_units"),
    )
    op.create_table(
        "official_roles",
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("official_id", "role", name="pk_official_roles"),
        sa.ForeignKeyConstraint(
            ["official_id"], ["officials.id"], name="fk_official_roles_official_id_officials"
        ),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("workflow", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("stage_since", UTCDateTime(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("investor", sa.String(300), nullable=True),
        sa.Column("investor_contact", sa.String(300), nullable=True),
        sa.Column("amount", Hundredths(), nullable=True),
        sa.Column("funds_in_place", Hundredths(), nullable=True),
        sa.Column("chain", sa.String(100), nullable=True),
        sa.Column("land", Hundredths(), nullable=True),
        sa.Column("source", sa.String(300), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("contract_start", sa.Date(), nullable=True),
        sa.Column("contract_production", sa.Date(), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("production_on", sa.Date(), nullable=True),
        sa.Column("held_stage", sa.String(64), nullable=True),
        sa.Column("held_since", UTCDateTime(), nullable=True),
        sa.Column("held_deadline", sa.Date(), nullable=True),
        sa.Column("hold_until", sa.Date(), nullable=True),
        sa.Column("hold_reason", sa.Text(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("last_activity_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
        sa.ForeignKeyConstraint(["officer_id"], ["officials.id"], name="fk_projects_officer_id_officials"),
        sa.ForeignKeyConstraint(["leader_id"], ["officials.id"], name="fk_projects_leader_id_officials"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_projects_unit_id_units"),
    )
    op.create_index("ix_projects_stage", "projects", ["stage"])
    op.create_index("ix_projects_unit_id", "projects", ["unit_id"])
    op.create_index("ix_projects_officer_id", "projects", ["officer_id"])
    op.create_table(
        "project_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("from_stage", sa.String(64), nullable=True),
        sa.Column("to_stage", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_project_events"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_project_events_project_id_projects"
        ),
        sa.ForeignKeyConstraint(["by_id"], ["officials.id"], name="fk_project_events_by_id_officials"),
    )
    op.create_index("ix_project_events_project_id", "project_events", ["project_id", "id"])

    # History is append-only: the database itself refuses to change or remove a line of it.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER project_events_no_{verb.lower()} BEFORE {verb} ON project_events "
                "BEGIN SELECT RAISE(ABORT, 'project history is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION followup_history_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'project history is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER project_events_append_only BEFORE UPDATE OR DELETE ON project_events "
            "FOR EACH ROW EXECUTE FUNCTION followup_history_append_only()"
        )
        op.execute(
            "CREATE TRIGGER project_events_no_truncate BEFORE TRUNCATE ON project_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION followup_history_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS project_events_no_truncate ON project_events")
        op.execute("DROP TRIGGER IF EXISTS project_events_append_only ON project_events")
        op.execute("DROP FUNCTION IF EXISTS followup_history_append_only()")
    op.drop_table("project_events")
    op.drop_table("projects")
    op.drop_table("official_roles")
    op.drop_table("officials")
    op.drop_table("units")
