"""China's working-day calendar: holidays *and* the make-up working weekends (调休).

The data comes from the ``chinesecalendar`` package, which knows each year once the State Council has
published it. For a year it does not know, the calendar falls back to plain weekdays and says so
(``uncovered_years``), so that a deadline is never silently wrong: the caller warns in the log and in
``followup status``. A county can declare a year itself (``county_days``), which then wins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger(__name__)


class WorkCalendar:
    """Answers "is this a working day" and counts working days."""

    def __init__(
        self,
        *,
        county_holidays: Iterable[date] = (),
        county_workdays: Iterable[date] = (),
        county_years: Iterable[int] = (),
    ) -> None:
        self._holidays = frozenset(county_holidays)
        self._workdays = frozenset(county_workdays)
        self._county_years = frozenset(county_years)
        self.uncovered_years: set[int] = set()

    def is_workday(self, day: date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        if day.year in self._county_years:
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self.uncovered_years:
                self.uncovered_years.add(day.year)
                log.warning(
                    "no official holiday calendar for %s: counting plain weekdays; "
                    "declare the year's holidays in a county calendar file",
                    day.year,
                )
            return day.weekday() < 5

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself is not counted)."""
        day = start
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when end <= start."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count
