"""The warning ladder as a pure function, worked out by hand over the real 2026 calendar (no database).

The shipped ``investment`` workflow, a project in 洽谈 (talks; staleness 14 days) whose deadline is
2026-10-01 (国庆, a holiday):
- 提示 (blue) at -7 days: 09-24;
- 黄灯 (yellow) at +1 day: 10-02, repeated every 7 days: 10-09, 10-16, 10-23, 10-30 (11-06 is past red);
- 红灯 (red) at +20 working days: 10-08 … 11-03 is the 20th working day after 10-01;
- 约谈 (top) at +60 days: 11-30, repeated every 14 days: 12-14, 12-28.
The last follow-up was 2026-10-15 10:00 (02:00 UTC): stale from 10-29, again 11-12, 11-26 …
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from followup.domain.calendar import WorkCalendar
from followup.domain.kinds import Light, NoticeKind, Role
from followup.domain.ladder import assess
from followup.domain.notices import NoticeKey, ProjectClock
from followup.domain.workflow import Workflow
from followup.lifecycle import WorkflowRegistry, parse_workflow

SH = ZoneInfo("Asia/Shanghai")
CLOCK = ProjectClock(
    workflow="investment",
    stage="talks",
    deadline=date(2026, 10, 1),
    deadline_version=1,
    stage_seq=3,
    last_activity_at=datetime(2026, 10, 15, 2, 0, tzinfo=UTC),
)


@pytest.fixture(scope="module")
def wf() -> Workflow:
    return WorkflowRegistry().get("investment")


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


def local(day: str, clock: str = "00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SH)


def test_before_the_first_rung_nothing_is_owed(wf: Workflow, cal: WorkCalendar) -> None:
    result = assess(wf, CLOCK, local("2026-09-20", "09:00"), cal, SH)
    assert result.level is None and result.owed == () and result.stale_since is None
    assert result.next_at == local("2026-09-24")  # the blue rung
    assert (result.light, result.light_label) == (Light.GREEN, "正常")


def test_blue_a_week_before(wf: Workflow, cal: WorkCalendar) -> None:
    result = assess(wf, CLOCK, local("2026-09-24", "00:00"), cal, SH)
    assert result.level is not None and result.level.key == "blue"
    (owed,) = result.owed
    assert owed.key == NoticeKey(3, NoticeKind.DEADLINE, "d1", "blue", 0)
    assert owed.roles == (Role.CASE_OFFICER,)
    assert owed.due_at == local("2026-09-24")
    assert result.next_at == local("2026-10-02")


def test_yellow_repeats_weekly_and_only_the_highest_rung_is_owed(wf: Workflow, cal: WorkCalendar) -> None:
    result = assess(wf, CLOCK, local("2026-10-20", "09:00"), cal, SH)
    assert result.level is not None and result.level.key == "yellow"
    assert result.light is Light.YELLOW
    (owed,) = result.owed  # neither blue nor the earlier yellows
    assert owed.key == NoticeKey(3, NoticeKind.DEADLINE, "d1", "yellow", 2)  # 10-02, 10-09, 10-16
    assert owed.roles == (Role.CASE_OFFICER, Role.UNIT_HEAD)
    assert owed.due_at == local("2026-10-16")
    assert result.next_at == local("2026-10-23")  # the next repeat, before staleness (10-29) and red (11-03)


def test_red_after_twenty_working_days_and_staleness_beside_it(wf: Workflow, cal: WorkCalendar) -> None:
    assert assess(wf, CLOCK, local("2026-11-02", "23:59"), cal, SH).level.key == "yellow"  # type: ignore[union-attr]
    result = assess(wf, CLOCK, local("2026-11-04", "09:00"), cal, SH)
    assert result.level is not None and result.level.key == "red"
    assert result.stale_since == date(2026, 10, 29)
    deadline, stale = result.owed
    assert deadline.key == NoticeKey(3, NoticeKind.DEADLINE, "d1", "red", 0)
    assert deadline.due_at == local("2026-11-03")
    assert stale.key == NoticeKey(3, NoticeKind.STALE, "s20261015T020000", "stale", 0)
    assert stale.roles == (Role.CASE_OFFICER, Role.UNIT_HEAD)
    assert stale.due_at == local("2026-10-29")
    assert result.next_at == local("2026-11-10")  # red's weekly repeat; staleness repeats on 11-12


def test_top_repeats_every_two_weeks(wf: Workflow, cal: WorkCalendar) -> None:
    result = assess(wf, CLOCK, local("2026-12-20", "09:00"), cal, SH)
    assert result.level is not None and result.level.key == "top"
    deadline, stale = result.owed
    assert deadline.key.level == "top" and deadline.key.repeat_no == 1  # 11-30, 12-14
    assert deadline.due_at == local("2026-12-14")
    # a repeat is not mailed to the readers of the weekly county summary: it lists every 约谈 project
    assert deadline.roles == (Role.CASE_OFFICER, Role.UNIT_HEAD, Role.LEADER)
    first = assess(wf, CLOCK, local("2026-11-30", "09:00"), cal, SH).owed[0]
    assert first.key.repeat_no == 0 and first.roles[-2:] == (Role.SUPERVISION, Role.PRINCIPAL)
    assert stale.key.repeat_no == 3  # 10-29, 11-12, 11-26, 12-10
    assert stale.due_at == local("2026-12-10")
    assert result.next_at == local("2026-12-24")  # staleness 12-24 before top's 12-28


@pytest.mark.parametrize("stage", ["production", "on_hold", "terminated"])
def test_a_final_stage_or_a_side_state_owes_nothing(wf: Workflow, cal: WorkCalendar, stage: str) -> None:
    clock = ProjectClock("investment", stage, None, 1, 4, CLOCK.last_activity_at)
    result = assess(wf, clock, local("2027-06-01"), cal, SH)
    assert (result.level, result.stale_since, result.owed, result.next_at) == (None, None, (), None)


def test_the_memo_gives_the_same_answer(wf: Workflow, cal: WorkCalendar) -> None:
    memo: dict[tuple[object, ...], object] = {}
    now = local("2026-11-04", "09:00")
    first = assess(wf, CLOCK, now, cal, SH, memo)
    assert memo  # remembered for the next project with the same days
    again = assess(wf, CLOCK, now, cal, SH, memo)
    assert again == first == assess(wf, CLOCK, now, cal, SH)


def test_a_county_level_shows_as_red_and_a_stage_ladder_wins() -> None:
    text = """
