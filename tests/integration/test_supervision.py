"""Supervision (督办, issue 9): the problem list (问题清单), numbered 督办 notices and their replies,
reporting rounds (调度) — each command and its refusals through the CLI (in-process), and the overdue
ladders through the real sweep and a real send to the maildir.

2026 calendar: 劳动节 05-01 … 05-05 off, Saturday 05-09 a make-up working day; 端午 06-19 off.
A talks (洽谈) project since 2026-01-05 has its deadline on 04-05 (90 days); red is 20 working days
after it, so the sweep of Friday 05-08 finds it red.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from followup.app import escalation, supervision
from followup.app.supervision import Red
from tests.county import SMALL
from tests.helpers import Cli, make_runtime, snapshot
from tests.integration.test_delivery import body
from tests.integration.test_mail_rules import mails

RED_DAY = "2026-05-08T10:00"


@pytest.fixture
def county(cli: Cli) -> Cli:
    return SMALL.seed_cli(cli)


@pytest.fixture
def any_county(any_cli: Cli) -> Cli:
    return SMALL.seed_cli(any_cli)


def talks(run: Cli, name: str, since: str = "2026-01-05", now: str = "2026-05-01T10:00") -> int:
    """A project in talks (洽谈) since ``since``, led by 刘强; its id."""
    args = [
        "project",
        "add",
        "--name",
        name,
        "--officer",
        "lina",
        "--unit",
        "chengguan",
        "--leader",
        "liuqiang",
    ]
    out = run.ok(*args, "--since", since, "--stage", "talks", "--investor", "伊禾", "--now", now).out
    return int(out)


def outbox(run: Cli, *kinds: str) -> list[tuple[Any, ...]]:
    """(kind, level, repeat, recipient, status, project) of the notifications of ``kinds``, in that order
    (yellow before red)."""
    return sorted(
        (
            (r["kind"], r["level"], r["repeat_no"], r["recipient"]["key"], r["status"], r["project_id"])
            for r in run.ok("outbox", "--json", "--limit", "500").json()
            if r["kind"] in kinds
        ),
        key=lambda r: (r[0], r[1] == "red", r[2], r[3]),
    )


def refused(run: Cli, db_url: str, code: int, start: str, *args: str) -> None:
    """``args`` is refused with one line starting with ``start``, exit ``code``, nothing written."""
    before = snapshot(db_url)
    result = run(*args)
    assert result.code == code, (args, result.code, result.err)
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert result.err.startswith(f"error: {start}"), result.err
    assert snapshot(db_url) == before


# --------------------------------------------------------------------------- problems


def test_a_problem_is_opened_listed_shown_and_closed(county: Cli, sqlite_url: str) -> None:
    pid = talks(county, "伊禾乳业")
    opened = county.ok(
        "problem",
        "add",
        str(pid),
        "土地指标未落实",
        "--level",
        "协调",
        "--owner",
        "城关镇",
        "--due",
        "2026年5月11日",
        "--by",
        "xuli",
        "--now",
        "2026-05-06T09:00",
    )
    assert opened.out.strip() == f"problem 1 opened on project {pid}: 城关镇人民政府, due 2026-05-11"
    county.ok(
        "problem",
        "add",
        str(pid),
        "环评",
        "--level",
        "major",
        "--owner",
        "bureau",
        "--due",
        "2026-06-30",
        "--by",
        "xuli",
        "--now",
        "2026-05-06T09:00",
    )

    listed = county.ok("problem", "list", "--json", "--now", "2026-05-12T09:00").json()
    assert [(p["id"], p["level"], p["owner"]["key"], p["overdue_days"]) for p in listed] == [
        (1, "coordination", "chengguan", 1),
        (2, "major", "bureau", 0),
    ]
    overdue = county.ok("problem", "list", "--overdue", "--json", "--now", "2026-05-12T09:00").json()
    assert [p["id"] for p in overdue] == [1]
    assert [p["id"] for p in county.ok("problem", "list", "--unit", "bureau", "--json").json()] == [2]
    assert "土地指标未落实" in county.ok("problem", "list", "--project", str(pid)).out
    shown = county.ok("project", "show", str(pid), "--now", "2026-05-12T09:00").out
    assert "problem 1 [协调] 土地指标未落实 — 城关镇人民政府, due 2026-05-11, overdue 1 days" in shown

    refused(
        county,
        sqlite_url,
        2,
        "'lina' (李娜) may not close problem 2: only an official of its owning unit",
        "problem",
        "close",
        "2",
        "--by",
        "lina",
        "--resolution",
        "x",
    )
    county.ok(
        "problem", "close", "1", "--by", "wangjun", "--resolution", "已落实指标", "--now", "2026-05-12T10:00"
    )
    refused(
        county,
        sqlite_url,
        5,
        "problem 1 was already closed on 2026-05-12",
        "problem",
        "close",
        "1",
        "--by",
        "wangjun",
        "--resolution",
        "again",
    )
    assert [p["id"] for p in county.ok("problem", "list", "--open", "--json").json()] == [2]
    assert "土地指标未落实" not in county.ok("project", "show", str(pid)).out
    history = county.ok("history", str(pid), "--json").json()
    assert [(e["kind"], e["note"]) for e in history if e["kind"].startswith("problem")] == [
        ("problem", "土地指标未落实"),
        ("problem", "环评"),
        ("problem_closed", "已落实指标"),
    ]
    assert history[-1]["by"]["key"] == "wangjun"


def test_problem_refusals_write_nothing(county: Cli, sqlite_url: str) -> None:
    pid = talks(county, "伊禾乳业")
    add = ["problem", "add", str(pid), "问题", "--by", "xuli", "--now", "2026-05-06T09:00"]
    good = ["--level", "一般", "--owner", "chengguan", "--due", "2026-05-20", "--now", "2026-05-06T09:00"]
    refused(county, sqlite_url, 2, "unknown problem level '紧急'", *add[:-2], "--level", "紧急", *good[2:])
    refused(county, sqlite_url, 4, "unknown unit", *add[:-2], *good[:2], "--owner", "nowhere", *good[4:])
    refused(
        county, sqlite_url, 2, "--due 2026-05-01 is in the past", *add[:-2], *good[:4], "--due", "2026-05-01"
    )
    refused(county, sqlite_url, 2, "bad --due", *add[:-2], *good[:4], "--due", "soon")
    refused(county, sqlite_url, 4, "unknown project 99", "problem", "add", "99", "x", *good, "--by", "xuli")
    refused(
        county,
        sqlite_url,
        4,
        "unknown problem 7",
        "problem",
        "close",
        "7",
        "--by",
        "xuli",
        "--resolution",
        "x",
    )
    refused(
        county,
        sqlite_url,
        2,
        "problem text must not be empty",
        "problem",
        "add",
        str(pid),
        "  ",
        *good,
        "--by",
        "xuli",
    )


def test_an_overdue_problem_climbs_to_its_owning_unit_and_stops_when_closed(county: Cli) -> None:
    pid = talks(county, "伊禾乳业", since="2026-04-20", now="2026-04-20T10:00")  # no deadline trouble yet
    county.ok(
        "problem",
        "add",
        str(pid),
        "供电线路迁改",
        "--level",
        "重大",
        "--owner",
        "chengguan",
        "--due",
        "2026-05-11",
        "--by",
        "xuli",
        "--now",
        "2026-05-06T09:00",
    )
    county.ok("log", str(pid), "对接中", "--by", "lina", "--now", "2026-05-11T09:00")
    assert county.ok("sweep", "--now", "2026-05-11T18:00", "--json").json()["queued"] == 0  # due today
    # Tuesday 05-12, the next working day: 黄灯 to the unit head and the case officer
    county.ok("sweep", "--now", "2026-05-12T09:00")
    county.ok("send", "--now", "2026-05-12T09:00")
    assert outbox(county, "problem") == [
        ("problem", "yellow", 0, "lina", "sent", pid),
        ("problem", "yellow", 0, "wangjun", "sent", pid),
    ]
    (head,) = mails(county)["wangjun"]
    assert str(head["Subject"]) == "【问题逾期】伊禾乳业：供电线路迁改"
    text = body(head, "plain")
    assert "问题：#1【重大】供电线路迁改" in text and "办结时限：2026-05-11（已逾期1天）" in text
    assert 'followup problem close 1 --by wangjun --resolution "办理结果"' in text
    assert "供电线路迁改" in body(head, "html")
    # 5 working days after the due date (05-18): 红灯, up to the leader in charge and the supervision office
    county.ok("log", str(pid), "对接中", "--by", "lina", "--now", "2026-05-18T09:00")
    county.ok("sweep", "--now", "2026-05-18T09:30")
    assert county.ok("sweep", "--now", "2026-05-18T09:40", "--json").json()["queued"] == 0
    county.ok("send", "--now", "2026-05-18T09:30")
    reds = [r for r in outbox(county, "problem") if r[1] == "red"]
    assert [(r[3], r[4]) for r in reds] == [
        ("lina", "sent"),
        ("liuqiang", "sent"),
        ("wangjun", "sent"),
        ("xuli", "sent"),
    ]
    # a week later the repeat is queued (not to the supervision office); closed first, it never goes
    county.ok("log", str(pid), "对接中", "--by", "lina", "--now", "2026-05-25T09:00")
    county.ok("sweep", "--now", "2026-05-25T09:30")
    county.ok(
        "problem", "close", "1", "--by", "liuqiang", "--resolution", "已迁改", "--now", "2026-05-25T09:40"
    )
    sent = county.ok("send", "--now", "2026-05-25T09:50", "--json").json()
    assert (sent["messages"], sent["obsolete"]) == (0, 3)
    assert [(r[2], r[3], r[4]) for r in outbox(county, "problem") if r[2] == 1] == [
        (1, "lina", "obsolete"),
        (1, "liuqiang", "obsolete"),
        (1, "wangjun", "obsolete"),
    ]
    assert county.ok("sweep", "--now", "2026-06-01T09:30", "--json").json()["queued"] == 0


# --------------------------------------------------------------------------- 督办 notices


def test_red_issues_one_numbered_notice_named_in_the_red_mail(any_county: Cli, db_url: str) -> None:
    run = any_county
    first = talks(run, "伊禾乳业")
    second = talks(run, "华北冷链")
    swept = run.ok("sweep", "--now", RED_DAY, "--json").json()
    assert swept["notices"] == ["督〔2026〕第1号", "督〔2026〕第2号"]
    assert run.ok("sweep", "--now", "2026-05-08T11:00", "--json").json()["notices"] == []
    notices = run.ok("notice", "list", "--json").json()
    assert [(n["number"], n["project_id"], n["unit"]["key"], n["reply_due"]) for n in notices] == [
        ("督〔2026〕第1号", first, "chengguan", "2026-05-14"),  # 5 working days: 05-09 (调休), 11, 12, 13, 14
        ("督〔2026〕第2号", second, "chengguan", "2026-05-14"),
    ]
    history = run.ok("history", str(first), "--json").json()
    assert [(e["kind"], e["note"]) for e in history if e["kind"] == "notice"] == [
        ("notice", "督〔2026〕第1号")
    ]

    run.ok("send", "--now", RED_DAY)
    got = mails(run)
    head = next(m for m in got["wangjun"] if "伊禾乳业" in str(m["Subject"]))
    text = body(head, "plain")  # both projects in one mail: a block each
    assert "督办通知：督〔2026〕第1号（2026-05-08下发，请于2026-05-14前书面回复）" in text
    assert 'followup reply 督〔2026〕第1号 "情况说明" --by wangjun' in text
    assert "督〔2026〕第1号" in body(head, "html")
    officer = next(m for m in got["lina"] if "伊禾乳业" in str(m["Subject"]))
    assert "followup reply" not in body(officer, "plain")  # the case officer is not asked to reply

    # a reply by someone outside the unit, the leader and supervision is refused; the unit's head replies
    run.ok("unit", "add", "hexi", "--name", "河西镇")
    run.ok("official", "add", "zhaomin", "--name", "赵敏", "--email", "zm@example.gov.cn", "--unit", "hexi")
    refused(
        run,
        db_url,
        2,
        "'zhaomin' (赵敏) may not reply to notice 督〔2026〕第1号",
        "reply",
        "2026-1",
        "说明",
        "--by",
        "zhaomin",
    )
    refused(run, db_url, 4, "unknown notice '2026-9'", "reply", "2026-9", "说明", "--by", "wangjun")
    refused(run, db_url, 2, "bad notice '第几号'", "reply", "第几号", "说明", "--by", "wangjun")
    run.ok(
        "reply",
        "督〔2026〕第1号",
        "土地指标正在报批，预计6月底前落实",
        "--by",
        "wangjun",
        "--now",
        "2026-05-12T09:00",
    )
    refused(
        run,
        db_url,
        5,
        "notice 督〔2026〕第1号 was already replied to on 2026-05-12",
        "reply",
        "1",
        "again",
        "--by",
        "liuqiang",
    )
    opened = run.ok("notice", "list", "--open", "--json").json()
    assert [n["number"] for n in opened] == ["督〔2026〕第2号"]
    history = run.ok("history", str(first), "--json").json()
    assert history[-1]["kind"] == "reply" and history[-1]["by"]["key"] == "wangjun"
    assert (
        "notice 督〔2026〕第1号 issued 2026-05-08: replied 2026-05-12"
        in run.ok("project", "show", str(first)).out
    )


def test_a_missing_reply_climbs_until_it_is_given(any_county: Cli) -> None:
    run = any_county
    pid = talks(run, "伊禾乳业")
    run.ok("sweep", "--now", RED_DAY)
    run.ok("send", "--now", RED_DAY)
    # due 05-14: the next working day 05-15 the unit head and the leader in charge are reminded
    run.ok("sweep", "--now", "2026-05-15T09:00")
    run.ok("send", "--now", "2026-05-15T09:00")
    (red,) = [m for m in mails(run)["wangjun"] if "红灯" in str(m["Subject"])]
    assert "已下发督办通知督〔2026〕第1号，请责任单位于2026-05-14前书面报送情况说明" in body(red, "plain")
    assert "已下发督办通知督〔2026〕第1号" in body(red, "html")
    assert outbox(run, "reply") == [
        ("reply", "yellow", 0, "liuqiang", "sent", pid),
        ("reply", "yellow", 0, "wangjun", "sent", pid),
    ]
    mail = next(m for m in mails(run)["liuqiang"] if "回复逾期" in str(m["Subject"]))
    assert str(mail["Subject"]) == "【回复逾期】督〔2026〕第1号 伊禾乳业"
    assert "回复时限：2026-05-14（已逾期1天，尚未书面回复）" in body(mail, "plain")
    # 5 working days after (05-21): the supervision office too; the reply comes before it is sent
    run.ok("sweep", "--now", "2026-05-21T09:00")
    assert {r[3] for r in outbox(run, "reply") if r[1] == "red"} == {"wangjun", "liuqiang", "xuli"}
    run.ok("reply", "1", "已书面说明", "--by", "xuli", "--now", "2026-05-21T09:05")
    run.ok("send", "--now", "2026-05-21T09:10")
    assert {r[4] for r in outbox(run, "reply") if r[1] == "red"} == {"obsolete"}
    assert run.ok("sweep", "--now", "2026-05-28T09:00", "--json").json()["queued"] >= 0
    assert [r for r in outbox(run, "reply") if r[4] == "pending"] == []


def test_notices_are_numbered_per_year(county: Cli) -> None:
    old = talks(county, "去年的项目", since="2025-08-01", now="2025-08-01T10:00")
    county.ok("sweep", "--now", "2025-12-01T10:00")
    county.ok("log", str(old), "跟进", "--by", "lina", "--now", "2025-12-02T10:00")
    talks(county, "今年的项目一")
    talks(county, "今年的项目二")
    county.ok("sweep", "--now", RED_DAY)
    numbers = [(n["year"], n["seq"], n["number"]) for n in county.ok("notice", "list", "--json").json()]
    assert numbers == [
        (2025, 1, "督〔2025〕第1号"),
        (2026, 1, "督〔2026〕第1号"),
        (2026, 2, "督〔2026〕第2号"),
    ]


# --------------------------------------------------------------------------- reporting rounds


def test_a_round_is_opened_reported_on_and_its_rate_shown(county: Cli, sqlite_url: str) -> None:
    one = talks(county, "伊禾乳业")
    two = talks(county, "华北冷链")
    county.ok("unit", "add", "hexi", "--name", "河西镇", "--kind", "township")
    county.ok(
        "official",
        "add",
        "zhaomin",
        "--name",
        "赵敏",
        "--email",
        "zm@example.gov.cn",
        "--unit",
        "hexi",
        "--head",
    )
    three = int(
        county.ok(
            "project",
            "add",
            "--name",
            "河西光伏",
            "--officer",
            "zhaomin",
            "--unit",
            "hexi",
            "--now",
            "2026-05-01T10:00",
        ).out
    )
    opened = county.ok(
        "round",
        "open",
        "--month",
        "2026年5月",
        "--due",
        "2026-05-20",
        "--by",
        "xuli",
        "--now",
        "2026-05-11T09:00",
    )
    assert opened.out.strip() == "round 2026-05 opened: 3 projects asked, due 2026-05-20"
    refused(
        county,
        sqlite_url,
        5,
        "the round of 2026-05 was already opened on 2026-05-11",
        "round",
        "open",
        "--month",
        "2026-05",
        "--by",
        "xuli",
    )
    refused(
        county, sqlite_url, 2, "bad month '2026-13'", "round", "open", "--month", "2026-13", "--by", "xuli"
    )
    late = talks(county, "开启后录入", now="2026-05-12T10:00")

    county.ok(
        "round",
        "report",
        "2026-05",
        str(one),
        "--by",
        "lina",
        "--progress",
        "完成用地预审",
        "--problems",
        "指标紧张",
        "--next",
        "报批",
        "--funds",
        "1.2亿",
        "--now",
        "2026-05-12T09:00",
    )
    refused(
        county,
        sqlite_url,
        5,
        f"project {one} already reported in the round of 2026-05 on 2026-05-12",
        "round",
        "report",
        "2026-05",
        str(one),
        "--by",
        "lina",
        "--progress",
        "再报",
    )
    refused(
        county,
        sqlite_url,
        2,
        f"project {late} is not asked for in the round of 2026-05",
        "round",
        "report",
        "2026-05",
        str(late),
        "--by",
        "lina",
        "--progress",
        "x",
    )
    refused(
        county,
        sqlite_url,
        2,
        f"'zhaomin' (赵敏) may not report on project {two}",
        "round",
        "report",
        "2026-05",
        str(two),
        "--by",
        "zhaomin",
        "--progress",
        "x",
    )
    refused(
        county,
        sqlite_url,
        4,
        "no reporting round of 2026-04",
        "round",
        "report",
        "2026-04",
        str(two),
        "--by",
        "lina",
        "--progress",
        "x",
    )

    state = county.ok("round", "status", "--json", "--now", "2026-05-12T10:00").json()
    assert (state["asked"], state["reported"], state["rate"], state["overdue"]) == (3, 1, 33.3, False)
    assert [
        (u["unit"]["key"], u["asked"], u["reported"], u["rate"], u["missing"]) for u in state["units"]
    ] == [
        ("chengguan", 2, 1, 50.0, [two]),
        ("hexi", 1, 0, 0.0, [three]),
    ]
    shown = county.ok("round", "status", "2026-05", "--now", "2026-05-21T10:00").out
    assert shown.splitlines()[0] == "round 2026-05: due 2026-05-20 (overdue)"
    assert "50.0%" in shown and "33.3%" in shown
    report = [e for e in county.ok("history", str(one), "--json").json() if e["kind"] == "report"]
    assert report[0]["note"] == "完成用地预审"
    assert report[0]["changes"] == {
        "round": "2026-05",
        "problems": "指标紧张",
        "next_step": "报批",
        "funds": 12000,
    }
    assert (
        county.ok("project", "show", str(one), "--json")
        .json()["last_activity_at"]
        .startswith("2026-05-12T09:00")
    )
    listed = county.ok("round", "list", "--json").json()
    assert [(r["round"]["period"], r["reported"]) for r in listed] == [("2026-05", 1)]


def test_a_unit_behind_in_a_round_climbs_until_it_has_reported(any_county: Cli, db_url: str) -> None:
    run = any_county
    one = talks(run, "伊禾乳业", since="2026-04-20", now="2026-04-20T10:00")
    two = talks(run, "华北冷链", since="2026-04-20", now="2026-04-20T10:00")
    run.ok(
        "round",
        "open",
        "--month",
        "2026-05",
        "--due",
        "2026-05-12",
        "--units",
        "城关镇",
        "--by",
        "xuli",
        "--now",
        "2026-05-06T09:00",
    )
    run.ok(
        "round",
        "report",
        "2026-05",
        str(one),
        "--by",
        "wangjun",
        "--progress",
        "推进中",
        "--now",
        "2026-05-07T09:00",
    )
    run.ok("sweep", "--now", "2026-05-13T09:00")
    assert (
        run.ok("sweep", "--now", "2026-05-13T09:05", "--json").json()["queued"] == 0
    )  # no project: checked by hand
    run.ok("send", "--now", "2026-05-13T09:10")
    assert outbox(run, "round") == [("round", "yellow", 0, "wangjun", "sent", None)]
    (mail,) = [m for m in mails(run)["wangjun"] if "调度未报" in str(m["Subject"])]
    assert str(mail["Subject"]) == "【调度未报】2026-05调度 城关镇人民政府1个项目未报"
    assert f"未报项目：#{two} 华北冷链" in body(mail, "plain")
    # 5 working days after the due date: the supervision office too
    run.ok("log", str(two), "跟进", "--by", "lina", "--now", "2026-05-19T09:00")
    run.ok("sweep", "--now", "2026-05-19T09:30")
    assert [(r[1], r[3], r[4]) for r in outbox(run, "round") if r[1] == "red"] == [
        ("red", "wangjun", "pending"),
        ("red", "xuli", "pending"),
    ]
    run.ok(
        "round",
        "report",
        "2026-05",
        str(two),
        "--by",
        "lina",
        "--progress",
        "已签约",
        "--now",
        "2026-05-19T09:40",
    )
    run.ok("send", "--now", "2026-05-19T09:50")
    assert [r[4] for r in outbox(run, "round") if r[1] == "red"] == ["obsolete", "obsolete"]
    run.ok("sweep", "--now", "2026-05-26T09:30")
    assert len(outbox(run, "round")) == 3  # reported: nothing more
    closed = run.ok("round", "close", "2026-05", "--by", "xuli")
    assert closed.out.strip() == "round 2026-05 closed"
    refused(
        run,
        db_url,
        2,
        "the round of 2026-05 is closed",
        "round",
        "report",
        "2026-05",
        str(two),
        "--by",
        "lina",
        "--progress",
        "x",
    )


# --------------------------------------------------------------------------- concurrent numbering


@pytest.mark.postgres
def test_concurrent_issuers_never_share_a_number(pg_url: str, tmp_path: Path) -> None:
    run = Cli(pg_url, tmp_path)
    run.ok("init")
    SMALL.seed_cli(run)
    ids = [talks(run, f"项目{i}") for i in range(6)]
    runtimes = [make_runtime(pg_url, tmp_path / f"rt{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def issue(i: int) -> None:
        rt = runtimes[i]
        try:
            with rt.store.transaction() as session:
                reds = [Red(pid, 1, 1, "d1") for pid in ids[i * 3 : i * 3 + 3]]
                session.connection()  # the transaction has begun
                barrier.wait(timeout=10)
                supervision.issue_notices(rt, session, reds, rt.now())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    numbers = sorted(n["seq"] for n in run.ok("notice", "list", "--json").json())
    assert numbers == [1, 2, 3, 4, 5, 6]

    # two whole sweeps racing over the same red projects: each ladder gets one notice, no error
    more = [talks(run, f"另一项目{i}") for i in range(4)]
    sweeps = [make_runtime(pg_url, tmp_path / f"s{i}").at(runtimes[0].now()) for i in range(2)]
    results: list[Any] = []

    def sweep(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(escalation.sweep(sweeps[i]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    notices = run.ok("notice", "list", "--json").json()
    assert sorted(n["seq"] for n in notices) == list(range(1, 11))
    assert sorted(n["project_id"] for n in notices if n["seq"] > 6) == more
    for rt in runtimes + sweeps:
        rt.close()


def test_an_extension_stops_the_reminders_of_a_notice_but_not_the_notice(county: Cli) -> None:
    pid = talks(county, "伊禾乳业")
    county.ok("sweep", "--now", RED_DAY)
    county.ok(
        "extend",
        str(pid),
        "--days",
        "60",
        "--by",
        "liuqiang",
        "--reason",
        "等待环评",
        "--now",
        "2026-05-11T09:00",
    )
    county.ok("sweep", "--now", "2026-05-21T09:00")
    assert outbox(county, "reply") == []  # the project as it is: its red ladder is gone
    assert [n["number"] for n in county.ok("notice", "list", "--open", "--json").json()] == [
        "督〔2026〕第1号"
    ]
