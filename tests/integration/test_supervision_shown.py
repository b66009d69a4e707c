"""Where supervision (督办, issue 9) shows beyond its own commands: open problems in the weekly mail
(周调度, and counted in the county summary) delivered to a real maildir, problems and 督办 notices in
``project show --json``, the history's labels of supervision changes, and the sweep's dry run for a
unit behind in a reporting round.

2026 calendar: 劳动节 05-01 … 05-05 off, Saturday 05-09 a make-up working day. Monday 05-18 is in ISO
week 21.
"""

from __future__ import annotations

import pytest

from tests.county import SMALL
from tests.helpers import Cli
from tests.integration.test_delivery import body
from tests.integration.test_mail_rules import mails
from tests.integration.test_supervision import RED_DAY, talks


@pytest.fixture
def county(cli: Cli) -> Cli:
    return SMALL.seed_cli(cli)


def problem(run: Cli, pid: int, text: str, level: str, owner: str, due: str) -> None:
    run.ok("problem", "add", str(pid), text, "--level", level, "--owner", owner, "--due", due,
           "--by", "xuli", "--now", "2026-05-06T09:00")  # fmt: skip


def test_open_problems_are_in_the_weekly_mail_and_counted_in_the_summary(county: Cli) -> None:
    # two projects in talks since 04-20: deadline 07-19, nothing lit on 05-18
    first = talks(county, "伊禾乳业", since="2026-04-20", now="2026-04-20T10:00")
    second = talks(county, "华北冷链", since="2026-04-20", now="2026-04-20T10:00")
    problem(county, first, "供电线路迁改", "重大", "chengguan", "2026-05-11")  # 7 days overdue on 05-18
    problem(county, first, "临时用电", "一般", "chengguan", "2026-05-20")
    problem(county, first, "环评批复", "协调", "bureau", "2026-06-30")
    county.ok(
        "problem", "close", "2", "--by", "wangjun", "--resolution", "已接通", "--now", "2026-05-07T09:00"
    )
    for pid in (first, second):
        county.ok("log", str(pid), "对接中", "--by", "lina", "--now", "2026-05-18T08:00")
    county.ok("digest", "--now", "2026-05-18T08:31")
    sent = county.ok("send", "--now", "2026-05-18T09:00", "--json").json()
    # nothing lit, nothing due: the overdue problem is the reason for the mail (before: none went)
    got = mails(county)
    assert sent["messages"] == 4 and sorted(got) == ["lina", "liuqiang", "wangjun", "xuli"]
    (lina,) = got["lina"]
    assert str(lina["Subject"]) == "【周调度】2026年第21周 在办项目2个，问题逾期1个"
    text = body(lina, "plain")
    assert (
        "未销号问题（1个项目）：\n"
        f"- #{first} 伊禾乳业\n"
        "  问题#1【重大】供电线路迁改｜责任单位：城关镇人民政府｜办结时限：2026-05-11（已逾期7天）\n"
        "  问题#3【协调】环评批复｜责任单位：县投资促进局｜办结时限：2026-06-30\n"
    ) in text
    assert "临时用电" not in text and f"#{second} 华北冷链\n" not in text  # closed; no problems
    html = body(lina, "html")
    assert "供电线路迁改" in html and "（已逾期7天）" in html and "环评批复" in html
    for key in ("wangjun", "liuqiang"):  # the unit head and the leader in charge see them too
        assert "问题#1【重大】供电线路迁改" in body(got[key][0], "plain")
    (office,) = got["xuli"]  # the county summary: counted
    assert str(office["Subject"]) == "【督办周报】2026年第21周 全县亮灯0个，问题逾期1个"
    assert "问题清单：未销号问题2个，其中逾期1个。" in body(office, "plain")
    assert "未销号问题<b>2</b>个，其中逾期<b>1</b>个" in body(office, "html")


