"""The outbox under crashes and signals: ``followup daemon`` as a real process, killed (SIGKILL) in the
middle of a send and of a sweep, stopped with SIGTERM, and two ``followup sweep`` processes at once.

Everything is real: a SQLite file, the installed ``followup`` command for whatever is killed, signalled
or runs concurrently (the daemon, the racing sweeps), and an aiosmtpd server on loopback that records
every message it takes. What only sets up or inspects state between those runs (a single ``send``) runs
in-process. The daemon runs on a replayed clock (``--now``) so that it is inside working hours on a
working day of the real 2026 calendar; crashes are SIGKILL, a clean stop is SIGTERM. The outbox without
a daemon (retries, a server that goes away, working hours) is in ``tests/integration/test_outbox.py``.

The county: every project entered the ledger at 线索 (lead) on 2026-09-01. Its deadline is 10-01
(30 days), so on Monday 2026-10-19 it owes the yellow warning (黄灯, second weekly repeat) and a
staleness warning (跟进超时), each to its case officer and, when the unit has one, the unit head.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.helpers import Cli, followup_executable
from tests.mailserver import MailServer, smtp_server_fixture  # noqa: F401
from tests.outbox_county import MONDAY, identities, iso, mail_env, query, seeded

WAIT = 30.0  # seconds: the most any condition below may take before the test gives up
#: the daemons' claim lease (real seconds, by the database's clock): a killed daemon's claimed rows
#: come back to the next one after this long
LEASE = "2"


def copy_projects(sqlite_url: str, copies: int) -> int:
    """Add ``copies`` copies of every project with raw SQL (the use case takes ~4 ms a project)."""
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


def statuses(db: Path) -> Counter[str]:
    return Counter(
        {status: n for status, n in query(db, "SELECT status, count(*) FROM notifications GROUP BY 1")}
    )


def unsettled(db: Path) -> int:
    return int(query(db, "SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')")[0][0])


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


class Daemon:
    """``followup daemon`` as a real process; its stderr goes to a file (a pipe could fill and block it)."""

    def __init__(self, cli: Cli, server: MailServer, start: str, log: Path, **env: str) -> None:
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [followup_executable(), "daemon", "--now", start, "--sweep-every", "1", "--send-every", "1"],
                env=cli.process_env(**mail_env(server), FOLLOWUP_CLAIM_LEASE=LEASE, **env),
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
def daemon(cli: Cli, server: MailServer, start: str, log: Path, **env: str) -> Iterator[Daemon]:
    running = Daemon(cli, server, start, log, **env)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
        running.proc.wait(timeout=WAIT)


# --------------------------------------------------------------------------- 1. two sweeps at once


def test_two_sweeps_at_the_same_moment_queue_each_notification_once(
    cli: Cli, sqlite_url: str, tmp_path: Path
) -> None:
    seeded(sqlite_url, tmp_path, officers=10, projects=50)
    args = [followup_executable(), "sweep", "--now", iso(MONDAY), "--json"]
    procs = [
        subprocess.Popen(
            args, env=cli.process_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
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
    # 20 officers each get their 4 warnings and this week's digest; the head gets 80 warnings in 4
    # messages of at most 20, and a digest. When both are pending at once (the sweep ran first) the
    # digest goes with the warnings: 24 messages; else 45.
    # The server records a message, then takes 0.15 s to say "250": a kill lands with one in flight.
    smtp_server.delay = 0.15
    kills = 0
    # The first kill lands among the first messages, the second one later in the batch.
    for n, (start, upto) in enumerate((("09:00", 6), ("09:05", 15))):
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
            # Within the claim's lease (the default 120 s, by the database's clock, whatever the
            # sender's --now says), a sender leaves the crashed batch alone (it would send only rows
            # that were still pending, normally none: one batch took them all). The process that
            # crashed is gone; this one-off `send` runs in-process.
            quick = cli("send", "--now", iso(MONDAY, "09:01"), "--json", env=mail_env(smtp_server)).json()
            assert quick["sent"] == counts["pending"]
            assert statuses(db)["sending"] == counts["sending"]
            time.sleep(float(LEASE))  # the next daemon starts after the crashed one's lease ran out

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
    assert len(recorded) in (24, 45)
    assert max(times.values()) <= 2
    assert sum(times.values()) - len(times) <= kills  # at most one duplicate per kill
    per_recipient: dict[str, set[str]] = defaultdict(set)
    with smtp_server.lock:
        for m in smtp_server.messages:
            per_recipient[m.rcpt_tos[0]].add(str(m.message["Message-ID"]))
    shapes = Counter(len(ids) for ids in per_recipient.values())
    assert shapes == (Counter({1: 20, 4: 1}) if len(recorded) == 24 else Counter({2: 20, 5: 1}))


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
def test_sigterm_stops_the_daemon_after_the_message_in_flight(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    planned = seeded(sqlite_url, tmp_path, officers=20, projects=40)
    db = tmp_path / "followup.db"
    smtp_server.delay = 0.5  # the message in flight when the signal comes takes a while to confirm
    with daemon(cli, smtp_server, iso(MONDAY), tmp_path / "daemon.log") as run:
        run.wait_for(lambda: len(smtp_server.messages) >= 3, "the first messages")
        run.proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        run.proc.send_signal(signal.SIGINT)  # an impatient second signal (Ctrl-C) changes nothing
        code = run.proc.wait(timeout=WAIT)
        log = run.stderr()
    assert code == 0, log
    stopping = log.index("signal SIGTERM: stopping after the message in flight")
    again = log.index("signal SIGINT: already stopping after the message in flight", stopping)
    assert log.index("daemon stopped", again) > again
    assert "Traceback" not in log and "ERROR" not in log, log
    # Stopped after the message in flight, not after the whole batch (24 messages, 45 when the digests
    # went apart): each message the server took is recorded as sent, the rest were given back untouched
    # (pending, no attempt counted).
    got = message_ids(smtp_server)
    assert len(got) == len(set(got)) < 24
    counts = statuses(db)
    assert set(counts) <= {"sent", "pending"}, counts
    recorded = {
        r[0] for r in query(db, "SELECT DISTINCT message_id FROM notifications WHERE status = 'sent'")
    }
    assert recorded == set(got)
    assert {
        r[0] for r in query(db, "SELECT DISTINCT attempts FROM notifications WHERE status = 'pending'")
    } <= {0}
    # and the next run delivers the rest
    smtp_server.delay = 0.0
    assert (
        cli("send", "--now", iso(MONDAY, "09:10"), "--json", env=mail_env(smtp_server)).json()["failed"] == 0
    )
    assert statuses(db) == Counter({"sent": len(planned) + 21})
    delivered = {r[0] for r in query(db, "SELECT DISTINCT message_id FROM notifications")}
    assert set(message_ids(smtp_server)) == delivered and len(delivered) in (24, 45)


@pytest.mark.slow
def test_sigterm_stops_a_daemon_held_by_a_dripping_greeting_within_seconds(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=2, projects=2, head=False)
    db = tmp_path / "followup.db"
    smtp_server.drip_greeting = 0.05  # a greeting that never ends; its timeout is RFC 5321's 5 minutes
    with daemon(cli, smtp_server, iso(MONDAY), tmp_path / "daemon.log") as run:
        run.wait_for(
            lambda: statuses(db)["sending"] > 0 and smtp_server.connections > 0, "a send in progress"
        )
        time.sleep(0.3)
        run.proc.send_signal(signal.SIGTERM)
        code = run.proc.wait(timeout=10)  # a stop within seconds, not after the greeting's 5 minutes
        log = run.stderr()
    assert code == 0, log
    assert "Traceback" not in log, log
    # given back untouched: no attempt, no deferral, due as before
    assert set(query(db, "SELECT DISTINCT status, attempts, deferrals FROM notifications")) == {
        ("pending", 0, 0)
    }


# --------------------------------------------------------------------------- 4. the weekly mail, replayed


@pytest.mark.slow
def test_the_weekly_mail_follows_the_replayed_clock_and_the_log_tells_it_in_the_zone(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=2, projects=2)
    db = tmp_path / "followup.db"
    # Replayed from three seconds before Monday's 08:30: the weekly mail is due on the replayed clock (a
    # cron on the wall clock would never fire), with the warnings queued overnight: one mail each.
    with daemon(cli, smtp_server, iso(MONDAY, "08:29:57"), tmp_path / "daemon.log") as run:
        run.wait_for(lambda: statuses(db)["sent"] == 3 + 8 and unsettled(db) == 0, "the weekly mail sent")
        assert run.terminate() == 0
        log = run.stderr()
    assert len(smtp_server.messages) == 3  # o00, o01 and the unit head: warnings and digest together
    stamp = r"2026-10-19T08:3\d:\d\d\+08:00"
    started = (
        r"^2026-10-19T08:29:5\d\+08:00 INFO followup.daemon: daemon started: .* weekly mail mon 08:30 "
        r"Asia/Shanghai; clock replayed from 2026-10-19T08:29:57\+08:00$"
    )
    queued = (
        rf"^{stamp} INFO followup.app.escalation: weekly mail 2026-W43: 3 digests queued for 3 recipients "
        r"\(0 with the county summary\)$"
    )
    sent = rf"^{stamp} INFO followup.daemon: send: 3 messages to 3 recipients \(3 with the weekly mail\), 11 "
    for line in (started, queued, sent):
        assert re.search(line, log, re.MULTILINE), (line, log)
