"""The monthly bulletin (月通报): its figures against the month before, the ranking (红黑榜) by the
configured score, the red and 约谈 projects, overdue problems and open 督办 notices, its files, its schedule
(the 5th, or the next working day) and its mailing (once per reader and month)."""

from __future__ import annotations

import io
import mailbox
from dataclasses import replace
from datetime import date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

from followup.app import bulletin, bulletin_files, delivery, rounds, supervision
from followup.app.runtime import Runtime
from followup.daemon import Monthly
from followup.errors import ConfigError, InvalidInput
from tests.bulletin_county import ISSUED, READERS, at, red_notice, seed
from tests.helpers import Cli, make_runtime


@pytest.fixture
def ids(rt: Runtime) -> dict[str, int]:
    """The bulletin's county (tests.bulletin_county) in ``rt``: its projects' ids by short name."""
    return seed(rt)


def issued(rt: Runtime, when: str = ISSUED) -> Runtime:
    return rt.at(at(when))


def with_settings(rt: Runtime, **values: object) -> Runtime:
    return replace(rt, settings=replace(rt.settings, **values))


def test_the_month_before_now_against_the_month_before_it(rt: Runtime, ids: dict[str, int]) -> None:
    view = bulletin.build_bulletin(issued(rt))
    assert view.month == "2026-10" and view.month_label == "2026年10月"
    assert (view.as_of, view.previous_as_of, view.issued_on) == (
        date(2026, 10, 31),
        date(2026, 9, 30),
        date(2026, 11, 5),
    )
    assert view.title == "本县招商引资项目推进情况通报" and view.number == "〔2026〕第10期"
    assert view.issuer == "县招商引资工作领导小组办公室"
    figures = {f.key: f for f in view.figures}
    # 31 October: signed 乳品 (9-10), 冷链 (entered at signing), 云服务 (8-20), 健康食品 (10-08); broke
    # ground 云服务 (9-25) and 乳品 (10-12) → 2/4. 30 September: 健康食品 not yet signed, 乳品 not started
    # → 1/3. The change: 50.0% - 33.3% = +16.7 points.
    start = figures["start_rate"]
    assert (start.numerator, start.denominator, start.shown) == (2, 4, "50.0%")
    assert (start.previous_shown, start.change, start.change_shown) == ("33.3%", 16.7, "+16.7 points")
    assert figures["production_rate"].change == 0 and figures["production_rate"].change_shown == "unchanged"
    assert {f.key for f in view.indicators} >= {"lead_conversion", "chain_share", "large_share", "good_share"}
    assert all(f.definition for f in view.figures + view.indicators)
    assert [(s.key, s.count) for s in view.funnel][:3] == [("lead", 5), ("talks", 4), ("signing", 4)]
    assert view.new_in_month == 1  # 健康食品, entered on 8 October
    # named by hand, in the county's words
    named = bulletin.build_bulletin(
        with_settings(issued(rt), county_name="XX县", bulletin_issuer="XX县招商局"), "2026年9月"
    )
    assert named.title == "XX县招商引资项目推进情况通报" and named.issuer == "XX县招商局"
    assert named.month == "2026-09" and named.as_of == date(2026, 9, 30)
    assert {f.key: f.shown for f in named.figures}["start_rate"] == "33.3%"


def test_units_ranked_by_the_score(rt: Runtime, ids: dict[str, int]) -> None:
    view = bulletin.build_bulletin(issued(rt))
    townships, departments = view.rankings
    assert townships.kind_label == "乡镇" and departments.kind_label == "部门"
    # default score: 开工率 ×1 + followed up in time ×0.5 − red ×5 − 约谈 ×10 − overdue problems ×2, with
    # the lights as they stood on 31 October (the follow-ups of 2 November came after the month):
    # 城关 (乳品 started and followed up, 中药材 red — 约谈 only from 1 November — and stale):
    # 100 + 50×0.5 − 5 = 120; 西城 (云服务 started, quiet since 25 September: stale): 100 + 0 = 100;
    # 东城 (冷链 red and stale, not started): 0 + 0 − 5 = −5
    assert [(u.rank, u.name, u.score) for u in townships.units] == [
        (1, "城关镇人民政府", 120.0),
        (2, "西城镇人民政府", 100.0),
        (3, "东城乡人民政府", -5.0),
    ]
    assert [u.name for u in townships.best] == ["城关镇人民政府"]
    assert [u.name for u in townships.worst] == ["东城乡人民政府"]
    assert [(u.name, u.score) for u in departments.units] == [("县投资促进局", 50.0)]
    assert departments.best == [] and departments.worst == []  # one unit: no list
    assert "县政府办公室" not in {u.name for u in view.units}  # no project, not ranked
    # another score: only lights count → 西城 0, 东城 −5, 城关 −5 (ties share a rank)
    lights_only = bulletin.build_bulletin(
        with_settings(issued(rt), bulletin_score=(("red", -5.0), ("top", -10.0)))
    )
    assert [(u.rank, u.name) for u in lights_only.rankings[0].units] == [
        (1, "西城镇人民政府"),
        (2, "东城乡人民政府"),
        (2, "城关镇人民政府"),
    ]
    tied = bulletin.build_bulletin(with_settings(issued(rt), bulletin_score=(("production_rate", 1.0),)))
    assert [u.rank for u in tied.rankings[0].units] == [1, 1, 1]
    with pytest.raises(ConfigError, match="unknown component 'speed'"):
        bulletin.build_bulletin(with_settings(issued(rt), bulletin_score=(("speed", 1.0),)))


