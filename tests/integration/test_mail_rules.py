"""The mail rules of issue 8, each against a real maildir, through the CLI (in-process) as an operator
runs it: the sweep, the weekly mail and delivery on given days of the real 2026 calendar, every date
worked out by hand. The rules that depend on the outbox's SQL (superseded warnings, repeats after
deliveries) run on SQLite and on PostgreSQL.

2026: 春节 02-15 (Sun) … 02-23 (Mon) off, Saturday 02-14 a make-up working day; 端午 06-19; 中秋 09-25;
国庆 10-01 … 10-07 off, Sunday 09-20 and Saturday 10-10 make-up working days.
"""

from __future__ import annotations

from collections import defaultdict
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.county import SMALL
from tests.helpers import Cli
from tests.integration.test_delivery import body, messages

MONDAY = "2026-10-19"  # a working Monday, ISO week 43


@pytest.fixture
def county(cli: Cli) -> Cli:
    return SMALL.seed_cli(cli)


@pytest.fixture
def any_county(any_cli: Cli) -> Cli:
    return SMALL.seed_cli(any_cli)


def mails(cli: Cli) -> dict[str, list[EmailMessage]]:
    """Every mail in the maildir, by recipient key, in the order sent."""
    folder = Path(cli.env["FOLLOWUP_DATA_DIR"]) / "maildir"
    out: dict[str, list[EmailMessage]] = defaultdict(list)
    if not folder.exists():
        return out
    for mail in sorted(messages(folder), key=lambda m: m["Date"].datetime):
        out[str(mail["To"]).split("<")[1].split("@")[0]].append(mail)
    return out


def outbox(cli: Cli) -> list[tuple[str, str, int, str, str]]:
    """(kind, level, repeat, recipient, status) of every notification, oldest first."""
    return [
        (r["kind"], r["level"], r["repeat_no"], r["recipient"]["key"], r["status"])
        for r in cli.ok("outbox", "--json").json()
    ]


def day(run: Cli, when: str, *, digest: bool = False) -> dict[str, Any]:
    """What the daemon does at ``when``: sweep, the weekly mail when asked, send."""
    run.ok("sweep", "--now", when)
    if digest:
        run.ok("digest", "--now", when)
    result: dict[str, Any] = run.ok("send", "--now", when, "--json").json()
    return result


def add(run: Cli, name: str, since: str, *args: str, now: str | None = None) -> None:
    run.ok("project", "add", "--name", name, "--officer", "lina", "--unit", "chengguan",
           "--since", since, "--now", now or f"{since}T10:00", *args)  # fmt: skip


# --------------------------------------------------------------------------- only the highest rung


def test_after_a_holiday_only_the_highest_pending_rung_is_delivered(any_county: Cli) -> None:
    run = any_county
    # 洽谈 for 90 days from 2025-11-24: deadline 2026-02-22 (春节). 提示 7 days before: 02-15 (春节);
    # 黄灯 the day after: 02-23 (春节 still). The first working day after is 02-24.
    add(
        run,
        "伊禾乳制品加工",
        "2025-11-24",
        "--stage",
        "talks",
        "--investor",
        "伊禾集团",
        now="2026-02-10T10:00",
    )
    run.ok("log", "1", "对接中", "--by", "lina", "--now", "2026-02-13T10:00")
    assert run.ok("sweep", "--now", "2026-02-15T09:00", "--json").json()["queued"] == 1  # 提示 → lina
    assert run.ok("send", "--now", "2026-02-15T09:00", "--json").json()["skipped"] == "outside working hours"
    assert (
        run.ok("sweep", "--now", "2026-02-23T09:00", "--json").json()["queued"] == 2
    )  # 黄灯 → lina, wangjun
    sent = run.ok("send", "--now", "2026-02-24T09:00", "--json").json()
    assert (sent["messages"], sent["sent"], sent["obsolete"]) == (2, 2, 1)
    got = mails(run)
    (lina,) = got["lina"]
    assert str(lina["Subject"]) == "【黄灯】伊禾乳制品加工 已超期2天（洽谈）"
    assert "【提示】" not in body(lina, "plain") and "【提示】" not in body(lina, "html")
    assert [str(m["Subject"]) for m in got["wangjun"]] == ["【黄灯】伊禾乳制品加工 已超期2天（洽谈）"]
    assert outbox(run) == [
        ("deadline", "blue", 0, "lina", "obsolete"),
        ("deadline", "yellow", 0, "lina", "sent"),
        ("deadline", "yellow", 0, "wangjun", "sent"),
    ]


