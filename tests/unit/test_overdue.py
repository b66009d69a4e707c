"""The overdue ladders of supervision (domain.overdue), on the real 2026 calendar, and how a 督办 notice
is typed."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from followup.domain import overdue
from followup.domain.calendar import WorkCalendar
from followup.domain.kinds import NoticeKind

ZONE = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 4, 30), None),  # due today (Thursday 04-30): not overdue yet
        (date(2026, 5, 5), None),  # 劳动节: the first working day after is Wednesday 05-06
        (date(2026, 5, 6), ("yellow", 0, ("unit_head", "case_officer"))),
        (date(2026, 5, 11), ("yellow", 0, ("unit_head", "case_officer"))),
    ],
)
def test_a_problem_climbs_from_the_day_after_its_due_date(today: date, expected: object) -> None:
    found = overdue.assess_overdue(NoticeKind.PROBLEM, date(2026, 4, 30), today, CAL, ZONE, 6)
    assert (None if found is None else (found.level, found.repeat_no, found.roles)) == expected


def test_red_after_the_working_days_then_weekly_repeats_without_the_supervision_office() -> None:
    due = date(2026, 5, 14)  # Thursday
    red = overdue.assess_overdue(NoticeKind.REPLY, due, date(2026, 5, 21), CAL, ZONE, 5)
    assert red is not None and (red.level, red.repeat_no) == ("red", 0)
    assert red.roles == ("unit_head", "leader", "supervision")
    again = overdue.assess_overdue(NoticeKind.REPLY, due, date(2026, 5, 28), CAL, ZONE, 5)
    assert again is not None and (again.level, again.repeat_no, again.roles) == (
        "red",
        1,
        ("unit_head", "leader"),
    )
    yellow = overdue.assess_overdue(NoticeKind.ROUND, due, date(2026, 5, 20), CAL, ZONE, 5)
    assert yellow is not None and (yellow.level, yellow.roles) == ("yellow", ("unit_head",))


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("督〔2026〕第12号", (2026, 12)),
        ("2026-12", (2026, 12)),
        ("2026/3", (2026, 3)),
        ("督[2026]12号", (2026, 12)),
        ("7", 7),
        ("第几号", None),
        ("", None),
    ],
)
def test_a_notice_is_typed_by_number_or_id(typed: str, parsed: object) -> None:
    assert overdue.parse_notice(typed) == parsed


def test_keys_say_what_they_are_about() -> None:
    assert overdue.problem_key(3, "red", 1).round == "p3"
    assert overdue.subject_of("problem", "p3") == (3, None)
    assert overdue.subject_of("reply", "n12") == (12, None)
    assert overdue.subject_of("round", overdue.round_key(2, 5, "yellow", 0).round) == (2, 5)
    assert overdue.subject_of("round", "p3") is None
    assert overdue.notice_number(2026, 12) == "督〔2026〕第12号"


def test_a_hand_issued_notice_sits_on_the_deadline_ladder_it_was_issued_on() -> None:
    assert overdue.manual_round(3, 12) == "d3-m12"
    assert overdue.on_deadline_ladder("d3-m12", 3) and overdue.on_deadline_ladder("d3", 3)
    assert not overdue.on_deadline_ladder("d3-m12", 4)
    assert not overdue.on_deadline_ladder("d13", 3) and not overdue.on_deadline_ladder("d1-m3", 13)
