"""The outbox under crashes, a mail server that goes away, and working hours: the issue's "must show".

Everything is real: a SQLite file, the installed ``followup`` command (``sweep``, ``send``, ``outbox``,
``status`` and ``daemon`` as subprocesses), and an aiosmtpd server on loopback that records every
message it takes. The daemon runs on a replayed clock (``--now``) so that it is inside working hours on a
working day of the real 2026 calendar; crashes are SIGKILL, a clean stop is SIGTERM.

The county: every project entered the ledger at 线索 (lead) on 2026-09-01. Its deadline is 10-01
(30 days), so on Monday 2026-10-19 it owes the yellow warning (黄灯, second weekly repeat) and a
staleness warning (跟进超时), each to its case officer and, when the unit has one, the unit head.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from followup.outbox import CLAIM_LEASE, MAX_ATTEMPTS, backoff, sweep
from followup.service import Followup, ProjectInput
from tests.conftest import Cli, make_app
from tests.mailserver import MailServer, smtp_server_fixture  # noqa: F401

SH = ZoneInfo("Asia/Shanghai")
MONDAY = "2026-10-19"  # an ordinary working day
WAIT = 30.0  # seconds: the most any condition below may take before the test gives up


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SH)


def iso(day: str, clock: str = "09:00") -> str:
    return at(day, clock).isoformat()


# --------------------------------------------------------------------------- the county


def seed(app: Followup, *, officers: int, projects: int, head: bool = True) -> None:
    """One township, ``officers`` case officers (and a unit head), ``projects`` overdue leads."""
    day0 = at("2026-01-05")
    app.add_unit("chengguan", "城关镇人民政府", "township", now=day0)
    if head:
        app.add_official(
            "wangjun", name="王军", email="wangjun@example.gov.cn", unit="chengguan", head=True, now=day0
        )
    for i in range(officers):
        app.add_official(
            f"o{i:02d}", name=f"干部{i:02d}", email=f"o{i:02d}@example.gov.cn", unit="chengguan", now=day0
        )
    for i in range(projects):
        app.add_project(
            ProjectInput(name=f"招商项目{i:04d}", officer=f"o{i % officers:02d}", unit="chengguan"),
            stage="lead",
            since=at("2026-09-01", "00:00"),
            by=None,
            now=at("2026-09-01", "10:00"),
        )


def seeded(sqlite_url: str, tmp_path: Path, **county: Any) -> list[dict[str, Any]]:
    """Seed through the library; return what a sweep on Monday morning would queue (a dry run)."""
    app = make_app(sqlite_url, tmp_path)
    try:
        seed(app, **county)
        return sweep(app, at(MONDAY), dry_run=True).planned
    finally:
        app.store.dispose()


def copy_projects(sqlite_url: str, copies: int) -> int:
    """Add ``copies`` copies of every project with raw SQL (the library takes ~4 ms a project)."""
    engine = create_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            columns = [r[1] for r in conn.execute(text("PRAGMA table_info(projects)")) if r[1] != "id"]
            names = ", ".join(columns)
            originals = conn.execute(text("SELECT max(id) FROM projects")).scalar_one()
            for _ in range(copies):
                conn.execute(
                    text(f"INSERT INTO projects ({names}) SELECT {names} FROM projects WHERE id <= :n"),
                    {"n": originals},
                )
            total: int = conn.execute(text("SELECT count(*) FROM projects")).scalar_one()
            return total
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- looking at the database


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        return conn.execute(sql, params).fetchall()


def statuses(db: Path) -> Counter[str]:
    return Counter(
        {status: n for status, n in query(db, "SELECT status, count(*) FROM notifications GROUP BY 1")}
    )


def unsettled(db: Path) -> int:
    return int(query(db, "SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')")[0][0])


def identities(db: Path) -> list[tuple[Any, ...]]:
    """Each queued warning as (project, kind, level, repeat, recipient, role); digests left out."""
    return query(
        db,
        "SELECT project_id, kind, level, repeat_no, recipient_id, role FROM notifications "
        "WHERE kind != 'digest' ORDER BY id",
    )


def write_locked(db: Path) -> bool:
    """Does some connection hold SQLite's write lock (an open write transaction) right now?"""
    with closing(sqlite3.connect(db, timeout=0, isolation_level=None)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return True
            raise
        conn.execute("ROLLBACK")
        return False


def received(server: MailServer, count: int) -> Callable[[], bool]:
    return lambda: len(server.messages) >= count


def message_ids(server: MailServer) -> list[str]:
    with server.lock:
        return [str(m.message["Message-ID"]) for m in server.messages]


# --------------------------------------------------------------------------- the daemon as a process


def mail_env(server: MailServer) -> dict[str, str]:
    return {
        "FOLLOWUP_SMTP_HOST": server.host,
        "FOLLOWUP_SMTP_PORT": str(server.port),
        "FOLLOWUP_SMTP_SECURITY": "none",
    }


class Daemon:
    """``followup daemon`` as a real process; its stderr goes to a file (a pipe could fill and block it)."""

    def __init__(self, cli: Cli, server: MailServer, start: str, log: Path) -> None:
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [cli.exe, "daemon", "--now", start, "--sweep-every", "1", "--send-every", "1"],
                env={**cli.env, **mail_env(server)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"the daemon exited ({self.proc.returncode}) before {what}:\n{self.stderr()}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}:\n{self.stderr()}")
            time.sleep(0.002)

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no handler, no cleanup, no last transaction
        assert self.proc.wait(timeout=WAIT) == -signal.SIGKILL

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=WAIT)