# --------------------------------------------------------------------------- repeats follow deliveries


def test_a_repeat_waits_its_interval_after_the_last_delivery(any_county: Cli) -> None:
    run = any_county
    # A ledger line entered overdue on Wednesday 10-21: 线索 since 09-07, deadline 10-07; 黄灯 from 10-08,
    # weekly: 10-15 (owed at entry), 10-22 (due the next day), 10-29.
    add(run, "华北冷链物流中心", "2026-09-07", now="2026-10-21T10:00")
    assert day(run, "2026-10-21T10:05")["messages"] == 2  # lina and wangjun: 黄灯, repeat 1
    run.ok("log", "1", "对接中", "--by", "lina", "--now", "2026-10-21T11:00")  # no 跟进超时 in the way
    thursday = day(run, "2026-10-22T09:00")  # repeat 2 is due, but the last delivery was yesterday
    assert (thursday["messages"], thursday["postponed"]) == (0, 2)
    for when in ("2026-10-23T09:00", "2026-10-26T09:00"):
        run.ok("log", "1", "跟进", "--by", "lina", "--now", when)
        assert day(run, when)["messages"] == 0
    run.ok("log", "1", "跟进", "--by", "lina", "--now", "2026-10-27T09:00")
    assert day(run, "2026-10-27T09:05")["messages"] == 0
    assert day(run, "2026-10-28T09:00")["messages"] == 2  # 10-21 + 7 days: repeat 2 goes
    assert [m["Date"].datetime.date().isoformat() for m in mails(run)["lina"]] == ["2026-10-21", "2026-10-28"]
    assert ("deadline", "yellow", 2, "lina", "sent") in outbox(run)


def test_a_repeat_is_a_reminder_never_sent_the_working_day_after_the_last(county: Cli) -> None:
    run = county
    # 重大项目 线索 since Thursday 07-02: 10 working days → deadline 07-16. 黄灯 from Friday 07-17, every
    # 3 days: Monday 07-20, 07-23, 07-26; 红灯 only on 07-30.
    add(run, "云服务数据中心", "2026-07-02", "--workflow", "major", now="2026-07-02T10:00")
    sent: dict[str, list[str]] = {}
    for when in ("07-17", "07-20", "07-21", "07-22", "07-23", "07-24", "07-27"):
        run.ok("log", "1", "跟进", "--by", "lina", "--now", f"2026-{when}T08:00")  # no 跟进超时
        before = len(mails(run)["lina"])
        day(run, f"2026-{when}T09:00", digest=when in ("07-20", "07-27"))  # the daemon: Mondays
        sent[when] = [str(m["Subject"]) for m in mails(run)["lina"][before:]]
    assert sent == {
        "07-17": ["【黄灯】云服务数据中心 已超期1天（线索）"],  # news: at once
        # Monday's repeat would ride with the weekly mail, but Friday → Monday are consecutive working
        # days: it waits a day, and goes alone as the reminder it is (due before Monday's mail time).
        "07-20": ["【周调度】2026年第30周 在办项目1个，亮灯1个"],
        "07-21": ["【黄灯】云服务数据中心 已超期5天（线索）"],
        "07-22": [],
        "07-23": [],  # repeat 2 is due, 3 days after Tuesday's delivery is Friday
        "07-24": [],  # a reminder with no news to go with: it waits for Monday's weekly mail
        # repeat 3 (repeat 2 superseded by it) with the weekly mail
        "07-27": ["【黄灯】云服务数据中心 已超期11天；周调度（2026年第31周）"],
    }
    assert [
        (level, n, status)
        for kind, level, n, who, status in outbox(run)
        if who == "lina" and kind != "digest"
    ] == [
        ("yellow", 0, "sent"),
        ("yellow", 1, "sent"),
        ("yellow", 2, "obsolete"),
        ("yellow", 3, "sent"),
    ]


