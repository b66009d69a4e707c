"""Delivery against a mail server that misbehaves (tests/mailserver.py's faults), through the CLI in-process
on a SQLite file: who pays for a refusal or a lost connection, RFC timeouts and messages of unknown
outcome, a dripping greeting, a long outage, messages that cannot be built or would carry injected
headers, the cap on warnings per message, and a login that would go out in clear text.

The county (tests/outbox_county.py): every project entered the ledger at 线索 on 2026-09-01, so on
Monday 2026-10-19 each owes a yellow warning and a staleness warning to its case officer (o00, o01, …)
and the unit head (王军). A batch's messages go in the order of their first notification: o00, 王军, o01, …
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

from followup.app.delivery import MAX_ATTEMPTS
from tests.helpers import Cli
from tests.mailserver import MailServer, smtp_server_fixture  # noqa: F401
from tests.outbox_county import MONDAY, at, iso, mail_env, query, seeded

AT = "@example.gov.cn"


def execute(db: Path, sql: str, *params: Any) -> None:
    with closing(sqlite3.connect(db, timeout=10)) as conn, conn:
        conn.execute(sql, params)


def by_recipient(db: Path) -> dict[str, set[tuple[str, int]]]:
    """Each recipient's notifications as {(status, attempts)}."""
    out: dict[str, set[tuple[str, int]]] = {}
    for email, status, attempts in query(
        db,
        "SELECT o.email, n.status, n.attempts FROM notifications n JOIN officials o ON o.id = n.recipient_id",
    ):
        out.setdefault(email.split("@")[0], set()).add((status, attempts))
    return out


def send(cli: Cli, server: MailServer, when: str, **env: str) -> tuple[int, dict[str, Any], str]:
    result = cli("send", "--now", when, "--json", env={**mail_env(server), **env})
    assert "Traceback" not in result.err, result.err
    return result.code, result.json(), result.err


def in_thread(target: Any, wait: float = 15.0) -> None:
    """Run ``target``; fail if it is still running after ``wait`` seconds (a hang, not a slow run)."""
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(wait)
    assert not worker.is_alive(), "still running: it hangs"


# --------------------------------------------------------------------------- who pays


def test_a_421_charges_only_the_refused_recipient_and_the_batch_reconnects(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=3, projects=3)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 12
    smtp_server.refuse["o01" + AT] = "421 4.3.2 shutting down for maintenance"
    code, result, _ = send(cli, smtp_server, iso(MONDAY))
    assert code == 8
    assert (result["messages"], result["sent"], result["retried"], result["failed"]) == (3, 10, 2, 0)
    # the officer after the refused one was tried in the same batch, over a new connection
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["o00" + AT, "wangjun" + AT, "o02" + AT]
    assert smtp_server.connections == 2
    rows = by_recipient(tmp_path / "followup.db")
    assert rows["o01"] == {("pending", 1)}  # the refused one paid one attempt
    assert rows["o02"] == {("sent", 1)}  # one attempt: the one that delivered it


def test_a_connection_dropped_before_the_data_charges_nobody_and_the_others_go(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=3, projects=3)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 12
    smtp_server.drop_at_rcpt.add("o01" + AT)
    code, result, err = send(cli, smtp_server, iso(MONDAY))
    assert code == 8 and "was lost" in err
    assert (result["sent"], result["deferred"], result["retried"], result["failed"]) == (10, 2, 0, 0)
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["o00" + AT, "wangjun" + AT, "o02" + AT]
    # o01 broke the connection twice: it waits (no attempt counted), the others did not wait behind it
    assert smtp_server.connections == 3
    rows = by_recipient(tmp_path / "followup.db")
    assert rows["o01"] == {("pending", 0)}
    assert rows["o02"] == {("sent", 1)}


# --------------------------------------------------------------------------- timeouts, unknown outcome


def test_no_reply_after_the_data_is_an_unknown_outcome_sent_again_only_after_an_hour(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=1, projects=1, head=False)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 2
    smtp_server.delay = 1.0  # the server checks the message longer than we wait for its reply
    timeouts = {"FOLLOWUP_SMTP_TIMEOUTS": "end=0.3"}
    code, result, err = send(cli, smtp_server, iso(MONDAY), **timeouts)
    assert code == 8
    assert (result["sent"], result["unknown"], result["retried"]) == (0, 2, 0)
    assert "no reply to the end of the message's data within 0.3 s" in err
    assert "it may have been delivered" in err
    [first] = smtp_server.messages
    message_id = str(first.message["Message-ID"])
    rows = cli.ok("outbox", "--json").json()
    assert {(r["status"], r["attempts"], r["message_id"]) for r in rows} == {("unknown", 1, message_id)}
    assert "unknown" in cli.ok("outbox", "--status", "unknown").out
    status = cli("status", "--now", iso(MONDAY, "09:05")).err
    assert "2 notifications went to the mail server without its confirmation" in status

    smtp_server.delay = 0.0
    code, result, _ = send(cli, smtp_server, iso(MONDAY, "09:59"), **timeouts)
    assert (code, result["sent"], len(smtp_server.messages)) == (0, 0, 1)  # not within the hour
    code, result, _ = send(cli, smtp_server, iso(MONDAY, "10:01"), **timeouts)
    assert (code, result["sent"], result["messages"]) == (0, 2, 1)
    assert [str(m.message["Message-ID"]) for m in smtp_server.messages] == [message_id, message_id]
    assert {(r["status"], r["message_id"]) for r in cli.ok("outbox", "--json").json()} == {
        ("sent", message_id)
    }


