"""China's working-day calendar and spans of time, over the real 2026 calendar (no database).

2026 around 国庆: 9-19 (Sat) off, 9-20 (Sun) a make-up working day, 9-25 (中秋, Fri) to 9-27 off,
10-01..10-07 off, 10-10 (Sat) a make-up working day, 10-11 (Sun) off.
"""

from __future__ import annotations

import logging
from datetime import date

import pytest

from followup.domain.calendar import WorkCalendar, covered_by_package
from followup.domain.limits import Limit, add_months


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


@pytest.mark.parametrize(
    ("day", "works"),
    [
        ("2026-09-19", False),  # Saturday
        ("2026-09-20", True),  # Sunday, make-up day
        ("2026-09-25", False),  # 中秋
        ("2026-10-01", False),
        ("2026-10-07", False),
        ("2026-10-08", True),
        ("2026-10-10", True),  # Saturday, make-up day
        ("2026-10-11", False),
        ("2026-06-01", True),  # an ordinary Monday
    ],
)
def test_is_workday_follows_the_state_council(cal: WorkCalendar, day: str, works: bool) -> None:
    assert cal.is_workday(date.fromisoformat(day)) is works


def test_counting_working_days_across_national_day(cal: WorkCalendar) -> None:
    # from Wed 9-30: 10-08, 10-09, 10-10 (make-up Saturday), 10-12, 10-13
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert cal.add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert cal.add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)
    assert cal.subtract_working_days(date(2026, 10, 8), 1) == date(2026, 9, 30)
    assert cal.subtract_working_days(date(2026, 10, 12), 2) == date(2026, 10, 9)
    assert cal.subtract_working_days(date(2026, 9, 21), 1) == date(2026, 9, 20)  # the make-up Sunday
    # (start, end]: 9-30 counts, 10-01..07 do not, 10-08..10 do
    assert cal.working_days_between(date(2026, 9, 29), date(2026, 10, 10)) == 4
    assert cal.working_days_between(date(2026, 10, 10), date(2026, 9, 29)) == 0


def test_an_uncovered_year_counts_weekdays_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    assert covered_by_package(2026)
    assert not covered_by_package(2031)
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING):
        assert cal.is_workday(date(2031, 1, 1)) is True  # a Wednesday; New Year unknown: plain weekday
        assert cal.is_workday(date(2031, 1, 4)) is False  # Saturday
    assert cal.uncovered_years == {2031}
    assert not cal.covers(2031)
    assert sum("no official holiday calendar for 2031" in r.getMessage() for r in caplog.records) == 1


def test_a_county_declaration_wins() -> None:
    cal = WorkCalendar(
        county_holidays=[date(2031, 1, 1)], county_workdays=[date(2031, 1, 4)], county_years=[2031]
    )
    assert cal.covers(2031)
    assert cal.is_workday(date(2031, 1, 1)) is False
    assert cal.is_workday(date(2031, 1, 4)) is True
    assert cal.is_workday(date(2031, 1, 5)) is False  # an undeclared Sunday of a declared year
    assert cal.uncovered_years == set()


@pytest.mark.parametrize(
    ("limit", "start", "expected"),
    [
        (Limit("days", 30), "2026-09-01", "2026-10-01"),
        (Limit("days", -7), "2026-10-01", "2026-09-24"),
        (Limit("months", 1), "2026-01-31", "2026-02-28"),  # clamped to the shorter month
        (Limit("months", 12), "2027-02-28", "2028-02-28"),
        (Limit("months", -1), "2026-03-31", "2026-02-28"),
        (Limit("working_days", 5), "2026-09-30", "2026-10-13"),
        (Limit("working_days", -3), "2026-10-12", "2026-10-08"),  # back over the make-up Saturday
        (Limit("working_days", -1), "2026-10-08", "2026-09-30"),  # back over 国庆
        (Limit("working_days", 0), "2026-10-03", "2026-10-03"),
    ],
)
def test_limit_apply(cal: WorkCalendar, limit: Limit, start: str, expected: str) -> None:
    assert limit.apply(date.fromisoformat(start), cal) == date.fromisoformat(expected)


def test_limit_between_and_shift_count_in_the_limits_own_unit(cal: WorkCalendar) -> None:
    held, resumed = date(2026, 9, 23), date(2026, 10, 9)
    working = Limit("working_days", 20)
    paused = working.between(held, resumed, cal)
    assert paused == 6  # 9-24, 9-28, 9-29, 9-30, 10-08, 10-09
    assert working.shift(date(2026, 10, 12), paused, cal) == date(2026, 10, 20)
    calendar_days = Limit("days", 30)
    assert calendar_days.between(held, resumed, cal) == 16
    assert calendar_days.shift(date(2026, 10, 12), 16, cal) == date(2026, 10, 28)


def test_add_months_clamps_and_crosses_years() -> None:
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)  # leap year
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert add_months(date(2026, 1, 15), -1) == date(2025, 12, 15)
    assert add_months(date(2026, 5, 31), 6) == date(2026, 11, 30)


def test_limit_labels() -> None:
    assert Limit("working_days", -5).label() == "5个工作日"
    assert Limit("days", 30).label() == "30天"
    assert Limit("months", 2).to_dict() == {"months": 2}