def test_red_and_top_projects_overdue_problems_and_open_notices(rt: Runtime, ids: dict[str, int]) -> None:
    view = bulletin.build_bulletin(issued(rt))
    # as of 31 October: 中药材 (a lead due 2 September) red, 约谈 only from 1 November (60 days)
    assert [(p.name, p.light_label, p.days_past) for p in view.flagged] == [
        ("中药材种植基地", "红灯", 59),
        ("冷链物流园", "红灯", 33),
    ]
    november = bulletin.build_bulletin(issued(rt), "2026-11")  # the month in progress: as of now
    assert [(p.name, p.light_label) for p in november.flagged] == [
        ("中药材种植基地", "约谈"),
        ("冷链物流园", "红灯"),
    ]
    assert view.problems == [] and view.notices == []
    october = issued(rt, "2026-10-09 10:00")
    supervision.add_problem(
        october,
        ids["cold"],
        level="协调",
        owner="dongcheng",
        due=date(2026, 10, 20),
        by="zhaomin",
        text="用地指标未落实",
    )
    supervision.add_problem(
        october,
        ids["dairy"],
        level="一般",
        owner="chengguan",
        due=date(2026, 12, 1),
        by="lina",
        text="水电配套",
    )
    red_notice(rt, ids["cold"], "dongcheng", at("2026-10-30 09:00"), date(2026, 11, 3))
    view = bulletin.build_bulletin(issued(rt))
    # October's: overdue on 31 October, the notice not yet due (its reply by 3 November)
    assert [(q.project, q.text, q.level_label, q.days_overdue) for q in view.problems] == [
        ("冷链物流园", "用地指标未落实", "协调", 11)
    ]
    assert view.open_problems == 2
    assert [(n.number, n.project, n.days_overdue) for n in view.notices] == [
        ("督〔2026〕第7号", "冷链物流园", 0)
    ]
    # an overdue problem costs its owner 2 points by default: 东城 −5 − 2
    assert {u.name: u.score for u in view.units}["东城乡人民政府"] == -7.0
    page = bulletin_files.html(rt, view)
    for shown in ("用地指标未落实", "督〔2026〕第7号", "待回复", "中药材种植基地", "红灯"):
        assert shown in page, shown
    november = bulletin.build_bulletin(issued(rt), "2026-11")  # the month in progress: as of today
    assert [q.days_overdue for q in november.problems] == [16]
    assert [n.days_overdue for n in november.notices] == [2]
    page = bulletin_files.html(rt, november)
    for shown in ("超期2天未回复", "约谈"):
        assert shown in page, shown


def test_the_months_reporting_round_and_notices(rt: Runtime, ids: dict[str, int]) -> None:
    view = bulletin.build_bulletin(issued(rt))
    assert (view.round_rate, view.round_units, view.notices_issued) == (None, [], 0)
    assert "2026年10月未开展项目调度" in bulletin_files.html(rt, view)
    rounds.open_round(issued(rt, "2026-10-20 09:00"), month="2026-10", by="zhouqi", due=date(2026, 10, 30))
    rounds.report(issued(rt, "2026-10-22 09:00"), "2026-10", ids["cloud"], by="sunli", progress="主体施工")
    view = bulletin.build_bulletin(with_settings(issued(rt), bulletin_score=(("report_rate", 1.0),)))
    lines = {u.unit: (u.asked, u.reported, u.rate) for u in view.round_units}
    assert lines["西城镇人民政府"] == (1, 1, "100.0%") and lines["东城乡人民政府"] == (1, 0, "0.0%")
    assert view.round_rate == "20.0%"  # 1 of the 5 active projects
    first = view.rankings[0].units[0]
    assert (first.name, first.score) == ("西城镇人民政府", 100.0)
    assert "填报率20.0%" in bulletin_files.html(rt, view)


