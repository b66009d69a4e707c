"""The store on both backends (a real SQLite file and a real PostgreSQL schema): the migrations create
exactly the models, ``init`` is idempotent, history is append-only (database triggers), the escalation
indexes are partial, a county on the first release upgrades without losing its ledger, and a stale write
is refused rather than lost (the version column).

Two real processes racing on one project are in ``tests/e2e/test_races.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from followup.app import escalation, ledger, moves, organisation
from followup.app.ledger import ProjectInput
from followup.app.moves import Move
from followup.app.runtime import Runtime
from followup.store.db import MIGRATIONS, SCHEMA_REVISION, normalise_url
from followup.store.models import Base
from tests.helpers import make_runtime, snapshot


def test_schema_revision_is_the_migrations_head() -> None:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_migrations_create_exactly_the_models(rt: Runtime) -> None:
    engine = create_engine(normalise_url(rt.settings.database_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diffs == []


def test_init_is_idempotent_and_keeps_data(county: Runtime, tmp_path: Path) -> None:
    before = snapshot(county.settings.database_url)
    county.init()
    again = make_runtime(county.settings.database_url, tmp_path)
    assert snapshot(county.settings.database_url) == before
    assert [u.key for u in organisation.list_units(again)] == ["bureau", "chengguan"]
    again.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE project_events SET note = 'rewritten'",
        "DELETE FROM project_events",
        "UPDATE project_events SET to_stage = 'production' WHERE kind = 'move'",
    ],
)
def test_history_cannot_be_edited(county: Runtime, statement: str) -> None:
    view = ledger.add_project(county, ProjectInput(name="乳品加工", officer="lina", unit="chengguan"))
    moves.advance(county, Move(view.id, "talks", by="lina", values={"investor": "伊禾"}))
    before = [e.to_dict() for e in ledger.history(county, view.id)]
    engine = create_engine(normalise_url(county.settings.database_url))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()
    assert [e.to_dict() for e in ledger.history(county, view.id)] == before


@pytest.mark.postgres
def test_history_cannot_be_truncated_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    rt = make_runtime(pg_url, tmp_path)
    engine = create_engine(pg_url)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE project_events CASCADE"))  # attachments refer to it
    engine.dispose()
    rt.close()


def test_a_stale_write_is_refused_not_lost(in_talks: Runtime) -> None:
    """The version column: a write based on a read that someone else has since overtaken fails."""
    from followup.errors import ConcurrentUpdate
    from followup.store.models import Project

    with pytest.raises(ConcurrentUpdate), in_talks.store.reading() as session:
        stale = session.get(Project, 1)
        assert stale is not None and stale.version == 1
        moves.advance(in_talks, Move(1, "lead", by="lina"))  # another writer, committed meanwhile
        stale.stage = "signing"
    project = ledger.get_project(in_talks, 1).to_dict()
    assert (project["stage"], project["version"]) == ("lead", 2)


def test_the_escalation_indexes_are_partial(rt: Runtime) -> None:
    """Declared in the migrations (not in the models): only pending rows, one digest per week, one
    notification without a project per identity."""
    engine = create_engine(normalise_url(rt.settings.database_url))
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
        else:
            # this test's own schema: the other tests' schemas come and go meanwhile
            query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            found = dict(conn.execute(text(query)).all())
    engine.dispose()
    assert "next_escalation_at IS NOT NULL" in found["ix_projects_next_escalation_at"].split("WHERE", 1)[1]
    assert "pending" in found["ix_notifications_pending"].split("WHERE", 1)[1]
    assert "digest" in found["uq_notifications_digest"].split("WHERE", 1)[1]
    assert "project_id IS NULL" in found["uq_notifications_no_project"].split("WHERE", 1)[1]  # 0005


def test_upgrading_from_0001_keeps_the_ledger(db_url: str, tmp_path: Path) -> None:
    """A county that ran the first release upgrades with `followup init` and loses nothing."""
    from alembic import command
    from alembic.config import Config

    url = normalise_url(db_url)
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO units (id, key, name, kind, active, created_at) "
                "VALUES (1, 'u1', '城关镇', 'township', true, '2026-05-01 02:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO officials (id, key, name, email, unit_id, is_head, active, created_at) "
                "VALUES (1, 'lina', '李娜', 'lina@example.gov.cn', 1, false, true, '2026-05-01 02:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO projects (id, name, workflow, stage, stage_since, deadline, officer_id, "
                "unit_id, investor, last_activity_at, created_at, updated_at, version) "
                "VALUES (1, '伊禾乳制品', 'investment', 'talks', '2026-05-01 00:00:00', "
                "'2026-07-30', 1, 1, '伊禾', "
                "'2026-05-01 00:00:00', '2026-05-01 02:00:00', '2026-05-01 02:00:00', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO project_events (project_id, kind, at, recorded_at, from_stage, to_stage) "
                "VALUES (1, 'created', '2026-05-01 00:00:00', '2026-05-01 02:00:00', NULL, 'talks')"
            )
        )
        conn.execute(  # held under the first release: no ladder for a hold that runs out then
            text(
                "INSERT INTO projects (id, name, workflow, stage, stage_since, officer_id, unit_id, "
                "held_stage, hold_until, hold_reason, last_activity_at, created_at, updated_at, version) "
                "VALUES (2, '冷链物流', 'investment', 'on_hold', '2026-05-01 00:00:00', 1, 1, 'lead', "
                "'2026-05-20', '资金调整', '2026-05-01 00:00:00', '2026-05-01 02:00:00', "
                "'2026-05-01 02:00:00', 1)"
            )
        )
    engine.dispose()
    rt = make_runtime(db_url, tmp_path)  # `followup init`: upgrades to the head
    project = ledger.get_project(rt, 1).to_dict()
    assert (project["name"], project["stage"], project["deadline"], project["investor"]) == (
        "伊禾乳制品",
        "talks",
        "2026-07-30",
        "伊禾",
    )
    assert (project["deadline_version"], project["version"]) == (1, 1)
    assert [e.kind for e in ledger.history(rt, 1)] == ["created"]
    # the hold that ran out gets a next look, so the sweep puts it on its ladder (暂缓到期)
    assert ledger.get_project(rt, 2).next_escalation_at is not None
    upgraded = rt.at(datetime.now(UTC))  # the upgrade happens in real time, not in the test's 2026-06-01
    assert escalation.sweep(upgraded).looked_at >= 1
    assert ledger.get_project(upgraded, 2).level is not None
    moves.advance(rt, Move(1, "signing", by="lina", values={"amount": "5000"}))  # the new columns work
    assert ledger.get_project(rt, 1).to_dict()["stage"] == "signing"
    rt.close()