def test_a_waiting_reminder_goes_with_the_next_news_to_its_recipient(any_county: Cli) -> None:
    run = any_county
    add(run, "伊禾乳制品加工", "2026-09-14")  # 线索: deadline 10-14, 黄灯 10-15, repeated 10-22
    add(run, "华北冷链物流中心", "2026-09-22")  # 线索: deadline 10-22, 提示 10-15, 黄灯 10-23

    def quiet_day(when: str) -> dict[str, Any]:
        for pid in ("1", "2"):  # followed up every morning: no 跟进超时 in the way
            run.ok("log", pid, "跟进", "--by", "lina", "--now", f"2026-{when}T08:00")
        return day(run, f"2026-{when}T09:00")

    assert quiet_day("10-15")["messages"] == 2  # news: 1's 黄灯 (lina, wangjun), 2's 提示 (lina)
    thursday = quiet_day("10-22")  # 1's weekly repeat, a reminder: no news to go with
    assert (thursday["messages"], thursday["postponed"]) == (0, 2)
    friday = quiet_day("10-23")  # 2's 黄灯 is news: 1's reminder goes with it
    assert (friday["messages"], friday["sent"]) == (2, 4)
    last = mails(run)["lina"][-1]
    assert str(last["Subject"]) == "【黄灯】2个项目预警：伊禾乳制品加工等"
    text = body(last, "plain")
    assert "1. 伊禾乳制品加工（线索）：【黄灯】已超期9天" in text
    assert "2. 华北冷链物流中心（线索）：【黄灯】已超期1天" in text
    rows = run.ok("outbox", "--json").json()
    riders = {r["message_id"] for r in rows if r["recipient"]["key"] == "lina" and r["repeat_no"] == 1}
    assert riders == {str(last["Message-ID"])}


# --------------------------------------------------------------------------- the weekly mail


def test_a_week_with_nothing_lit_and_nothing_due_sends_no_weekly_mail(county: Cli) -> None:
    add(county, "金穗杂粮", "2026-10-16")  # 线索: deadline 11-15, 提示 from 11-08; green this week
    county.ok("log", "1", "已联系", "--by", "lina", "--now", f"{MONDAY}T08:00")
    assert county.ok("digest", "--now", f"{MONDAY}T08:31").out.startswith("3 digests queued")  # + 徐丽
    sent = county.ok("send", "--now", f"{MONDAY}T09:00", "--json").json()
    assert (sent["messages"], sent["obsolete"]) == (0, 3)
    assert mails(county) == {}


def test_mondays_weekly_mail_and_that_mornings_warnings_are_one_mail(county: Cli) -> None:
    add(county, "华北冷链", "2026-09-01")  # 线索: deadline 10-01; 黄灯 weekly from 10-02
    add(county, "金穗杂粮", "2026-10-16")  # green, not due this week
    county.ok("log", "1", "已联系", "--by", "lina", "--now", f"{MONDAY}T08:00")
    county.ok("log", "2", "已联系", "--by", "lina", "--now", f"{MONDAY}T08:00")
    sent = day(county, f"{MONDAY}T09:00", digest=True)
    assert (sent["messages"], sent["digests"], sent["recipients"]) == (3, 3, 3)  # lina, wangjun, 徐丽
    got = mails(county)
    (lina,) = got["lina"]
    assert str(lina["Subject"]) == "【黄灯】华北冷链 已超期18天；周调度（2026年第43周）"
    text = body(lina, "plain")
    assert text.startswith("李娜（责任人）：")
    assert "━━ 1.【黄灯】华北冷链 ━━" in text and 'followup log 1 "跟进情况" --by lina' in text
    assert "周调度 2026年第43周（2026-10-19 至 2026-10-25）：在办项目2个，亮灯1个，本周到期0个" in text
    assert 'followup log <项目编号> "跟进情况" --by lina' in text
    (wangjun,) = got["wangjun"]
    assert body(wangjun, "plain").startswith("王军（责任单位负责人）：")
    rows = county.ok("outbox", "--json").json()
    assert {r["message_id"] for r in rows if r["recipient"]["key"] == "lina"} == {str(lina["Message-ID"])}