name: county
label: 县流程
stages:
  - key: lead
    label: 线索
    limit: {days: 10}
    ladder: [{level: orange, label: 橙灯, at: {days: 2}, notify: [leader]}]
  - {key: done, label: 完成, final: true}
moves: [{from: lead, to: done}]
ladder: [{level: yellow, label: 黄灯, at: {days: 1}, notify: [case_officer]}]
"""
    wf = parse_workflow(text, "county.yaml")
    clock = ProjectClock("county", "lead", date(2026, 6, 10), 1, 1, datetime(2026, 6, 9, tzinfo=UTC))
    result = assess(wf, clock, local("2026-06-12", "09:00"), WorkCalendar(), SH)
    assert result.level is not None and result.level.key == "orange"
    assert (result.light, result.light_label) == (Light.RED, "橙灯")
    assert result.owed[0].roles == ("leader",)


# --------------------------------------------------------------------------- 暂缓到期: the hold-expiry ladder
#
# A project of the shipped ``investment`` workflow, on hold (stage entry 4) until 2026-09-30, the eve of
# 国庆 (10-01..07 off, Saturday 10-10 a make-up working day). Its hold ladder, counted from 09-30:
# - 黄灯 (yellow) at +1 working day: 10-08 (the holiday skipped), repeated every 5 working days:
#   10-09 (1) 10-10 Sat (2) 10-12 (3) 10-13 (4) 10-14 (5) → 10-14, then 10-21, 10-28 (11-04 is past red);
# - 红灯 (red) at +20 working days: 10-08 … 10-16 (8), 10-19 … 10-23 (13), 10-26 … 10-30 (18), 11-02 (19),
#   11-03 (20) → 11-03, repeated every 5 working days: 11-10, 11-17, 11-24;
# - 约谈 (top) at +60 days: 11-29.
# The last follow-up was 2026-06-01: a project on hold is never stale.

HELD = ProjectClock(
    workflow="investment",
    stage="on_hold",
    deadline=None,
    deadline_version=1,
    stage_seq=4,
    last_activity_at=datetime(2026, 6, 1, 2, 0, tzinfo=UTC),
    hold_until=date(2026, 9, 30),
)


def test_a_hold_owes_nothing_until_its_ladder_is_reached_across_the_holiday(
    wf: Workflow, cal: WorkCalendar
) -> None:
    for day in ("2026-09-30", "2026-10-01", "2026-10-07"):
        result = assess(wf, HELD, local(day, "09:00"), cal, SH)
        assert (result.level, result.owed, result.stale_since) == (None, (), None), day
        assert result.next_at == local("2026-10-08") and result.held


def test_a_hold_run_out_climbs_the_hold_ladder(wf: Workflow, cal: WorkCalendar) -> None:
    result = assess(wf, HELD, local("2026-10-08", "09:00"), cal, SH)
    assert result.level is not None and result.level.key == "yellow" and result.held
    assert (result.light, result.light_label, result.level_since) == (Light.YELLOW, "黄灯", date(2026, 10, 8))
    (owed,) = result.owed
    assert owed.key == NoticeKey(4, NoticeKind.HOLD, "h20260930", "yellow", 0)
    assert owed.roles == (Role.CASE_OFFICER, Role.UNIT_HEAD)
    assert owed.due_at == local("2026-10-08")
    assert result.next_at == local(
        "2026-10-14"
    )  # the repeat, 5 working days on (the make-up Saturday counts)

    result = assess(wf, HELD, local("2026-10-29", "09:00"), cal, SH)
    (owed,) = result.owed
    assert (owed.key.level, owed.key.repeat_no, owed.due_at) == ("yellow", 3, local("2026-10-28"))
    assert result.next_at == local("2026-11-03")  # red comes before the next repeat (11-04)

    result = assess(wf, HELD, local("2026-11-03", "09:00"), cal, SH)
    (owed,) = result.owed
    assert (owed.key.level, owed.key.repeat_no, result.level_since) == ("red", 0, date(2026, 11, 3))
    assert owed.roles == (Role.CASE_OFFICER, Role.UNIT_HEAD, Role.LEADER, Role.SUPERVISION)
    assert result.next_at == local("2026-11-10")

    result = assess(wf, HELD, local("2026-11-30", "09:00"), cal, SH)
    (owed,) = result.owed
    assert (owed.key.level, owed.key.repeat_no, owed.due_at) == ("top", 0, local("2026-11-29"))
    assert owed.roles[-1] == Role.PRINCIPAL and result.light is Light.TOP


def test_a_hold_without_a_restart_date_owes_nothing(wf: Workflow, cal: WorkCalendar) -> None:
    result = assess(wf, replace(HELD, hold_until=None), local("2027-06-01"), cal, SH)
    assert (result.level, result.owed, result.next_at) == (None, (), None)


def test_without_a_hold_ladder_a_hold_climbs_the_workflows_own() -> None:
    text = """
name: county
label: 县流程
stages:
  - {key: lead, label: 线索, limit: {days: 10}}
  - {key: done, label: 完成, final: true}
moves: [{from: lead, to: done}]
ladder:
  - {level: blue, label: 提示, at: {days: -3}, notify: [case_officer]}
  - {level: yellow, label: 黄灯, at: {days: 1}, notify: [case_officer, unit_head]}
"""
    wf = parse_workflow(text, "county.yaml")
    clock = replace(HELD, workflow="county")
    assert wf.ladder_for("on_hold") == wf.ladder
    result = assess(wf, clock, local("2026-09-27", "09:00"), WorkCalendar(), SH)  # 3 days before 09-30
    assert result.level is not None and result.level.key == "blue"
    assert result.owed[0].key.kind is NoticeKind.HOLD
