"""Who may send and record what, on both databases (SQLite and PostgreSQL): claim leases by the database's
clock, claim tokens, a stop request in the middle of a batch, Message-IDs that no other database makes,
and a history that INSERT OR REPLACE cannot rewrite.

The use cases run in-process against a real aiosmtpd server; two senders are two runtimes (two engines)
in two threads, as two processes would be.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from followup.app import delivery, escalation
from followup.app.runtime import Runtime
from followup.store import queries
from followup.store.db import normalise_url
from tests.helpers import make_runtime
from tests.mailserver import MailServer, smtp_server_fixture  # noqa: F401
from tests.outbox_county import MONDAY, at, seeded


def sender(url: str, tmp_path: Path, server: MailServer | None = None, **settings: object) -> Runtime:
    """A runtime as a separate sender process would have it (its own engine), mail to ``server``."""
    mail = {"smtp_host": server.host, "smtp_port": server.port} if server else {}
    return make_runtime(url, tmp_path, now=at(MONDAY), **mail, **settings)


def rows(rt: Runtime) -> Counter[tuple[str, int]]:
    with rt.store.reading() as session:
        found = session.execute(text("SELECT status, attempts FROM notifications")).all()
    return Counter((status, attempts) for status, attempts in found)


def wait_for(condition: object, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


# --------------------------------------------------------------------------- clocks and claims


def test_two_senders_three_minutes_apart_deliver_each_message_once(
    db_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(db_url, tmp_path, officers=3, projects=3)
    first = sender(db_url, tmp_path, smtp_server)
    late = sender(db_url, tmp_path, smtp_server)
    try:
        assert escalation.sweep(first).queued == 12
        smtp_server.delay = 0.3  # each message takes a while: the first sender holds its claim meanwhile
        results: list[delivery.SendResult] = []
        worker = threading.Thread(target=lambda: results.append(delivery.send(first)))
        worker.start()
        wait_for(lambda: len(smtp_server.messages) >= 1, "the first sender's first message")
        # Another sender whose clock is 3 minutes ahead (its lease of 2 minutes looks expired to it):
        # the lease is counted by the database's clock, so it takes nothing.
        ahead = delivery.send(late.at(at(MONDAY) + timedelta(minutes=3)))
        worker.join(30)
        assert (ahead.sent, ahead.messages) == (0, 0)
        assert (results[0].sent, results[0].messages) == (12, 4)
        ids = Counter(str(m.message["Message-ID"]) for m in smtp_server.messages)
        assert len(ids) == 4 and set(ids.values()) == {1}
        assert rows(first) == Counter({("sent", 1): 12})
    finally:
        first.close()
        late.close()


def test_only_the_claim_holder_records(rt: Runtime, tmp_path: Path) -> None:
    seeded(rt.settings.database_url, tmp_path, officers=1, projects=1, head=False)
    assert escalation.sweep(rt.at(at(MONDAY))).queued == 2
    engine = create_engine(normalise_url(rt.settings.database_url))
    try:
        with engine.begin() as conn:
            old_token, ids = queries.claim(conn, at(MONDAY), 120, 10)
        assert len(ids) == 2
        with engine.begin() as conn:  # its sender stalled: the lease (by the database's clock) ran out
            conn.execute(
                text("UPDATE notifications SET claimed_at = :t"), {"t": at(MONDAY) - timedelta(days=1)}
            )
        with engine.begin() as conn:
            new_token, taken = queries.claim(conn, at(MONDAY), 120, 10)
        assert sorted(taken) == sorted(ids) and new_token != old_token
        with engine.begin() as conn:  # the first sender wakes up: nothing it records counts
            assert queries.renew_claim(conn, ids, old_token) == 0
            assert queries.mark_sent(conn, ids, old_token, "<x@y>", at(MONDAY)) == 0
            assert (
                queries.mark_failed_attempt(conn, ids, old_token, 1, "e", final=True, retry_at=at(MONDAY))
                == 0
            )
            assert queries.release(conn, ids, old_token) == 0
        with engine.begin() as conn:  # and a fresh claim does not steal rows whose lease is alive
            assert queries.claim(conn, at(MONDAY) + timedelta(hours=5), 120, 10)[1] == []
        with engine.begin() as conn:
            assert queries.mark_sent(conn, ids, new_token, "<x@y>", at(MONDAY)) == 2
    finally:
        engine.dispose()
    assert rows(rt) == Counter({("sent", 1): 2})


# --------------------------------------------------------------------------- stopping mid-batch


def test_a_stop_request_ends_the_batch_after_the_message_in_flight(
    sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=3, projects=3)
    rt = sender(sqlite_url, tmp_path, smtp_server)
    try:
        assert escalation.sweep(rt).queued == 12
        smtp_server.delay = 0.3
        stop = threading.Event()
        results: list[delivery.SendResult] = []
        worker = threading.Thread(target=lambda: results.append(delivery.send(rt, stop=stop)))
        worker.start()
        wait_for(lambda: len(smtp_server.messages) >= 1, "the first message")
        stop.set()  # as the daemon does on SIGTERM, while the first message waits for its "250"
        worker.join(30)
        [result] = results
        assert (result.messages, result.sent, result.retried, result.deferred) == (1, 2, 0, 0)
        assert len(smtp_server.messages) == 1
        # the message in flight was finished and recorded; the others were given back untouched
        assert rows(rt) == Counter({("sent", 1): 2, ("pending", 0): 10})
        smtp_server.delay = 0.0
        assert delivery.send(rt).sent == 10
    finally:
        rt.close()


# --------------------------------------------------------------------------- Message-IDs


def test_message_ids_come_from_random_nonces_and_stay_the_same_on_a_retry(
    tmp_path: Path, smtp_server: MailServer
) -> None:
    """Two databases with the same county and the same history (a test county and the real one, a
    restore): the same notifications, never the same Message-ID. A retry keeps its Message-ID."""
    sent: list[list[str]] = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name / 'followup.db'}"
        seeded(url, tmp_path / name, officers=1, projects=1, head=False)
        rt = sender(url, tmp_path / name, smtp_server, mail_from="followup@example.gov.cn")
        try:
            assert escalation.sweep(rt).queued == 2
            smtp_server.refuse_data["o00@example.gov.cn"] = "451 4.3.0 try again later"
            assert delivery.send(rt).retried == 2  # the server saw the data, then refused it
            smtp_server.refuse_data.clear()
            assert delivery.send(rt.at(at(MONDAY, "09:05"))).sent == 2
        finally:
            rt.close()
        sent.append([str(m.message["Message-ID"]) for m in smtp_server.messages])
        smtp_server.messages.clear()
    (a_first, a_retry), (b_first, b_retry) = sent
    assert a_first == a_retry and b_first == b_retry  # a retry is the same message
    assert a_first != b_first  # two databases: two different messages
    for message_id in (a_first, b_first):
        assert message_id.startswith("<followup.") and message_id.endswith("@example.gov.cn>")
        assert "n1" not in message_id  # nothing derived from row ids


# --------------------------------------------------------------------------- history


def test_history_cannot_be_rewritten_by_an_insert_over_an_existing_line(in_talks: Runtime) -> None:
    """SQLite: INSERT OR REPLACE deletes the old line without firing the delete trigger; a trigger of
    migration 0003 refuses it. PostgreSQL: INSERT ... ON CONFLICT DO UPDATE fires the update trigger."""
    engine = create_engine(normalise_url(in_talks.settings.database_url))
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT id, kind, note FROM project_events ORDER BY id")).all()
        statement = (
            "INSERT OR REPLACE INTO project_events (id, project_id, kind, at, recorded_at, note) "
            "SELECT id, project_id, kind, at, recorded_at, 'rewritten' FROM project_events"
            if engine.dialect.name == "sqlite"
            else "INSERT INTO project_events (id, project_id, kind, at, recorded_at, note) "
            "SELECT id, project_id, kind, at, recorded_at, 'rewritten' FROM project_events "
            "ON CONFLICT (id) DO UPDATE SET note = excluded.note"
        )
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, kind, note FROM project_events ORDER BY id")).all() == before
        with engine.begin() as conn:  # a new line is still welcome
            conn.execute(
                text(
                    "INSERT INTO project_events (project_id, kind, at, recorded_at, note) "
                    "SELECT project_id, 'followup', at, recorded_at, 'new' FROM project_events LIMIT 1"
                )
            )
    finally:
        engine.dispose()


def readme_grants() -> str:
    """The SQL block of README.md that sets up the application's own PostgreSQL role."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("```sql\n-- the application's role")
    return readme[start + len("```sql\n") : readme.index("```", start + 6)]


