"""The store on both backends: migrations, append-only history, and two real processes racing."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from followup.db import MIGRATIONS, SCHEMA_REVISION, normalise_url
from followup.models import Base
from followup.service import Followup, ProjectInput
from tests.conftest import NOW, Cli, make_app, snapshot


def test_schema_revision_is_the_migrations_head() -> None:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_migrations_create_exactly_the_models(app: Followup) -> None:
    engine = create_engine(normalise_url(app.settings.database_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diffs == []


def test_init_is_idempotent_and_keeps_data(county: Followup, tmp_path: Path) -> None:
    before = snapshot(county.settings.database_url)
    county.init()
    again = make_app(county.settings.database_url, tmp_path)
    assert snapshot(county.settings.database_url) == before
    assert [u.key for u in again.list_units()] == ["bureau", "chengguan"]
    again.store.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE project_events SET note = 'rewritten'",
        "DELETE FROM project_events",
        "UPDATE project_events SET to_stage = 'production' WHERE kind = 'move'",
    ],
)
def test_history_cannot_be_edited(county: Followup, statement: str) -> None:
    view = county.add_project(
        ProjectInput(name="乳品加工", officer="lina", unit="chengguan"),
        stage=None,
        since=None,
        by=None,
        now=NOW,
    )
    county.advance(view.id, "talks", by="lina", values={"investor": "伊禾"}, now=NOW)
    before = [e.to_dict() for e in county.history(view.id)]
    engine = create_engine(normalise_url(county.settings.database_url))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()
    assert [e.to_dict() for e in county.history(view.id)] == before


@pytest.mark.postgres
def test_history_cannot_be_truncated_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    app = make_app(pg_url, tmp_path)
    engine = create_engine(pg_url)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE project_events"))
    engine.dispose()
    app.store.dispose()


# --------------------------------------------------------------------------- two processes, one project


def _hold_write_lock(url: str):  # type: ignore[no-untyped-def]
    """Block writers on the project row (PostgreSQL) or the whole file (SQLite) until released."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    conn = engine.connect()
    if url.startswith("sqlite"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("SELECT id FROM projects WHERE id = 1 FOR UPDATE")
    return engine, conn


def _waiting_on_locks(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'SELECT projects.id%'"  # the text is cut at 1 kB: no FOR UPDATE
            )
        ).scalar_one()
    engine.dispose()
    return int(count)


