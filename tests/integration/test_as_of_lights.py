"""A document about a past day shows that day's state: the monthly bulletin of a past month names what was
red, overdue and unanswered at the end of the month even when it changed afterwards, and
``followup report --as-of`` a past day counts the lights each project had at the end of that day —
rebuilt from the history (``app.report_lights``), never read from today's rows."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from followup.app import board, bulletin, ledger, ledgerio, moves, supervision
from followup.app.ledger import ProjectInput
from followup.app.moves import Move
from followup.app.report import build_report
from followup.app.report_lights import standings
from followup.app.runtime import Runtime
from followup.domain.notices import ProjectClock
from followup.domain.timeutil import as_utc
from followup.store.models import Project
from tests.bulletin_county import BULLETIN_COUNTY, ISSUED, at, red_notice, seed
from tests.helpers import Cli

# --------------------------------------------------------------------------- the bulletin of a past month


@pytest.fixture
def ids(rt: Runtime) -> dict[str, int]:
    """The bulletin's county (tests.bulletin_county): on 31 October 冷链 (signing, due 28 September) and
    中药材 (a lead due 2 September; 约谈 only from 1 November) are red, 云服务 is quiet (跟进超时)."""
    return seed(rt)


def test_a_project_red_at_the_months_end_stays_red_in_its_bulletin(rt: Runtime, ids: dict[str, int]) -> None:
    # after the month: 冷链 moves on to land prep (a fresh deadline, 120 days), 中药材's deadline is
    # extended by 90 days (a fresh ladder), and both are followed up
    november = rt.at(at("2026-11-03 10:00"))
    moves.advance(november, Move(ids["cold"], "land_prep", by="zhaomin", values={"land": "30"}))
    moves.extend(november, ids["herbs"], by="xuli", reason="补充论证", days=90)
    moves.log(november, ids["herbs"], by="lina", text="已对接")
    view = bulletin.build_bulletin(rt.at(at(ISSUED)))
    assert view.month == "2026-10"
    # as they stood on 31 October: 中药材 red since 30 September, 59 days past 2 September; 冷链 red
    # since 30 October (28 September + 20 working days, 国庆 not counted), 33 days past its deadline,
    # at signing (签约), not land prep
    assert [(f.name, f.light_label, f.stage_label, f.since, f.days_past) for f in view.flagged] == [
        ("中药材种植基地", "红灯", "线索", date(2026, 9, 30), 59),
        ("冷链物流园", "红灯", "签约", date(2026, 10, 30), 33),
    ]
    lights = {u.name: (u.lights["red"], u.stale, u.active) for u in view.units}
    # 云服务 (西城) was quiet from 25 September to its follow-up of 2 November: stale on 31 October
    assert lights == {
        "城关镇人民政府": (1, 1, 2),
        "东城乡人民政府": (1, 1, 1),
        "西城镇人民政府": (0, 1, 1),
        "县投资促进局": (0, 0, 1),
    }
    # the month in progress is as it stands: both lights went out with the fresh deadlines
    assert bulletin.build_bulletin(rt.at(at(ISSUED)), "2026-11").flagged == []


def test_a_problem_or_notice_settled_after_the_month_is_open_in_its_bulletin(
    rt: Runtime, ids: dict[str, int]
) -> None:
    october = rt.at(at("2026-10-09 10:00"))
    due = date(2026, 10, 20)
    late = supervision.add_problem(
        october, ids["cold"], level="协调", owner="dongcheng", due=due, by="zhaomin", text="用地"
    )
    supervision.add_problem(  # opened after the month: not in it
        rt.at(at("2026-11-02 10:00")),
        ids["dairy"],
        level="一般",
        owner="chengguan",
        due=date(2026, 11, 3),
        by="lina",
        text="水电",
    )
    red_notice(rt, ids["cold"], "dongcheng", at("2026-10-20 09:00"), date(2026, 10, 27))
    november = rt.at(at("2026-11-04 10:00"))
    supervision.close_problem(november, late.id, by="zhaomin", resolution="已落实指标")
    supervision.reply(november, "督〔2026〕第7号", by="zhaomin", text="正在整改")
    view = bulletin.build_bulletin(rt.at(at(ISSUED)))
    # on 31 October: the problem due 20 October open 11 days past it; the notice due 27 October
    # unanswered 4 days past it; the problem of 2 November not yet opened
    assert [(q.id, q.text, q.days_overdue) for q in view.problems] == [(late.id, "用地", 11)]
    assert view.open_problems == 1
    assert [(n.number, n.days_overdue) for n in view.notices] == [("督〔2026〕第7号", 4)]
    assert (view.notices_issued, view.notices_replied) == (1, 0)
    # 东城: −5 (冷链 red) − 2 (the overdue problem)
    assert {u.name: u.score for u in view.units}["东城乡人民政府"] == -7.0
    now = bulletin.build_bulletin(rt.at(at(ISSUED)), "2026-11")  # the month in progress: as it stands
    assert ([q.text for q in now.problems], now.notices, now.open_problems) == (["水电"], [], 1)


# --------------------------------------------------------------------------- report --as-of


def county(rt: Runtime) -> dict[str, int]:
    """Four projects whose lights on 15 May 2026 are worked out by hand (the investment workflow: a lead
    is due 30 days after entry, blue 7 days before, yellow the day after, red 20 working days after,
    约谈 60 days after; a lead is quiet after 5 working days without activity; on hold, the same ladder
    from the expected restart date, and no staleness):

    - A (城关): a lead entered 2 March, due 1 April: on 15 May red (约谈 only on 31 May) and quiet; moved
      on to talks on 20 May.
    - B (城关): a lead entered 20 April, due 20 May: on 15 May blue, followed up on 14 May (not quiet).
    - C (东城): a lead entered 2 March, on hold from 10 March until 1 April: on 15 May on hold and red
      (1 April + 20 working days); resumed on 25 May.
    - E (西城): entered 20 May, after the day: not counted.
    """
    BULLETIN_COUNTY.seed(rt.at(at("2026-03-01 09:00")))

    def add(when: str, name: str, officer: str, unit: str) -> int:
        data = ProjectInput(name=name, officer=officer, unit=unit, values={"investor": "某公司"})
        return ledger.add_project(rt.at(at(when)), data).id

    ids = {
        "a": add("2026-03-02 10:00", "甲项目", "lina", "chengguan"),
        "c": add("2026-03-02 10:00", "丙项目", "zhaomin", "dongcheng"),
        "b": add("2026-04-20 10:00", "乙项目", "lina", "chengguan"),
    }
    hold = Move(ids["c"], "on_hold", by="zhaomin", note="等待规划", until=date(2026, 4, 1))
    moves.advance(rt.at(at("2026-03-10 10:00")), hold)
    moves.log(rt.at(at("2026-05-14 10:00")), ids["b"], by="lina", text="电话跟进")
    moves.advance(rt.at(at("2026-05-20 10:00")), Move(ids["a"], "talks", by="lina"))
    ids["e"] = add("2026-05-20 11:00", "戊项目", "sunli", "xicheng")
    moves.advance(rt.at(at("2026-05-25 10:00")), Move(ids["c"], None, by="zhaomin"))
    return ids


LIGHT_COLUMNS = ("green", "blue", "yellow", "red", "top", "stale", "on_hold")


def lines(units: list[Any]) -> dict[str, tuple[int, ...]]:
    return {u.key: tuple(getattr(u, c) for c in LIGHT_COLUMNS) for u in units}


def test_report_as_of_a_past_day_counts_that_days_lights(rt: Runtime) -> None:
    county(rt)
    now = rt.at(at("2026-06-01 10:00"))
    view = build_report(now, as_of=date(2026, 5, 15))
    #                       green blue yellow red top stale on_hold
    assert lines(view.lights) == {
        "chengguan": (0, 1, 0, 1, 0, 1, 0),  # A red and quiet, B blue
        "dongcheng": (0, 0, 0, 1, 0, 0, 1),  # C on hold past its restart date: red
    }
    assert view.lights_at is not None and view.lights_at.date() == date(2026, 5, 15)
    assert any("2026-05-15" in note for note in view.notes)
    # today (1 June) the board differs: A in talks since 20 May (green, quiet only after 10 working
    # days), B past its deadline (yellow) and quiet since 14 May, C resumed on 25 May (its deadline
    # pushed back by the pause: green; quiet after 5 working days), E entered on 20 May (green, quiet)
    today = lines(board.status_board(now).units)
    assert today == {
        "chengguan": (1, 0, 1, 0, 0, 1, 0),
        "dongcheng": (1, 0, 0, 0, 0, 1, 0),
        "xicheng": (1, 0, 0, 0, 0, 1, 0),
    }
    assert lines(build_report(now).lights) == today  # as of today: today's board


def test_report_as_of_through_the_command(any_cli: Cli, db_url: str, tmp_path: Path) -> None:
    from tests.helpers import make_runtime

    rt = make_runtime(db_url, tmp_path)
    county(rt)
    rt.close()
    now = ("--now", "2026-06-01 10:00")
    data = any_cli.ok("report", "--as-of", "2026-05-15", "--format", "json", *now).json()
    shown = {u["key"]: (u["red"], u["blue"], u["on_hold"], u["stale"]) for u in data["lights"]}
    assert shown == {"chengguan": (1, 1, 0, 1), "dongcheng": (1, 0, 1, 0)}
    table = any_cli.ok("report", "--as-of", "2026-05-15", *now).out
    assert "2026-05-15 23:59" in table


# --------------------------------------------------------------------------- the rebuild against the rows


CLOCK = ("workflow", "stage", "deadline", "last_activity_at", "hold_until", "held_stage", "unit_id")


def snapshot(rt: Runtime) -> dict[int, tuple[Any, ...]]:
    """Every active project's clock as its row says now."""
    with rt.store.reading() as session:
        rows = session.scalars(select(Project).where(Project.stage != "terminated")).all()
        return {p.id: _clock(p) for p in rows}