def test_the_files_are_self_contained(rt: Runtime, ids: dict[str, int]) -> None:
    rt = issued(rt)
    view = bulletin.build_bulletin(rt)
    page = bulletin_files.html(rt, view)
    assert page.startswith("<!DOCTYPE html>") and "本县招商引资项目推进情况通报" in page
    for unit in ("西城镇人民政府", "城关镇人民政府", "东城乡人民政府", "县投资促进局"):
        assert unit in page
    for section in ("一、总体情况", "二、项目推进漏斗", "三、乡镇、部门排名（红黑榜）", "四、红灯、约谈项目"):
        assert section in page
    lowered = page.lower()
    assert "<script" not in lowered and "<link" not in lowered and "src=" not in lowered
    assert "http://" not in lowered and "https://" not in lowered and "@import" not in lowered
    book = load_workbook(io.BytesIO(bulletin_files.xlsx(view)))
    assert book.sheetnames == ["指标", "红黑榜", "红灯约谈项目", "超期问题", "督办通知", "漏斗"]
    assert len(book["红黑榜"]._charts) == 2 and len(book["漏斗"]._charts) == 1  # native bar charts
    rows = list(book["红黑榜"].iter_rows(min_row=2, max_row=5, values_only=True))
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("乡镇", 1, "城关镇人民政府", 120.0),
        ("乡镇", 2, "西城镇人民政府", 100.0),
        ("乡镇", 3, "东城乡人民政府", -5.0),
        ("部门", 1, "县投资促进局", 50.0),
    ]
    assert [r[2] for r in book["红灯约谈项目"].iter_rows(min_row=2, values_only=True)] == [
        "中药材种植基地",
        "冷链物流园",
    ]


def test_a_bad_or_future_month_is_refused(rt: Runtime, ids: dict[str, int]) -> None:
    for typed in ("2026-13", "11/2026", "next month", ""):
        with pytest.raises(InvalidInput):
            bulletin.parse_month(typed) if typed else bulletin.parse_month(" ")
    assert bulletin.parse_month("２０２６年１１月") == (2026, 11)
    with pytest.raises(InvalidInput, match="before the month has begun"):
        bulletin.build_bulletin(issued(rt), "2026-12")
    current = bulletin.build_bulletin(issued(rt), "2026-11")  # a month under way: as of today
    assert current.as_of == date(2026, 11, 5) and current.notes


# --------------------------------------------------------------------------- schedule and mailing


def first_working_day_from(rt: Runtime, day: date) -> date:
    while not rt.calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def test_the_5th_or_the_next_working_day(rt: Runtime) -> None:
    zone = rt.zone
    # 2026-11-05 is a Thursday: the 5th itself, at 09:00
    assert bulletin.bulletin_due(rt, 2026, 10) == datetime(2026, 11, 5, 9, 0, tzinfo=zone)
    # 2026-12-05 is a Saturday: Monday the 7th
    assert bulletin.bulletin_due(rt, 2026, 11) == datetime(2026, 12, 7, 9, 0, tzinfo=zone)
    # 2026-10-05 is in 国庆: the first working day after the holiday, by the calendar (调休 included)
    assert not rt.calendar.is_workday(date(2026, 10, 5))
    after_holiday = first_working_day_from(rt, date(2026, 10, 5))
    assert after_holiday > date(2026, 10, 7)
    assert bulletin.bulletin_due(rt, 2026, 9) == datetime.combine(
        after_holiday, datetime.min.time().replace(hour=9), tzinfo=zone
    )
    # January's bulletin goes in February, December's in January of the next year
    assert bulletin.bulletin_due(rt, 2026, 12).date() == first_working_day_from(rt, date(2027, 1, 5))
    later = with_settings(rt, bulletin_schedule=(3, datetime.min.time().replace(hour=15)))
    assert bulletin.bulletin_due(later, 2026, 10) == datetime(2026, 11, 3, 15, 0, tzinfo=zone)
    # the round by the clock: on 2026-10-08 the September bulletin is due that morning
    month, due = bulletin.bulletin_round(rt.at(at("2026-10-08 08:00")))
    assert month == "2026-09" and due.date() == after_holiday


def maildir_messages(rt: Runtime) -> list[EmailMessage]:
    box = mailbox.Maildir(rt.settings.maildir, factory=None, create=False)
    parsed = [BytesParser(policy=policy.default).parsebytes(box.get_bytes(key)) for key in box.iterkeys()]
    return parsed  # type: ignore[return-value]