@pytest.mark.postgres
def test_the_documented_application_role_works_and_cannot_touch_the_history(
    pg_url: str, tmp_path: Path
) -> None:
    owner = make_runtime(pg_url, tmp_path)  # `followup init` as the owner
    owner.close()
    schema = pg_url.rsplit("%3D", 1)[1]
    role = f"followup_app_{schema.removeprefix('t_')}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            sql = readme_grants().replace("followup_app", role).replace("SCHEMA public", f'SCHEMA "{schema}"')
            sql = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(text(statement))
        app_url = pg_url.replace("postgres@", f"{role}@", 1)
        seeded(app_url, tmp_path / "app", officers=1, projects=1, head=False)  # writes, as the app
        app = sender(app_url, tmp_path / "app")
        try:
            assert escalation.sweep(app).queued == 2
            assert delivery.send(app).sent == 2  # into the maildir
        finally:
            app.close()
        engine = create_engine(app_url)
        try:
            for statement in (
                "DROP TRIGGER project_events_append_only ON project_events",
                "ALTER TABLE project_events DISABLE TRIGGER ALL",
                "TRUNCATE project_events",
                "DELETE FROM project_events",
            ):
                with (
                    pytest.raises(DBAPIError, match=r"must be owner|permission denied"),
                    engine.begin() as conn,
                ):
                    conn.execute(text(statement))
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                conn.execute(text(f"DROP OWNED BY {role}"))
                conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()