def _clock(row: Any) -> tuple[Any, ...]:
    values = [getattr(row, name) for name in CLOCK]
    values[3] = as_utc(values[3])
    return tuple(values)


def rebuilt(rt: Runtime, day: date) -> dict[int, tuple[Any, ...]]:
    with rt.store.reading() as session:
        out = {}
        for s in standings(rt, session.connection(), day):
            clock: ProjectClock = s.clock
            out[s.id] = (
                clock.workflow,
                clock.stage,
                clock.deadline,
                clock.last_activity_at,
                clock.hold_until,
                s.held_stage,
                s.unit_id,
            )
        return out


def import_line(rt: Runtime, followed: str) -> None:
    """A ledger (台账) of one line, 己项目 in talks, last followed up on ``followed``."""
    path = rt.settings.data_dir / f"台账{followed}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["项目名称", "投资主体", "目前进度", "责任单位", "责任人", "最近跟进日期"])
        writer.writerow(["己项目", "某公司", "洽谈", "城关镇", "李娜", followed])
    result, _sheet, _marks = ledgerio.import_ledger(rt, path, by="lina")
    assert not result.problems


def test_the_rebuilt_clocks_are_the_rows_as_they_were(rt: Runtime) -> None:
    """Each evening the rows are kept; afterwards, every kept evening rebuilt from the history must give
    them back: stage, deadline (contract dates, extensions, holds and resumes, a workflow change), the
    restart date, the last activity (follow-ups, moves, a ledger's last follow-up), the unit."""
    ids = county(rt)
    kept = {date(2026, 5, 25): snapshot(rt)}  # the county's last line: 25 May

    def move(key: str, target: str | None, **extra: Any) -> Any:
        return lambda r: moves.advance(r, Move(ids[key], target, by="lina", **extra))

    def edit(key: str, data: ProjectInput) -> Any:
        return lambda r: ledger.edit_project(r, ids[key], data, by="xuli", note=None)

    steps: list[tuple[str, Any]] = [
        ("2026-06-02 10:00", move("a", "signing", values={"amount": "2亿"})),
        ("2026-06-02 11:00", lambda r: import_line(r, "2026-05-28")),  # quiet from then
        ("2026-06-03 10:00", lambda r: moves.extend(r, ids["b"], by="xuli", reason="论证", days=20)),
        ("2026-06-04 10:00", move("a", "land_prep", values={"land": "5"})),
        ("2026-06-05 10:00", edit("a", ProjectInput(values={"contract_start": "2026-12-01"}))),
        ("2026-06-08 10:00", move("b", "on_hold", note="暂停", until=date(2026, 7, 1))),
        ("2026-06-09 10:00", edit("e", ProjectInput(unit="bureau", workflow="major"))),
        ("2026-06-10 11:00", lambda r: import_line(r, "2026-06-05")),  # a later follow-up
        ("2026-06-22 10:00", move("b", None)),
        ("2026-06-23 10:00", lambda r: moves.log(r, ids["c"], by="zhaomin", text="推进中")),
        ("2026-06-24 10:00", move("c", "terminated", note="投资方退出")),
    ]
    for when, step in steps:
        moment = rt.at(at(when))
        step(moment)
        day = datetime.fromisoformat(when).date()
        kept[day] = snapshot(rt)
    later = rt.at(at("2026-07-01 10:00"))
    for day, rows in kept.items():
        assert rebuilt(later, day) == rows, day
