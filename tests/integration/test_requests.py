"""Extension and hold requests (``app.requests``) on real databases, SQLite and PostgreSQL: asked,
approved through the same transaction as the extension or the hold, rejected, lapsed once the project
has moved on; refused for who may not approve with nothing written; each mail queued once and delivered
(to the maildir) as a message of its own; and the same through the CLI in-process."""

from __future__ import annotations

import mailbox
import threading
from datetime import date
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

from followup.app import delivery, ledger, moves, requests
from followup.app.ledger import ProjectInput
from followup.app.moves import Move
from followup.app.runtime import Runtime
from followup.domain.kinds import NoticeKind
from followup.errors import Conflict, FollowupError, InvalidInput
from followup.store.models import Notification
from tests.helpers import Cli, snapshot


def _project(rt: Runtime, leader: str | None = "liuqiang") -> int:
    values: dict[str, str | None] = {"investor": "伊禾", **({"leader": leader} if leader else {})}
    view = ledger.add_project(
        rt, ProjectInput(name="乳品加工", officer="lina", unit="chengguan", values=values), stage="talks"
    )
    assert view.deadline == date(2026, 8, 30)
    return view.id


def _mails(rt: Runtime) -> list[EmailMessage]:
    box = mailbox.Maildir(rt.settings.maildir, factory=None, create=True)
    return [BytesParser(policy=policy.default).parsebytes(box.get_bytes(k)) for k in box.iterkeys()]


def _text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _queued(rt: Runtime, kind: NoticeKind) -> int:
    with rt.store.reading() as session:
        return int(session.scalar(select(func.count()).where(Notification.kind == kind.value)) or 0)


def test_asked_approved_the_deadline_moves_and_both_mails_go(county: Runtime) -> None:
    pid = _project(county)
    asked = requests.ask(county, pid, by="lina", kind="extension", reason="投资方决策延后", days=30)
    assert (asked.status, asked.lapsed) == ("pending", None)
    assert [r.id for r in requests.awaiting(county, "liuqiang")] == [asked.id]
    assert requests.awaiting(county, "wangjun") == []  # not theirs to decide
    assert delivery.send(county).sent == 1
    (mail,) = _mails(county)
    assert "liuqiang@" in str(mail["To"]) and "待审批" in str(mail["Subject"])
    assert f"followup approve {asked.id} --by liuqiang" in _text(mail)  # no web address: the commands
    decided = requests.decide(county, asked.id, by="liuqiang", approve=True, note="同意")
    assert (decided.status, decided.deadline) == ("approved", date(2026, 9, 29))
    assert ledger.get_project(county, pid).deadline == date(2026, 9, 29)
    lines = [(e.kind, e.by.key if e.by else None) for e in ledger.history(county, pid)]
    assert lines[1:] == [("request", "lina"), ("extend", "liuqiang"), ("decision", "liuqiang")]
    assert requests.pending_for(county, pid) == []
    assert delivery.send(county).sent == 1
    decision = [m for m in _mails(county) if "lina@" in str(m["To"])]
    assert len(decision) == 1 and "2026-09-29" in _text(decision[0]) and "同意" in _text(decision[0])
    with pytest.raises(Conflict, match="already decided"):
        requests.decide(county, asked.id, by="liuqiang", approve=False)


def test_a_rejected_request_leaves_the_deadline(county: Runtime) -> None:
    pid = _project(county)
    asked = requests.ask(
        county, pid, by="wangjun", kind="extension", reason="手续未齐", until=date(2026, 10, 1)
    )
    decided = requests.decide(county, asked.id, by="xuli", approve=False, note="请按期推进")
    assert (decided.status, decided.note) == ("rejected", "请按期推进")
    assert ledger.get_project(county, pid).deadline == date(2026, 8, 30)
    assert [e.kind for e in ledger.history(county, pid)][-1] == "decision"
    delivery.send(county)
    (back,) = [m for m in _mails(county) if "wangjun@" in str(m["To"])]
    assert "未批准" in _text(back)