def test_each_command_has_its_own_timeout_and_one_before_the_data_charges_nobody(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=1, projects=1, head=False)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 2
    smtp_server.rcpt_delay = 1.0
    code, result, err = send(cli, smtp_server, iso(MONDAY), FOLLOWUP_SMTP_TIMEOUTS="rcpt=0.3")
    assert (code, result["deferred"], result["retried"]) == (8, 2, 0)
    assert "no reply to RCPT within 0.3 s" in err
    assert smtp_server.messages == []
    # the same server is fine for RFC 5321's 5 minutes (shrunk to what the test can wait)
    code, result, _ = send(cli, smtp_server, iso(MONDAY, "09:05"), FOLLOWUP_SMTP_TIMEOUTS="rcpt=5")
    assert (code, result["sent"]) == (0, 2)
    assert by_recipient(tmp_path / "followup.db") == {"o00": {("sent", 1)}}


def test_a_connection_dropped_after_the_data_is_an_unknown_outcome(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=2, projects=2, head=False)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 4
    smtp_server.drop_after_data.add("o00" + AT)
    code, result, _ = send(cli, smtp_server, iso(MONDAY))
    assert code == 8
    assert (result["unknown"], result["sent"], smtp_server.connections) == (2, 2, 2)
    rows = by_recipient(tmp_path / "followup.db")
    assert rows == {"o00": {("unknown", 1)}, "o01": {("sent", 1)}}


def test_a_dripping_greeting_is_cut_by_its_timeout_or_by_the_batch_deadline(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=1, projects=1, head=False)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 2
    smtp_server.drip_greeting = 0.05  # "220-…" every 50 ms, never the last line
    outcomes: list[tuple[int, dict[str, Any], str]] = []
    in_thread(
        lambda: outcomes.append(send(cli, smtp_server, iso(MONDAY), FOLLOWUP_SMTP_TIMEOUTS="greeting=0.5"))
    )
    [(code, result, err)] = outcomes
    assert (code, result["deferred"]) == (8, 2)
    assert (
        f"cannot connect to smtp {smtp_server.host}:{smtp_server.port}: no greeting from the server " in err
    )
    assert "within 0.5 s" in err
    outcomes.clear()
    in_thread(
        lambda: outcomes.append(send(cli, smtp_server, iso(MONDAY, "10:00"), FOLLOWUP_SEND_DEADLINE="0.5"))
    )
    [(code, result, err)] = outcomes
    assert (code, result["deferred"]) == (8, 2)
    assert "before the batch's deadline (FOLLOWUP_SEND_DEADLINE)" in err
    assert by_recipient(tmp_path / "followup.db") == {"o00": {("pending", 0)}}


# --------------------------------------------------------------------------- a long outage


def test_a_three_hour_outage_fails_nothing_status_warns_and_all_goes_when_it_is_back(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=2, projects=3)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 12
    smtp_server.stop()
    tries = 0
    for minute in range(0, 180, 10):  # every 10 minutes for 3 hours: more tries than the budget
        when = at(MONDAY).replace(hour=9 + minute // 60, minute=minute % 60).isoformat()
        code, result, _ = send(cli, smtp_server, when)
        assert code == 8 and result["failed"] == 0 and result["retried"] == 0
        tries += result["deferred"] > 0
    assert tries > MAX_ATTEMPTS
    db = tmp_path / "followup.db"
    assert set(query(db, "SELECT status, attempts FROM notifications")) == {("pending", 0)}
    warnings = cli("status", "--now", iso(MONDAY, "12:00")).err
    assert (
        "warning: 12 notifications are overdue by more than an hour and still waiting for a retry" in warnings
    )
    assert f"the mail server could not be used for the last {tries} deliveries in a row" in warnings

    smtp_server.start()
    code, result, _ = send(cli, smtp_server, iso(MONDAY, "12:10"))
    assert (code, result["sent"], result["messages"], result["failed"]) == (0, 12, 3, 0)
    assert set(query(db, "SELECT status, attempts FROM notifications")) == {("sent", 1)}
    assert "overdue" not in cli("status", "--now", iso(MONDAY, "12:15")).err


# --------------------------------------------------------------------------- messages that cannot go


def test_a_message_that_cannot_be_built_fails_alone_and_nothing_stays_sending(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=2, projects=2, head=False)
    db = tmp_path / "followup.db"
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 4
    # Stored before names were checked as they are now: a line separator, which the email package
    # refuses in a Subject (one warning per message: each subject names its project).
    execute(db, "UPDATE projects SET name = ? WHERE id = 1", "招商\u2028项目")
    code, result, err = send(cli, smtp_server, iso(MONDAY), FOLLOWUP_WARNINGS_PER_MESSAGE="1")
    assert code == 8 and "cannot build the message" in err
    assert (result["sent"], result["messages"], result["failed"]) == (2, 2, 2)
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["o01" + AT, "o01" + AT]
    assert by_recipient(db) == {"o00": {("failed", 1)}, "o01": {("sent", 1)}}


def test_a_template_error_fails_its_messages_only(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=1, projects=1)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "yellow.subject.j2").write_text("{{ no_such_thing }}", encoding="utf-8")
    # 2 each (yellow and stale, one project: the yellow's template), to the officer and the unit head
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 4
    code, result, err = send(cli, smtp_server, iso(MONDAY), FOLLOWUP_TEMPLATE_DIR=str(templates))
    assert code == 8 and "yellow.subject.j2" in err
    assert (result["sent"], result["messages"], result["failed"]) == (0, 0, 4)
    assert cli.ok("digest", "--now", iso(MONDAY)).out.startswith("2 digests queued")
    code, result, err = send(cli, smtp_server, iso(MONDAY, "09:05"), FOLLOWUP_TEMPLATE_DIR=str(templates))
    assert (code, result["sent"], result["messages"], result["failed"]) == (0, 2, 2, 0)  # the digests go
    statuses = Counter(r[0] for r in query(tmp_path / "followup.db", "SELECT status FROM notifications"))
    assert statuses == Counter({"failed": 4, "sent": 2})