@contextmanager
def daemon(cli: Cli, server: MailServer, start: str, log: Path) -> Iterator[Daemon]:
    running = Daemon(cli, server, start, log)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
        running.proc.wait(timeout=WAIT)


# --------------------------------------------------------------------------- 1. idempotence


def test_a_second_sweep_over_fifty_due_projects_queues_nothing(
    cli: Cli, sqlite_url: str, tmp_path: Path
) -> None:
    planned = seeded(sqlite_url, tmp_path, officers=10, projects=50)
    assert len(planned) == 50 * 4  # yellow and stale, each to the case officer and the unit head
    first = cli.ok("sweep", "--now", iso(MONDAY), "--json").json()
    assert (first["looked_at"], first["queued"]) == (50, 200)
    second = cli.ok("sweep", "--now", iso(MONDAY), "--json").json()
    assert (second["looked_at"], second["queued"]) == (0, 0)  # nobody is even due any more
    later = cli.ok("sweep", "--now", iso(MONDAY, "17:00"), "--json").json()
    assert later["queued"] == 0
    db = tmp_path / "followup.db"
    queued = identities(db)
    assert len(queued) == len(set(queued)) == 200
    expected = {
        (p["project_id"], p["kind"], p["level"], p["repeat_no"], p["recipient_id"], p["role"])
        for p in planned
    }
    assert set(queued) == expected