def test_an_approved_hold_puts_the_project_on_hold(county: Runtime) -> None:
    pid = _project(county)
    with pytest.raises(InvalidInput, match="--until"):
        requests.ask(county, pid, by="lina", kind="hold", reason="土地手续")
    asked = requests.ask(county, pid, by="lina", kind="hold", reason="土地手续", until=date(2026, 9, 1))
    requests.decide(county, asked.id, by="liuqiang", approve=True)
    project = ledger.get_project(county, pid)
    assert (project.stage, project.hold_until, project.hold_reason) == (
        "on_hold",
        date(2026, 9, 1),
        "土地手续",
    )


def test_a_request_lapses_once_the_project_has_moved_on(county: Runtime) -> None:
    pid = _project(county)
    asked = requests.ask(county, pid, by="lina", kind="extension", reason="等待批复", days=10)
    moves.advance(county, Move(pid, "on_hold", by="lina", note="暂停", until=date(2026, 9, 1)))
    assert requests.pending_for(county, pid)[0].lapsed is not None
    with pytest.raises(Conflict, match="lapsed"):
        requests.decide(county, asked.id, by="liuqiang", approve=True)
    (gone,) = requests.requests_of(county, pid)
    assert gone.status == "lapsed"
    assert ledger.get_project(county, pid).stage == "on_hold"
    sent = delivery.send(county)  # the request mail no longer goes; the lapse is told to who asked
    assert sent.obsolete == 1 and sent.sent == 1
    assert [str(m["To"]).split("<")[1].split("@")[0] for m in _mails(county)] == ["lina"]


def test_who_may_not_approve_is_refused_and_nothing_is_written(county: Runtime, db_url: str) -> None:
    pid = _project(county)
    asked = requests.ask(county, pid, by="lina", kind="extension", reason="等待批复", days=10)
    before = snapshot(db_url)
    with pytest.raises(InvalidInput) as caught:
        requests.decide(county, asked.id, by="wangjun", approve=True)
    assert "may not decide request" in str(caught.value) and "\n" not in str(caught.value)
    assert snapshot(db_url) == before
    with pytest.raises(InvalidInput, match="may not ask"):
        requests.ask(county, pid, by="xuli", kind="extension", reason="x", days=3)  # supervision approves
    assert snapshot(db_url) == before


def test_the_request_mail_is_queued_once_even_if_asked_twice_at_once(county: Runtime) -> None:
    pid = _project(county, leader=None)  # no leader in charge: the supervision office is asked
    outcomes: list[object] = []

    def ask() -> None:
        try:
            outcomes.append(requests.ask(county, pid, by="lina", kind="extension", reason="同时", days=5))
        except FollowupError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "RequestView"]
    with pytest.raises(Conflict, match="already has"):
        requests.ask(county, pid, by="lina", kind="extension", reason="再次", days=5)
    assert _queued(county, NoticeKind.REQUEST) == 1
    delivery.send(county)
    assert delivery.send(county).sent == 0
    (mail,) = _mails(county)
    assert "xuli@" in str(mail["To"])


def test_the_cli_asks_and_approves(county: Runtime, db_url: str, tmp_path: Path) -> None:
    pid = _project(county)
    cli = Cli(db_url, tmp_path)
    cli.env["FOLLOWUP_NOW"] = "2026-06-01 10:00"  # the runtime's day, as the use cases above
    asked = cli.ok("request", "extension", str(pid), "--by", "lina", "--reason", "等待批复", "--days", "15")
    assert "awaiting approval" in asked.out
    refused = cli("approve", "1", "--by", "wangjun")
    assert refused.code == 2 and len(refused.err.strip().splitlines()) == 1
    done = cli.ok("approve", "1", "--by", "liuqiang", "--json").json()
    assert (done["status"], done["deadline"]) == ("approved", "2026-09-14")
    held = cli.ok("request", "hold", str(pid), "--by", "lina", "--reason", "土地", "--until", "2026-09-01")
    assert "request 2" in held.out
    rejected = cli.ok("approve", "2", "--by", "xuli", "--reject", "--note", "不同意")
    assert "rejected" in rejected.out
    assert ledger.get_project(county, pid).stage == "talks"