def test_the_weekly_county_summary_for_the_bureau_head_supervision_and_principals(county: Cli) -> None:
    county.ok("official", "add", "zhaomin", "--name", "赵敏", "--email", "zhaomin@example.gov.cn",
              "--unit", "bureau", "--head")  # fmt: skip  # the bureau head: head of FOLLOWUP_BUREAU_UNIT
    county.ok("official", "add", "huangwei", "--name", "黄伟", "--email", "huangwei@example.gov.cn",
              "--unit", "bureau", "--role", "principal")  # fmt: skip
    # 1: 线索 since 08-12, deadline 09-11; 红灯 20 working days on: 09-14..18, 09-20 (Sun, make-up),
    #    09-21..24, 09-28..30, 10-08, 10-09, 10-10 (Sat, make-up), 10-12..15 → 10-15: newly red this week.
    add(county, "伊禾乳制品加工", "2026-08-12")
    # 2: on hold until Wednesday 10-21: a hold running out this week.
    add(county, "华北冷链物流中心", "2026-09-01", "--stage", "talks", "--investor", "华北集团")
    county.ok("hold", "2", "--by", "lina", "--reason", "资金调整", "--until", "2026-10-21",
              "--on", "2026-09-15", "--now", "2026-09-15T10:00")  # fmt: skip
    # 3: on hold from 03-16 to 12-31: longer than 6 months.
    add(county, "金穗杂粮深加工", "2026-03-02", "--stage", "talks", "--investor", "金穗集团")
    county.ok("hold", "3", "--by", "lina", "--reason", "等待规划调整", "--until", "2026-12-31",
              "--on", "2026-03-16", "--now", "2026-03-16T10:00")  # fmt: skip
    assert county.ok("digest", "--now", f"{MONDAY}T08:31").out.startswith("5 digests queued")
    sent = county.ok("send", "--now", f"{MONDAY}T09:00", "--json").json()
    assert (sent["messages"], sent["obsolete"]) == (5, 0)
    got = mails(county)
    assert sorted(got) == ["huangwei", "lina", "wangjun", "xuli", "zhaomin"]  # not 刘强 (no project)
    assert "全县督办周报" not in body(got["lina"][0], "plain")
    greetings = {
        "xuli": "徐丽（督查室）：",
        "zhaomin": "赵敏（县投资促进局负责人）：",
        "huangwei": "黄伟（县主要领导）：",
    }
    for key, greeting in greetings.items():
        (mail,) = got[key]
        assert str(mail["Subject"]) == "【督办周报】2026年第43周 全县亮灯1个，新增红灯1个，暂缓到期1个"
        text = body(mail, "plain")
        assert text.startswith(greeting)
        for line in (
            "城关镇人民政府：正常2，提示0，黄灯0，红灯1，约谈0；无跟进1，暂缓2",
            "本周新亮红灯：1个\n  #1 伊禾乳制品加工（城关镇人民政府，线索）",
            "本周新列入约谈：0个",
            "暂缓到期或本周到期：1个\n  #2 华北冷链物流中心（城关镇人民政府，原洽谈阶段）预计2026-10-21恢复",
            "暂缓超过6个月：1个\n  #3 金穗杂粮深加工（城关镇人民政府）2026-03-16起暂缓，预计2026-12-31恢复",
            "红灯、约谈项目：1个\n  【红灯】#1 伊禾乳制品加工（城关镇人民政府，线索）已超期38天",
            "超期最久的项目：\n  1. #1 伊禾乳制品加工（城关镇人民政府，线索）已超期38天【红灯】",
        ):
            assert line in text, line
        assert "全县督办周报" in body(mail, "html")


# --------------------------------------------------------------------------- what a mail says


def test_the_subject_names_the_highest_level_and_each_reader_is_asked_what_fits(county: Cli) -> None:
    county.ok("official", "add", "huangwei", "--name", "黄伟", "--email", "huangwei@example.gov.cn",
              "--unit", "bureau", "--role", "principal")  # fmt: skip
    add(county, "伊禾乳制品加工", "2026-08-12", "--leader", "liuqiang")  # 红灯 from 10-15 (see above)
    add(county, "华北冷链物流中心", "2026-09-01")  # 线索: deadline 10-01, 黄灯
    day(county, "2026-10-15T09:00")
    got = mails(county)
    (lina,) = got["lina"]
    assert str(lina["Subject"]) == "【红灯】2个项目预警：伊禾乳制品加工等"
    text = body(lina, "plain")
    assert text.index("伊禾乳制品加工（线索）：【红灯】已超期34天") < text.index(
        "华北冷链物流中心（线索）：【黄灯】"
    )
    # one block per project, with all its warnings: the red rung and 跟进超时 together
    assert text.count("━━ ") == 2 and "本次预警：\n  【红灯】已超期34天\n  【跟进超时】已" in text
    (leader,) = got["liuqiang"]
    assert str(leader["Subject"]) == "【红灯】伊禾乳制品加工 已超期34天（线索）"
    text = body(leader, "plain")
    assert text.startswith("刘强（包联领导）：") and "请您过问推动" in text
    assert "followup extend 1 --days 30 --by liuqiang" in text and "followup log" not in text
    (office,) = got["xuli"]
    assert "请督查室跟踪督办" in body(office, "plain") and "--by xuli" in body(office, "plain")
    assert "followup advance" not in body(got["wangjun"][0], "plain")

    day(county, "2026-11-10T09:00")  # 09-11 + 60 days: 约谈, to the principal leaders too
    (principal,) = mails(county)["huangwei"]
    assert str(principal["Subject"]).startswith("【约谈】伊禾乳制品加工 已超期60天")
    text = body(principal, "plain")
    assert text.startswith("黄伟（县主要领导）：") and "提请您约谈" in text
    assert "followup log" not in text and "followup extend" not in text