def _race(db_url: str, tmp_path: Path, commands: dict[str, list[str]]) -> dict[str, tuple[int, str, str]]:
    """Start both commands while a third party holds the write lock, wait until both are queued
    behind it, release it, and collect (exit code, stdout, stderr) of each."""
    run = Cli(db_url, tmp_path)
    url = normalise_url(db_url)
    engine, lock = _hold_write_lock(url)
    try:
        procs = {
            name: subprocess.Popen(
                [run.exe, *args, "--now", "2026-06-02T10:00+08:00"],
                env=run.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, args in commands.items()
        }
        if url.startswith("sqlite"):
            time.sleep(2.5)  # both have started and wait for the write lock (busy_timeout is 5 s)
        else:
            deadline = time.monotonic() + 30
            while _waiting_on_locks(url) < 2:
                assert time.monotonic() < deadline, "the two processes never both queued for the row"
                time.sleep(0.05)
        assert all(p.poll() is None for p in procs.values()), "a process did not wait for the lock"
    finally:
        lock.exec_driver_sql("ROLLBACK")
        lock.close()
        engine.dispose()
    return {name: (p.wait(60), *p.communicate()) for name, p in procs.items()}


@pytest.fixture
def in_talks(county: Followup) -> Followup:
    county.add_project(
        ProjectInput(name="乳品加工", officer="lina", unit="chengguan", values={"investor": "伊禾"}),
        stage="talks",
        since=None,
        by=None,
        now=NOW,
    )
    return county


def test_two_processes_making_the_same_move(in_talks: Followup, db_url: str, tmp_path: Path) -> None:
    """Both officials sign project 1 at the same moment: one move lands, the other is told why not."""
    results = _race(
        db_url,
        tmp_path,
        {
            "a": ["advance", "1", "signing", "--by", "lina", "--set", "amount=5000"],
            "b": ["advance", "1", "signing", "--by", "wangjun", "--set", "amount=6000"],
        },
    )
    winners = [name for name, (code, _, _) in results.items() if code == 0]
    assert len(winners) == 1, results
    loser = "b" if winners == ["a"] else "a"
    code, out, err = results[loser]
    assert (code, out) == (6, "")
    assert err == "error: the project is already in 签约 (signing)\n"
    project = in_talks.get_project(1)
    assert project["stage"] == "signing"
    assert project["amount"] == (5000 if winners == ["a"] else 6000)  # the loser's amount is not written
    assert project["version"] == 2
    moves = [(e.from_stage, e.to_stage, e.by["key"] if e.by else None) for e in in_talks.history(1)]
    assert moves[1:] == [("talks", "signing", "lina" if winners == ["a"] else "wangjun")]


def test_two_processes_making_different_moves(in_talks: Followup, db_url: str, tmp_path: Path) -> None:
    """One signs while the other puts it on hold: the second is checked against the first's result,
    so either both land in order (signed, then held) or the hold lands and signing is refused."""
    results = _race(
        db_url,
        tmp_path,
        {
            "sign": ["advance", "1", "signing", "--by", "lina", "--set", "amount=5000"],
            "hold": ["hold", "1", "--by", "wangjun", "--reason", "资金调整", "--until", "2026-12-01"],
        },
    )
    project = in_talks.get_project(1)
    moves = [(e.from_stage, e.to_stage) for e in in_talks.history(1) if e.kind == "move"]
    assert results["hold"][0] == 0, results
    if results["sign"][0] == 0:
        assert moves == [("talks", "signing"), ("signing", "on_hold")]
        assert project["held_stage"] == "signing" and project["amount"] == 5000
        assert project["version"] == 3
    else:
        code, out, err = results["sign"]
        assert (code, out) == (6, "")
        assert err.startswith("error: cannot move from 暂缓 (on_hold) to 签约 (signing); allowed: talks")
        assert moves == [("talks", "on_hold")]
        assert project["held_stage"] == "talks" and project["amount"] is None
        assert project["version"] == 2
    assert project["stage"] == "on_hold"


def test_a_stale_write_is_refused_not_lost(in_talks: Followup) -> None:
    """The version column: a write based on a read that someone else has since overtaken fails."""
    from followup.errors import ConcurrentUpdate
    from followup.models import Project

    with pytest.raises(ConcurrentUpdate), in_talks.store.reading() as session:
        stale = session.get(Project, 1)
        assert stale is not None and stale.version == 1
        in_talks.advance(1, "lead", by="lina", now=NOW)  # another writer, committed meanwhile
        stale.stage = "signing"
    project = in_talks.get_project(1)
    assert (project["stage"], project["version"]) == ("lead", 2)


def test_the_escalation_indexes_are_partial(app: Followup) -> None:
    """Declared in migration 0002 (not in the models): only pending rows, one digest per week."""
    engine = create_engine(normalise_url(app.settings.database_url))
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
        else:
            found = dict(conn.execute(text("SELECT indexname, indexdef FROM pg_indexes")).all())
    engine.dispose()
    assert "next_escalation_at IS NOT NULL" in found["ix_projects_next_escalation_at"].split("WHERE", 1)[1]
    assert "pending" in found["ix_notifications_pending"].split("WHERE", 1)[1]
    assert "digest" in found["uq_notifications_digest"].split("WHERE", 1)[1]


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
    engine.dispose()
    app = make_app(db_url, tmp_path)  # `followup init`: upgrades to the head
    project = app.get_project(1)
    assert (project["name"], project["stage"], project["deadline"], project["investor"]) == (
        "伊禾乳制品",
        "talks",
        "2026-07-30",
        "伊禾",
    )
    assert (project["deadline_version"], project["version"]) == (1, 1)
    assert [e.kind for e in app.history(1)] == ["created"]
    app.advance(1, "signing", by="lina", values={"amount": "5000"}, now=NOW)  # the new columns work
    assert app.get_project(1)["stage"] == "signing"
    app.store.dispose()