def test_project_show_json_has_the_open_problems_and_the_notices(county: Cli) -> None:
    pid = talks(county, "伊禾乳业")
    other = talks(county, "华北冷链")
    problem(county, pid, "土地指标未落实", "协调", "城关镇", "2026-05-07")
    problem(county, pid, "环评", "一般", "bureau", "2026-06-30")
    county.ok("problem", "close", "2", "--by", "xuli", "--resolution", "已批复", "--now", "2026-05-07T09:00")
    county.ok("sweep", "--now", RED_DAY)  # red: notices 1 (伊禾乳业) and 2 (华北冷链)
    shown = county.ok("project", "show", str(pid), "--json", "--now", "2026-05-08T11:00").json()
    assert shown["id"] == pid and shown["stage"] == "talks"  # the project's own shape, unchanged
    assert [
        (p["id"], p["level"], p["owner"]["key"], p["due_on"], p["overdue_days"]) for p in shown["problems"]
    ] == [(1, "coordination", "chengguan", "2026-05-07", 1)]
    assert [(n["number"], n["reply_due"], n["replied_at"]) for n in shown["notices"]] == [
        ("督〔2026〕第1号", "2026-05-14", None)
    ]
    assert county.ok("project", "show", str(other), "--json").json()["problems"] == []
    text = county.ok("project", "show", str(pid), "--now", "2026-05-08T11:00").out
    assert "problem 1 [协调] 土地指标未落实" in text and "notice 督〔2026〕第1号 issued 2026-05-08" in text
    assert "环评" not in text
    listed = county.ok("project", "list", "--json").json()
    assert "problems" not in listed[0] and "notices" not in listed[0]  # only show reads them


def test_history_names_the_supervision_changes(county: Cli) -> None:
    pid = talks(county, "伊禾乳业")
    problem(county, pid, "供电线路迁改", "重大", "chengguan", "2026-05-11")
    county.ok("sweep", "--now", RED_DAY)
    out = county.ok("history", str(pid), env={"COLUMNS": "400"}).out
    assert "problem no.=1, problem level=major, owner=chengguan, problem due date=2026-05-11" in out
    assert "notice number=督〔2026〕第1号, notice id=1, reply due=2026-05-14" in out
    assert "due_on=" not in out and "reply_due=" not in out


def test_the_dry_run_names_the_unit_behind_and_leaves_out_what_is_queued(county: Cli) -> None:
    one = talks(county, "伊禾乳业", since="2026-04-20", now="2026-04-20T10:00")
    talks(county, "华北冷链", since="2026-04-20", now="2026-04-20T10:00")
    county.ok("round", "open", "--month", "2026-05", "--due", "2026-05-12", "--units", "城关镇",
              "--by", "xuli", "--now", "2026-05-06T09:00")  # fmt: skip
    county.ok("round", "report", "2026-05", str(one), "--by", "wangjun", "--progress", "推进中",
              "--now", "2026-05-07T09:00")  # fmt: skip
    problem(county, one, "供电线路迁改", "重大", "chengguan", "2026-05-11")
    dry = county.ok("sweep", "--dry-run", "--now", "2026-05-13T09:00").out
    lines = [line for line in dry.splitlines() if line.startswith("would queue")]
    assert "project None" not in dry
    assert [line for line in lines if "unit" in line] == [
        "would queue: unit 城关镇人民政府 report overdue 黄灯 → 王军 (责任单位负责人)"
    ]
    planned = county.ok("sweep", "--dry-run", "--now", "2026-05-13T09:00", "--json").json()["planned"]
    round_rows = [p for p in planned if p["kind"] == "round"]
    assert [(p["project_id"], p["unit_key"], p["recipient_key"]) for p in round_rows] == [
        (None, "chengguan", "wangjun")
    ]
    assert county.ok("sweep", "--now", "2026-05-13T09:00", "--json").json()["queued"] == len(planned)
    again = county.ok("sweep", "--dry-run", "--now", "2026-05-13T09:05")
    assert "would queue" not in again.out  # the round's and the problem's rows are queued already
    assert county.ok("sweep", "--dry-run", "--now", "2026-05-13T09:05", "--json").json()["planned"] == []