def test_the_escalation_so_far_keeps_its_history_across_an_extension(county: Cli) -> None:
    add(county, "伊禾乳制品加工", "2026-08-12", "--leader", "liuqiang")  # deadline 09-11, 红灯 10-15
    day(county, "2026-10-15T09:00")
    county.ok("extend", "1", "--days", "60", "--by", "liuqiang", "--reason", "等待环评批复",
              "--now", "2026-10-16T10:00")  # fmt: skip  # deadline 11-10: a fresh ladder, 提示 from 11-03
    county.ok("log", "1", "环评已受理", "--by", "lina", "--now", "2026-11-03T08:00")
    assert day(county, "2026-11-03T09:00")["messages"] == 1
    last = mails(county)["lina"][-1]
    assert str(last["Subject"]) == "【提示】伊禾乳制品加工 还有7天到期（线索）"
    text = body(last, "plain")
    assert "督办经过：\n  2026-10-15 红灯 → 李娜、王军、刘强、徐丽\n" in text
    assert "  2026-10-16 延期（期限由2026-09-11延至2026-11-10，刘强批准）\n" in text


# --------------------------------------------------------------------------- 暂缓到期


def test_a_hold_run_out_climbs_its_ladder_across_national_day(county: Cli) -> None:
    add(county, "伊禾乳制品加工", "2026-09-01", "--stage", "talks", "--investor", "伊禾集团")
    county.ok("hold", "1", "--by", "lina", "--reason", "投资方资金调整", "--until", "2026-09-30",
              "--on", "2026-09-10", "--now", "2026-09-10T10:00")  # fmt: skip
    # The hold ladder (investment.yaml): 黄灯 one working day after 09-30 → 10-08 (国庆 skipped), to the
    # case officer and the unit head; repeated every 5 working days: 10-14 (the make-up Saturday counts),
    # a reminder that goes with Monday's weekly mail.
    sent_on = []
    for date in ("09-29", "09-30", "10-01", "10-05", "10-07", "10-08", "10-09", "10-10", "10-12", "10-14"):
        if day(county, f"2026-{date}T09:00")["messages"]:
            sent_on.append(date)
    assert sent_on == ["10-08"]
    assert day(county, "2026-10-19T09:00", digest=True)["messages"] == 3  # lina, wangjun, 徐丽
    got = mails(county)
    assert [str(m["Subject"]) for m in got["lina"]] == [
        "【黄灯】伊禾乳制品加工 暂缓已到期8天（原洽谈阶段）",
        "【黄灯】伊禾乳制品加工 暂缓已到期19天；周调度（2026年第43周）",
    ]
    text = body(got["lina"][0], "plain")
    assert "预计2026-09-30恢复，现已到期8天仍未恢复推进" in text
    assert "恢复推进：followup resume 1 --by lina" in text
    assert "请督促责任人恢复推进" in body(got["wangjun"][0], "plain")
    assert [(k, lv, n, who) for k, lv, n, who, _ in outbox(county) if k != "digest"] == [
        ("hold", "yellow", 0, "lina"),
        ("hold", "yellow", 0, "wangjun"),
        ("hold", "yellow", 1, "lina"),
        ("hold", "yellow", 1, "wangjun"),
    ]
    board = county.ok("status", "--now", "2026-10-14T10:00", "--json").json()
    assert (board["totals"]["yellow"], board["totals"]["on_hold"]) == (1, 1)
    county.ok("resume", "1", "--by", "lina", "--now", "2026-10-20T10:00")
    assert day(county, "2026-10-21T09:00")["messages"] == 0  # resumed: the hold's ladder is over
