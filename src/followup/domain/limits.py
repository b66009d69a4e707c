"""Spans of time: N working days, N calendar days or N months, counted from a day.

A limit (a stage's time limit, a staleness limit, a ladder rung's offset from the deadline, a repeat
interval) is applied to a calendar day in the configured zone; working days follow China's calendar
(``followup.domain.calendar``), holidays and make-up working weekends (调休) included. A negative
amount counts backwards (a rung before the deadline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from followup.domain.calendar import WorkCalendar

Unit = Literal["working_days", "days", "months"]
UNITS: dict[str, str] = {"working_days": "个工作日", "days": "天", "months": "个月"}


def add_months(day: date, months: int) -> date:
    """Calendar months; the 31st clamps to the last day of a shorter month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    last = (next_first - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


@dataclass(frozen=True)
class Limit:
    """A span of time: N working days, N calendar days or N months (N may be negative in ``at``)."""

    unit: Unit
    amount: int

    def apply(self, start: date, calendar: WorkCalendar) -> date:
        """The day ``amount`` units after ``start`` (before it when negative)."""
        if self.unit == "working_days":
            if self.amount >= 0:
                return calendar.add_working_days(start, self.amount)
            return calendar.subtract_working_days(start, -self.amount)
        if self.unit == "days":
            return start + timedelta(days=self.amount)
        return add_months(start, self.amount)

    def between(self, start: date, end: date, calendar: WorkCalendar) -> int:
        """How many of this limit's own units (working days, else calendar days) lie in (start, end]:
        how far a paused clock must move."""
        if self.unit == "working_days":
            return calendar.working_days_between(start, end)
        return (end - start).days

    def shift(self, day: date, paused: int, calendar: WorkCalendar) -> date:
        """``day`` moved later by ``paused`` units as counted by :meth:`between`."""
        if self.unit == "working_days":
            return calendar.add_working_days(day, paused)
        return day + timedelta(days=paused)

    def label(self) -> str:
        return f"{abs(self.amount)}{UNITS[self.unit]}"

    def to_dict(self) -> dict[str, int]:
        return {self.unit: self.amount}