def test_mailed_once_to_each_reader(rt: Runtime, ids: dict[str, int]) -> None:
    rt = with_settings(rt, bulletin_attachment="xlsx")  # the PDF: test_the_mail_carries_the_pdf
    before = bulletin.queue_bulletin(issued(rt, "2026-11-05 08:59"))
    assert (before.month, before.queued) == ("2026-10", 0)  # not yet its time
    first = bulletin.queue_bulletin(issued(rt))
    assert (first.queued, first.recipients) == (len(READERS), len(READERS))
    assert bulletin.queue_bulletin(issued(rt)).queued == 0  # a second run queues nothing
    sent = delivery.send(issued(rt, "2026-11-05 09:31"))
    assert (sent.messages, sent.sent, sent.failed) == (len(READERS), len(READERS), 0)
    assert bulletin.queue_bulletin(issued(rt, "2026-11-06 10:00")).queued == 0  # nor after it went
    assert delivery.send(issued(rt, "2026-11-06 10:01")).messages == 0
    mails = maildir_messages(rt)
    to = sorted(str(m["To"]).split("<")[1].split("@")[0] for m in mails)
    assert to == sorted(READERS)  # exactly one each: the leaders, supervision, the principal, the bureau head
    mail = mails[0]
    assert mail["Subject"] == "【月通报】本县招商引资项目推进情况通报（2026年10月）"
    body = mail.get_body(("html",))
    assert body is not None and "红黑榜" in body.get_content()
    text = mail.get_body(("plain",))
    assert text is not None and "西城镇人民政府" in text.get_content()
    (attached,) = list(mail.iter_attachments())
    assert attached.get_filename() == "月通报2026-10.xlsx"
    assert load_workbook(io.BytesIO(attached.get_content())).sheetnames[0] == "指标"
    # the next month's goes on the 7th of December (the 5th is a Saturday), once more to each
    assert bulletin.queue_bulletin(issued(rt, "2026-12-05 10:00")).queued == 0
    assert bulletin.queue_bulletin(issued(rt, "2026-12-07 09:00")).queued == len(READERS)


def test_the_daemon_queues_it_when_its_time_has_come(rt: Runtime, ids: dict[str, int]) -> None:
    early = Monthly(issued(rt, "2026-11-04 17:00"))
    assert early() is None
    monthly = Monthly(issued(rt))
    result = monthly()
    assert result is not None and result.queued == len(READERS)
    assert monthly() is None  # once per month and process
    assert Monthly(issued(rt, "2026-11-05 10:00"))().queued == 0  # type: ignore[union-attr]


def test_the_mail_carries_the_pdf(sqlite_url: str, tmp_path: Path) -> None:
    rt = make_runtime(sqlite_url, tmp_path)
    seed(rt)
    bulletin.queue_bulletin(issued(rt, "2026-11-06 10:00"), "2026-10")
    assert delivery.send(issued(rt, "2026-11-06 10:00")).messages == len(READERS)
    mails = maildir_messages(rt)
    pdfs = {bytes(next(m.iter_attachments()).get_content()) for m in mails}
    assert len(pdfs) == 1  # made once for the batch
    assert next(iter(pdfs)).startswith(b"%PDF")
    assert next(mails[0].iter_attachments()).get_filename() == "月通报2026-10.pdf"


# --------------------------------------------------------------------------- the command


def test_the_command(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli(sqlite_url, tmp_path)
    cli.ok("init")
    seed(make_runtime(sqlite_url, tmp_path))
    monkeypatch.chdir(tmp_path)
    now = ["--now", ISSUED]
    out = cli.ok("bulletin", *now).out
    assert "bulletin of 2026-10" in out and (tmp_path / "月通报2026-10.html").is_file()
    assert "西城镇人民政府" in (tmp_path / "月通报2026-10.html").read_text(encoding="utf-8")
    cli.ok("bulletin", "--month", "2026-09", "--format", "xlsx", "--output", "sept.xlsx", *now)
    assert load_workbook(tmp_path / "sept.xlsx")["指标"]["A1"].value.startswith(
        "本县招商引资项目推进情况通报（2026年9月）"
    )
    page = cli.ok("bulletin", "--month", "2026年10月", "--output", "-", *now).out
    assert page.startswith("<!DOCTYPE html>")
    data = cli.ok("bulletin", "--json", *now).json()
    assert data["month"] == "2026-10" and data["rankings"][0]["units"][0]["name"] == "城关镇人民政府"
    assert cli.ok("bulletin", "--queue", *now).out.startswith(f"{len(READERS)} bulletins of 2026-10 queued")
    assert cli.ok("bulletin", "--queue", *now).out.startswith("0 bulletins of 2026-10 queued")
    for args, message in (
        (["--month", "2026-13"], "bad month '2026-13'"),
        (["--month", "2026-12"], "before the month has begun"),
        (["--format", "pdf", "--output", "-"], "only --format html"),
        (["--queue", "--output", "x.html"], "--queue writes no file"),
    ):
        result = cli("bulletin", *args, *now)
        assert result.code == 2 and message in result.err, (args, result.err)
