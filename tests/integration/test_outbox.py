"""The outbox without a daemon: a second sweep queues nothing, a mail server that goes away, one recipient
refused for now, the retry budget, and working hours.

Everything is real but the process boundary: a SQLite file, the ``followup`` CLI in-process (``sweep``,
``send``, ``outbox`` and ``status`` on a replayed ``--now``, as a cron job would run them), and an aiosmtpd
server on loopback that records every message it takes. The daemon, crashes and racing processes are in
``tests/e2e/test_daemon.py``.

The county: every project entered the ledger at 线索 (lead) on 2026-09-01. Its deadline is 10-01
(30 days), so on Monday 2026-10-19 it owes the yellow warning (黄灯, second weekly repeat) and a
staleness warning (跟进超时), each to its case officer and, when the unit has one, the unit head.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from followup.app.delivery import DEFERRAL_WAIT, MAX_ATTEMPTS, backoff
from tests.helpers import Cli
from tests.mailserver import MailServer, smtp_server_fixture  # noqa: F401
from tests.outbox_county import MONDAY, at, identities, iso, mail_env, query, seeded


def outbox(cli: Cli) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cli.ok("outbox", "--json").json()
    return rows


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


# --------------------------------------------------------------------------- 2. the server goes away


def test_a_mail_server_down_is_recorded_then_everything_goes_when_it_is_back(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=2, projects=3)
    mail = mail_env(smtp_server)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 12
    smtp_server.stop()

    down = cli("send", "--now", iso(MONDAY), "--json", env=mail)
    assert down.code == 8 and "Traceback" not in down.err, down.err  # nothing due was delivered
    error = f"cannot connect to smtp {smtp_server.host}:{smtp_server.port}: Connection refused"
    assert down.json() == {
        "sent": 0,
        "messages": 0,
        "retried": 0,
        "failed": 0,
        "obsolete": 0,
        "deferred": 12,  # not tried: no attempt counted
        "unknown": 0,
        "postponed": 0,
        "recipients": 0,
        "digests": 0,
        "skipped": None,
        "error": error,
    }
    assert (
        down.err
        == f"error: 12 notifications not delivered (kept and retried; see `followup outbox`): {error}\n"
    )
    retry_at = (at(MONDAY) + DEFERRAL_WAIT).isoformat()
    for row in outbox(cli):
        assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("pending", 0, retry_at)
        assert row["last_error"] == error

    smtp_server.start()
    early = cli("send", "--now", iso(MONDAY, "09:00:59"), "--json", env=mail).json()
    assert (early["sent"], early["retried"]) == (0, 0)  # before the next attempt: nothing is tried
    assert smtp_server.connections == 0 and smtp_server.messages == []
    assert {(r["status"], r["attempts"]) for r in outbox(cli)} == {("pending", 0)}

    back = cli.ok("send", "--now", iso(MONDAY, "09:01"), "--json", env=mail).json()
    assert (back["sent"], back["messages"], back["retried"]) == (12, 3, 0)
    rows = outbox(cli)
    assert {(r["status"], r["attempts"], r["last_error"]) for r in rows} == {("sent", 1, None)}
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
    sent = cli("send", "--now", iso(MONDAY), "--json", env=mail)
    assert sent.code == 8  # not everything due went out
    result = sent.json()
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


def test_after_the_retry_budget_a_notification_fails_status_says_so_and_retry_requeues_it(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    """Only refusals of the message itself count against the budget (a server down does not: see
    tests/integration/test_delivery_faults.py)."""
    seeded(sqlite_url, tmp_path, officers=1, projects=1, head=False)
    mail = mail_env(smtp_server)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 2
    smtp_server.refuse["o00@example.gov.cn"] = "452 4.2.2 mailbox full"
    now = iso(MONDAY)
    db = tmp_path / "followup.db"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = cli("send", "--now", now, "--json", env=mail)
        assert result.code == 8, result.err
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
    assert {(r["status"], r["attempts"], "452 4.2.2" in r["last_error"]) for r in rows} == {
        ("failed", MAX_ATTEMPTS, True)
    }
    # 1 + 2 + 4 + 8 + 16 + 32 + 60 minutes: the eighth attempt came at 11:03, still a working morning
    assert now == iso(MONDAY, "11:03")
    status = cli("status", "--now", iso(MONDAY, "11:05"))
    assert status.code == 0
    assert "warning: 2 notifications failed for good: see `followup outbox --status failed`" in status.err
    assert len(cli.ok("outbox", "--status", "failed", "--json").json()) == 2
    smtp_server.refuse.clear()
    assert cli("send", "--now", iso(MONDAY, "12:00"), "--json", env=mail).json()["sent"] == 0
    assert smtp_server.messages == []  # failed is final, until someone requeues it

    ids = [str(r["id"]) for r in rows]
    refused = cli("outbox", "retry")
    assert (refused.code, refused.err) == (
        2,
        "error: name the notifications to retry: --id N (repeatable) or --all-failed\n",
    )
    assert cli.ok("outbox", "retry", "--id", ids[0], "--id", "99", "--now", iso(MONDAY, "11:59")).out == (
        "1 notification requeued; 1 not in the outbox: 99\n"
    )
    assert cli.ok("outbox", "retry", "--all-failed", "--id", ids[0], "--now", iso(MONDAY, "11:59")).out == (
        "1 notification requeued; 1 neither failed nor unknown, left as they are: " + ids[0] + "\n"
    )
    again = cli.ok("send", "--now", iso(MONDAY, "12:00"), "--json", env=mail).json()
    assert (again["sent"], again["messages"]) == (2, 1)
    assert {(r["status"], r["attempts"]) for r in outbox(cli)} == {("sent", 1)}  # a fresh budget


# --------------------------------------------------------------------------- 3. working hours


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

    # Monday morning: the backlog goes out as ONE message per recipient, one block per project with the
    # newest warning of each of its ladders (what the Saturday sweep superseded is obsolete).
    monday = send(iso(MONDAY, "08:30"))
    assert (monday["sent"] + monday["obsolete"], monday["messages"]) == (queued, 2)
    fresh = smtp_server.messages[2:]
    assert sorted(m.rcpt_tos[0] for m in fresh) == ["o00@example.gov.cn", "wangjun@example.gov.cn"]
    rows = {r["id"]: r for r in outbox(cli)}
    for m in fresh:
        mine = [rows[p["id"]] for p in pending if p["recipient"]["email"] == m.rcpt_tos[0]]
        sent = [r for r in mine if r["status"] == "sent"]
        assert len(sent) > 1 and {r["message_id"] for r in sent} == {str(m.message["Message-ID"])}
        assert {r["status"] for r in mine} <= {"sent", "obsolete"}
        assert str(m.message["Subject"]) == "【黄灯】3个项目预警：招商项目0000等"