def test_two_sweeps_at_the_same_moment_queue_each_notification_once(
    cli: Cli, sqlite_url: str, tmp_path: Path
) -> None:
    seeded(sqlite_url, tmp_path, officers=10, projects=50)
    args = [cli.exe, "sweep", "--now", iso(MONDAY), "--json"]
    procs = [
        subprocess.Popen(args, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert sorted(r["queued"] for r in results) == [0, 200]  # writers queue: the second finds it done
    queued = identities(tmp_path / "followup.db")
    assert len(queued) == len(set(queued)) == 200


# --------------------------------------------------------------------------- 2. the daemon, killed


@pytest.mark.slow
def test_daemon_killed_during_a_send_loses_nothing_and_resends_at_most_the_one_in_flight(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    planned = seeded(sqlite_url, tmp_path, officers=20, projects=40)
    db = tmp_path / "followup.db"
    # 20 officers and the head each get one consolidated warning and this week's digest: 42 messages.
    # The server records a message, then takes 0.15 s to say "250": a kill lands with one in flight.
    smtp_server.delay = 0.15
    assert CLAIM_LEASE.total_seconds() == 120  # each restart below starts five minutes later
    kills = 0
    # The digests and the warnings are queued by two jobs at once, so either kind may go first: the
    # first kill lands in the first kind, the second in the other one.
    for n, (start, upto) in enumerate((("09:00", 6), ("09:05", 30))):
        with daemon(cli, smtp_server, iso(MONDAY, start), tmp_path / f"daemon-{n}.log") as run:
            run.wait_for(received(smtp_server, upto), f"{upto} messages at the server")
            run.kill()
            kills += 1
        got = message_ids(smtp_server)
        counts = statuses(db)
        assert counts["sending"] > 0, f"the kill should have landed inside a batch: {counts}"
        recorded = {
            r[0] for r in query(db, "SELECT DISTINCT message_id FROM notifications WHERE status = 'sent'")
        }
        assert recorded <= set(got)  # nothing is marked sent that the server did not take
        # Every message the server took was recorded as sent, except at most the one in flight (the last).
        assert set(got) - recorded <= {got[-1]}, (set(got) - recorded, got[-1])
        if n == 0:
            # Restarted within the claim's lease, a sender leaves the crashed batch alone (it would send
            # only rows that were still pending, normally none: one batch took them all).
            quick = cli("send", "--now", iso(MONDAY, "09:01"), "--json", env=mail_env(smtp_server)).json()
            assert quick["sent"] == counts["pending"]
            assert statuses(db)["sending"] == counts["sending"]

    smtp_server.delay = 0.0
    with daemon(cli, smtp_server, iso(MONDAY, "09:10"), tmp_path / "daemon-2.log") as run:
        run.wait_for(lambda: statuses(db)["sent"] > 0 and unsettled(db) == 0, "an empty outbox")
        assert run.terminate() == 0

    counts = statuses(db)
    digests = 21  # the 20 officers and the unit head, all with projects
    assert counts == Counter({"sent": len(planned) + digests}), counts  # nothing lost, nothing failed
    assert len(identities(db)) == len(planned)
    times = Counter(message_ids(smtp_server))
    recorded = {r[0] for r in query(db, "SELECT DISTINCT message_id FROM notifications")}
    assert set(times) == recorded  # a resent message kept its Message-ID: it is the same message
    assert len(recorded) == 42
    assert max(times.values()) <= 2
    assert sum(times.values()) - len(times) <= kills  # at most one duplicate per kill
    per_recipient: dict[str, set[str]] = defaultdict(set)
    with smtp_server.lock:
        for m in smtp_server.messages:
            per_recipient[m.rcpt_tos[0]].add(str(m.message["Message-ID"]))
    assert {len(ids) for ids in per_recipient.values()} == {2}  # one warning, one digest each


@pytest.mark.slow
def test_daemon_killed_during_a_sweep_queues_everything_exactly_once(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    planned = seeded(sqlite_url, tmp_path, officers=20, projects=40, head=False)
    owed: dict[int, list[tuple[str, str, int, str]]] = defaultdict(list)
    for p in planned:
        owed[p["project_id"]].append((p["kind"], p["level"], p["repeat_no"], p["role"]))
    shapes = {tuple(sorted(v)) for v in owed.values()}
    assert len(shapes) == 1 and len(owed) == 40  # every project owes the same: yellow and stale
    [shape] = shapes
    total = copy_projects(sqlite_url, 14)  # 600 due projects: the sweep takes a while
    db = tmp_path / "followup.db"
    officer_of = dict(query(db, "SELECT id, officer_id FROM projects"))
    assert len(officer_of) == total == 600
    expected = {
        (pid, k, lvl, rep, officer_of[pid], role) for pid in officer_of for k, lvl, rep, role in shape
    }

    # At 07:00 the sweep is the only writer: the digest is not due before 08:30 and nothing is sent
    # before working hours. So a write lock seen before any row appeared is the sweep's transaction.
    kills_mid_sweep = 0
    for n, offset in enumerate((0.0, 0.2, 0.5)):
        with daemon(cli, smtp_server, iso(MONDAY, "07:00"), tmp_path / f"daemon-{n}.log") as run:
            run.wait_for(lambda: write_locked(db) or bool(identities(db)), "the sweep to start")
            time.sleep(offset)
            run.kill()
        queued = identities(db)
        looked = query(db, "SELECT count(*) FROM projects WHERE level IS NOT NULL")[0][0]
        # One transaction: either nothing of the sweep is there, or all of it (rows and next looks).
        assert (len(queued), looked) in ((0, 0), (len(expected), total)), (len(queued), looked)
        assert len(set(queued)) == len(queued)
        if not queued:
            kills_mid_sweep += 1
        else:
            break  # the sweep finished before the kill: the next restarts would find nothing due
    assert kills_mid_sweep >= 1, "the sweep was never killed in the middle: give it more projects"
    assert smtp_server.messages == []

    with daemon(cli, smtp_server, iso(MONDAY, "09:00"), tmp_path / "daemon-final.log") as run:
        run.wait_for(lambda: statuses(db)["sent"] > 0 and unsettled(db) == 0, "an empty outbox")
        assert run.terminate() == 0
    queued = identities(db)
    assert len(queued) == len(set(queued)) == len(expected)  # no duplicate identity
    assert set(queued) == expected  # every due project got every notification it owes
    assert statuses(db) == Counter({"sent": len(expected) + 20})  # and the 20 digests: all delivered
    got = message_ids(smtp_server)
    assert len(got) == len(set(got))


@pytest.mark.slow
def test_sigterm_stops_the_daemon_after_the_current_batch(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    planned = seeded(sqlite_url, tmp_path, officers=20, projects=40)
    db = tmp_path / "followup.db"
    smtp_server.delay = 0.05
    with daemon(cli, smtp_server, iso(MONDAY), tmp_path / "daemon.log") as run:
        run.wait_for(lambda: len(smtp_server.messages) >= 3, "the first messages")
        at_signal = len(smtp_server.messages)
        run.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        run.proc.send_signal(signal.SIGINT)  # an impatient second signal (Ctrl-C) changes nothing
        code = run.proc.wait(timeout=WAIT)
        log = run.stderr()
    assert code == 0, log
    stopping = log.index("signal SIGTERM: stopping after the current batch")
    again = log.index("signal SIGINT: already stopping after the current batch", stopping)
    assert log.index("daemon stopped", again) > again
    assert "Traceback" not in log and "ERROR" not in log, log
    # The batch in hand was finished and recorded: all 42 messages, each once, nothing left claimed.
    got = message_ids(smtp_server)
    assert len(got) == len(set(got)) == 42 > at_signal
    assert statuses(db) == Counter({"sent": len(planned) + 21})


# --------------------------------------------------------------------------- 3. the server goes away


def outbox(cli: Cli) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cli.ok("outbox", "--json").json()
    return rows


def test_a_mail_server_down_is_recorded_then_everything_goes_when_it_is_back(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=2, projects=3)
    mail = mail_env(smtp_server)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 12
    smtp_server.stop()

    down = cli("send", "--now", iso(MONDAY), "--json", env=mail)
    assert down.code == 0 and "Traceback" not in down.err, down.err
    assert down.json() == {
        "sent": 0,
        "messages": 0,
        "retried": 12,
        "failed": 0,
        "obsolete": 0,
        "skipped": None,
    }
    retry_at = (at(MONDAY) + backoff(1)).isoformat()
    for row in outbox(cli):
        assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("pending", 1, retry_at)
        assert "cannot connect" in row["last_error"] and "refused" in row["last_error"].lower()

    smtp_server.start()
    early = cli("send", "--now", iso(MONDAY, "09:00:59"), "--json", env=mail).json()
    assert (early["sent"], early["retried"]) == (0, 0)  # before the next attempt: nothing is tried
    assert smtp_server.connections == 0 and smtp_server.messages == []
    assert {(r["status"], r["attempts"]) for r in outbox(cli)} == {("pending", 1)}

    back = cli("send", "--now", iso(MONDAY, "09:01"), "--json", env=mail).json()
    assert (back["sent"], back["messages"], back["retried"]) == (12, 3, 0)
    rows = outbox(cli)
    assert {(r["status"], r["attempts"], r["last_error"]) for r in rows} == {("sent", 2, None)}
    # One connection, one message per recipient with all of their warnings
    assert smtp_server.connections == 1
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        "o00@example.gov.cn",
        "o01@example.gov.cn",
        "wangjun@example.gov.cn",
    ]
    by_recipient: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        by_recipient[r["recipient"]["email"]].add(r["message_id"])
    assert {m.rcpt_tos[0]: {str(m.message["Message-ID"])} for m in smtp_server.messages} == by_recipient
    again = cli("send", "--now", iso(MONDAY, "09:30"), "--json", env=mail).json()
    assert again["sent"] == 0 and len(smtp_server.messages) == 3


def test_one_recipient_refused_for_now_does_not_hold_back_the_others(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    """A 451 for one address is that message's trouble: the connection is fine, the rest still go."""
    seeded(sqlite_url, tmp_path, officers=2, projects=3)
    mail = mail_env(smtp_server)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 12
    smtp_server.refuse["o00@example.gov.cn"] = "451 4.3.0 mailbox busy, try later"
    result = cli.ok("send", "--now", iso(MONDAY), "--json", env=mail).json()
    assert (result["messages"], result["failed"]) == (2, 0)
    assert result["retried"] == result["sent"] // 2  # o00 has as many rows as o01; the head has the rest
    assert smtp_server.connections == 1
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        "o01@example.gov.cn",
        "wangjun@example.gov.cn",
    ]
    waiting = [r for r in outbox(cli) if r["status"] == "pending"]
    assert {r["recipient"]["email"] for r in waiting} == {"o00@example.gov.cn"}
    assert all("451" in r["last_error"] and r["attempts"] == 1 for r in waiting)


def test_after_the_retry_budget_a_notification_fails_and_status_says_so(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=1, projects=1, head=False)
    mail = mail_env(smtp_server)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 2
    smtp_server.stop()
    now = iso(MONDAY)
    db = tmp_path / "followup.db"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = cli("send", "--now", now, "--json", env=mail)
        assert result.code == 0, result.err
        if attempt < MAX_ATTEMPTS:
            assert result.json()["retried"] == 2
            # 1, 2, 4 … minutes, at most an hour; read from the file (the CLI's `outbox` shows the same)
            [(status, attempts, next_at)] = query(
                db, "SELECT DISTINCT status, attempts, next_attempt_at FROM notifications"
            )
            assert (status, attempts) == ("pending", attempt)
            waited = datetime.fromisoformat(next_at).replace(tzinfo=UTC) - datetime.fromisoformat(now)
            assert waited == backoff(attempt)
            now = (datetime.fromisoformat(now) + waited).isoformat()
    assert result.json()["failed"] == 2
    rows = outbox(cli)
    assert {(r["status"], r["attempts"], r["last_error"] is not None) for r in rows} == {
        ("failed", MAX_ATTEMPTS, True)
    }
    # 1 + 2 + 4 + 8 + 16 + 32 + 60 minutes: the eighth attempt came at 11:03, still a working morning
    assert now == iso(MONDAY, "11:03")
    status = cli("status", "--now", iso(MONDAY, "11:05"))
    assert status.code == 0
    assert "warning: 2 notifications failed for good: see `followup outbox --status failed`" in status.err
    assert len(cli.ok("outbox", "--status", "failed", "--json").json()) == 2
    smtp_server.start()
    assert cli("send", "--now", iso(MONDAY, "12:00"), "--json", env=mail).json()["sent"] == 0
    assert smtp_server.messages == []  # failed is final


# --------------------------------------------------------------------------- 4. working hours


def test_nothing_goes_out_of_hours_a_make_up_saturday_works_and_a_backlog_is_one_message_each(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=1, projects=3)
    mail = mail_env(smtp_server)

    def send(when: str) -> dict[str, Any]:
        result: dict[str, Any] = cli("send", "--now", when, "--json", env=mail).json()
        return result

    # Saturday 2026-10-10 is a make-up working day (调休): mail goes out inside hours.
    assert cli.ok("sweep", "--now", iso("2026-10-10", "08:00"), "--json").json()["queued"] == 12
    assert send(iso("2026-10-10", "08:00"))["skipped"] == "outside working hours"  # before 08:30
    made_up = send(iso("2026-10-10", "10:00"))
    assert (made_up["skipped"], made_up["sent"], made_up["messages"]) == (None, 12, 2)
    assert len(smtp_server.messages) == 2

    # Friday evening, Saturday and Sunday: queued, not sent.
    queued = cli.ok("sweep", "--now", iso("2026-10-16", "19:00"), "--json").json()["queued"]
    queued += cli.ok("sweep", "--now", iso("2026-10-17", "10:00"), "--json").json()["queued"]
    assert queued > 6  # each of the three projects owes something new to both people
    for when in (iso("2026-10-16", "20:00"), iso("2026-10-17", "10:00"), iso("2026-10-18", "11:00")):
        assert send(when)["skipped"] == "outside working hours"
    text_out = cli("send", "--now", iso("2026-10-17", "10:00"), env=mail)
    assert text_out.out.startswith("nothing sent: outside working hours")
    assert len(smtp_server.messages) == 2
    pending = [r for r in outbox(cli) if r["status"] == "pending"]
    assert len(pending) == queued

    # Monday morning: the backlog goes out as ONE message per recipient, listing every warning.
    monday = send(iso(MONDAY, "08:30"))
    assert (monday["sent"], monday["messages"]) == (queued, 2)
    fresh = smtp_server.messages[2:]
    assert sorted(m.rcpt_tos[0] for m in fresh) == ["o00@example.gov.cn", "wangjun@example.gov.cn"]
    rows = {r["id"]: r for r in outbox(cli)}
    for m in fresh:
        mine = [rows[p["id"]] for p in pending if p["recipient"]["email"] == m.rcpt_tos[0]]
        assert len(mine) > 1
        assert {(r["status"], r["message_id"]) for r in mine} == {("sent", str(m.message["Message-ID"]))}
        assert str(m.message["Subject"]) == f"【项目督办】您有{len(mine)}条项目预警"