def test_a_name_that_would_inject_headers_never_goes_out(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=2, projects=2, head=False)
    db = tmp_path / "followup.db"
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 4
    evil = "Li =?utf-8?q?=0D=0AReply-To:_evil@attacker.test?="  # the email package decodes it when folding
    execute(db, "UPDATE officials SET name = ? WHERE key = 'o00'", evil)
    code, result, err = send(cli, smtp_server, iso(MONDAY))
    assert code == 8
    assert "unexpected headers reply-to" in err or "To header" in err
    assert (result["sent"], result["failed"]) == (2, 2)
    [only] = smtp_server.messages
    assert only.rcpt_tos == ["o01" + AT] and "Reply-To" not in only.message
    assert by_recipient(db)["o00"] == {("failed", 1)}


# --------------------------------------------------------------------------- the size of a message


def test_74_warnings_for_one_person_go_in_4_messages_of_at_most_20(
    cli: Cli, sqlite_url: str, tmp_path: Path
) -> None:
    seeded(sqlite_url, tmp_path, officers=1, projects=37)  # 37 × (yellow, stale) for o00 and for the head
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 148
    result = cli.ok("send", "--now", iso(MONDAY), "--json").json()  # into the maildir
    assert (result["sent"], result["messages"]) == (148, 8)
    db = tmp_path / "followup.db"
    for key in ("wangjun", "o00"):
        sizes = query(
            db,
            "SELECT count(*) FROM notifications n JOIN officials o ON o.id = n.recipient_id "
            "WHERE o.key = ? GROUP BY n.message_id ORDER BY min(n.id)",
            key,
        )
        assert [n for (n,) in sizes] == [20, 20, 20, 14]
    smaller = cli.ok("send", "--now", iso(MONDAY), "--json", env={"FOLLOWUP_WARNINGS_PER_MESSAGE": "50"})
    assert smaller.json()["sent"] == 0  # all gone already; the setting is read (and valid)


# --------------------------------------------------------------------------- a login in clear text


def test_a_login_without_tls_is_refused_unless_allowed_and_status_flags_it(
    cli: Cli, sqlite_url: str, tmp_path: Path, smtp_server: MailServer
) -> None:
    seeded(sqlite_url, tmp_path, officers=1, projects=1, head=False)
    assert cli.ok("sweep", "--now", iso(MONDAY), "--json").json()["queued"] == 2
    login = {"FOLLOWUP_SMTP_USER": "lina", "FOLLOWUP_SMTP_PASSWORD": "s3cret-pw"}
    code, result, err = send(cli, smtp_server, iso(MONDAY), **login)  # the server offers AUTH without TLS
    assert (code, result["deferred"]) == (8, 2)
    assert "the server offers no STARTTLS and a login is configured" in err and "s3cret" not in err
    assert smtp_server.logins == [] and smtp_server.messages == []
    status = cli("status", "--now", iso(MONDAY), env={**mail_env(smtp_server), **login}).err
    assert "goes out in clear text" not in status

    allowed = {**login, "FOLLOWUP_SMTP_ALLOW_PLAINTEXT": "1"}
    code, result, _ = send(cli, smtp_server, iso(MONDAY, "09:05"), **allowed)
    assert (code, result["sent"]) == (0, 2)
    assert smtp_server.logins == [("lina", "s3cret-pw")]
    status = cli("status", "--now", iso(MONDAY), env={**mail_env(smtp_server), **allowed}).err
    assert f"warning: the SMTP login to {smtp_server.host} goes out in clear text" in status
