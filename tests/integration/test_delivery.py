"""Sweep → send into the maildir, through the CLI (in-process) on a real SQLite file with
tests.county.SMALL entered as an operator would: escaping, digests, obsolescence. The mails are read
back from the real maildir."""

from __future__ import annotations

import mailbox
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from tests.county import SMALL
from tests.helpers import Cli

MONDAY = "2026-10-19"  # a working Monday


def messages(maildir: Path) -> list[EmailMessage]:
    box = mailbox.Maildir(maildir, factory=None, create=False)
    parsed = [BytesParser(policy=policy.default).parsebytes(box.get_bytes(key)) for key in box.iterkeys()]
    return sorted(parsed, key=lambda m: str(m["Message-ID"]))  # type: ignore[return-value]


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


@pytest.fixture
def county(cli: Cli) -> Cli:
    return SMALL.seed_cli(cli)


def overdue_lead(run: Cli, name: str) -> None:
    """A lead entered 2026-09-01 (30 days → deadline 10-01), followed up on Monday 08:00, then swept at
    09:00: the yellow (repeated weekly) is queued for the case officer and the unit head."""
    run.ok("project", "add", "--name", name, "--officer", "lina", "--unit", "chengguan",
           "--since", "2026-09-01", "--now", "2026-09-01T10:00")  # fmt: skip
    run.ok("log", "1", "已联系", "--by", "lina", "--now", f"{MONDAY}T08:00")
    assert run.ok("sweep", "--now", f"{MONDAY}T09:00", "--json").json()["queued"] == 2


def test_html_in_a_project_name_is_escaped_in_html_mail(county: Cli, tmp_path: Path) -> None:
    name = "<script>alert(1)</script>乳品加工"
    overdue_lead(county, name)  # on 10-19 the yellow is 18 days past the deadline
    sent = county.ok("send", "--now", f"{MONDAY}T09:01", "--json").json()
    assert (sent["messages"], sent["sent"], sent["failed"]) == (2, 2, 0)
    mails = messages(tmp_path / "data" / "maildir")
    assert sorted(str(m["To"]) for m in mails) == [
        "李娜 <lina@example.gov.cn>",
        "王军 <wangjun@example.gov.cn>",
    ]
    for mail in mails:
        assert str(mail["Subject"]).startswith("【黄灯】<script>alert(1)</script>乳品加工 已超期18天")
        html = body(mail, "html")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;乳品加工" in html
        assert "<script>" not in html
        text = body(mail, "plain")
        assert name in text and "<p" not in text and "<br" not in text
        own = "lina" if "李娜" in str(mail["To"]) else "wangjun"  # each records under their own name
        assert f'followup log 1 "跟进情况" --by {own}' in text
    assert len({str(m["Message-ID"]) for m in mails}) == 2
    rows = county.ok("outbox", "--json").json()
    assert [r["status"] for r in rows] == ["sent", "sent"]
    assert {r["message_id"] for r in rows} == {str(m["Message-ID"]) for m in mails}


def test_a_notification_whose_project_moved_on_is_not_sent(county: Cli, tmp_path: Path) -> None:
    overdue_lead(county, "华北冷链")
    county.ok(
        "advance", "1", "talks", "--by", "lina", "--set", "investor=华北集团", "--now", f"{MONDAY}T09:30"
    )
    sent = county.ok("send", "--now", f"{MONDAY}T10:00", "--json").json()
    assert (sent["messages"], sent["obsolete"]) == (0, 2)
    assert not (tmp_path / "data" / "maildir").exists() or messages(tmp_path / "data" / "maildir") == []
    assert {r["status"] for r in county.ok("outbox", "--json").json()} == {"obsolete"}


def test_weekly_digest_goes_to_those_with_projects_once(county: Cli, tmp_path: Path) -> None:
    county.ok(
        "project",
        "add",
        "--name",
        "伊禾乳制品",
        "--officer",
        "lina",
        "--unit",
        "chengguan",
        "--since",
        "2026-09-21",
        "--now",
        "2026-09-21T10:00",
    )  # deadline 2026-10-21: this week
    county.ok(
        "project",
        "add",
        "--name",
        "金穗杂粮",
        "--officer",
        "lina",
        "--unit",
        "chengguan",
        "--since",
        "2026-10-16",
        "--now",
        "2026-10-16T10:00",
    )  # deadline 2026-11-15
    early = county.ok("digest", "--now", f"{MONDAY}T08:00").out
    assert early.startswith("0 digests queued for 2026-W43 (due 2026-10-19 08:30)")
    # lina, wangjun (their projects) and 徐丽 (the supervision office: the county summary)
    assert county.ok("digest", "--now", f"{MONDAY}T08:31").out.startswith("3 digests queued")
    assert county.ok("digest", "--now", f"{MONDAY}T09:00").out.startswith("0 digests queued")
    sent = county.ok("send", "--now", f"{MONDAY}T09:00", "--json").json()
    assert (sent["messages"], sent["digests"], sent["recipients"]) == (3, 3, 3)
    mails = {str(m["To"]): m for m in messages(tmp_path / "data" / "maildir")}
    assert set(mails) == {
        "李娜 <lina@example.gov.cn>",
        "王军 <wangjun@example.gov.cn>",
        "徐丽 <xuli@example.gov.cn>",
    }
    text = body(mails["李娜 <lina@example.gov.cn>"], "plain")
    assert "伊禾乳制品" in text and "金穗杂粮" in text and "2026-10-21" in text
    assert "2026年第43周" in text and text.startswith("李娜（责任人）：")
    assert str(mails["徐丽 <xuli@example.gov.cn>"]["Subject"]).startswith(
        "【督办周报】2026年第43周 全县亮灯1个"
    )
