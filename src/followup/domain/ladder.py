"""The warning ladder as a pure function of a project's state and ``now``.

Nothing here touches the database: :func:`assess` says which ladder level a project has reached,
which notifications it owes right now (each with the identity that makes queuing it idempotent),
and when it next needs a look. The sweep (``followup.app.escalation``) stores that time on the project so
that it never has to scan every project.

Rules:
- Level *i* is reached at the start of day ``deadline + at_i`` in the configured zone (``at`` may be
  negative, counted in the level's own unit: working days follow China's calendar).
- Only the highest level reached is owed (after downtime nobody gets the levels that were skipped);
  a level with ``repeat`` is owed again every interval until the next level is reached. A repeat is
  not owed to the readers of the weekly county summary (:data:`SUMMARY_ROLES`: the supervision office,
  the principal leaders): they are told of each rung once, and the summary lists every project at
  红灯 or 约谈 each week.
- Staleness: no follow-up record and no stage change for the stage's staleness limit raises a
  ``stale`` warning (case officer and unit head), again every further limit of silence.
- On hold (暂缓) the stage's clock is stopped, but the hold itself has a deadline: its expected restart
  date (``hold_until``). A hold that has run out climbs the hold-expiry ladder (暂缓到期: the workflow's
  ``hold.ladder``, else its ladder) exactly as an overdue stage climbs its own; no staleness then.
- Terminated and final stages owe nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from followup.domain.calendar import WorkCalendar
from followup.domain.kinds import Light, Role
from followup.domain.limits import Limit
from followup.domain.notices import NoticeKey, ProjectClock
from followup.domain.timeutil import local_day, start_of_day
from followup.domain.workflow import ON_HOLD, Level, Workflow

STALE_ROLES = (Role.CASE_OFFICER, Role.UNIT_HEAD)
#: Roles that read the weekly county summary: a rung's repeats reach them there, not by mail of their own.
SUMMARY_ROLES = (Role.SUPERVISION, Role.PRINCIPAL)
MAX_REPEATS = 1000  # a guard against a pathological repeat interval, never reached in practice


@dataclass(frozen=True)
class Owed:
    """One notification owed now, before its roles are resolved to people."""

    key: NoticeKey
    roles: tuple[str, ...]
    due_at: datetime


@dataclass(frozen=True)
class Assessment:
    level: Level | None  # the deadline ladder level reached, if any (on hold: the hold-expiry ladder's)
    stale_since: date | None  # the day the project became stale, if it is
    owed: tuple[Owed, ...]
    next_at: datetime | None  # when something next changes (UTC); None: nothing ahead
    level_since: date | None = None  # the day ``level`` was reached (its first rung, not a repeat)
    held: bool = False  # ``level`` is a rung of the hold-expiry ladder (暂缓到期)

    @property
    def light(self) -> Light:
        """The board's light: green, or the level reached (a county's own level key counts as red)."""
        return Light.of_level(self.level.key if self.level else None)

    @property
    def light_label(self) -> str:
        return self.level.label if self.level else Light.GREEN.label


def _repeats(
    start: date, interval: Limit, until: date | None, today: date, calendar: WorkCalendar
) -> tuple[int, date | None]:
    """How many repeats of ``interval`` after ``start`` have come by ``today`` (before ``until``),
    and the day of the next one (None if it would fall on or after ``until``)."""
    count, day = 0, start
    while count < MAX_REPEATS:
        following = interval.apply(day, calendar)
        if until is not None and following >= until:
            return count, None
        if following > today:
            return count, following
        count, day = count + 1, following
    return count, None


#: What :func:`assess` may remember from one project to the next while ``now`` stays the same (one
#: sweep, one status board): the ladder of a deadline and the staleness of a quiet period depend only
#: on the workflow, the stage, the day and today, and most due projects share their days.
Memo = dict[tuple[Any, ...], Any]


def assess(
    workflow: Workflow,
    clock: ProjectClock,
    now: datetime,
    calendar: WorkCalendar,
    zone: ZoneInfo,
    memo: Memo | None = None,
) -> Assessment:
    """The ladder level reached at ``now``, the notifications owed, and the next time to look."""
    memo = {} if memo is None else memo
    today = local_day(now, zone)
    if clock.stage == ON_HOLD:
        return _held(workflow, clock, today, calendar, zone, memo)
    stage = workflow.stages.get(clock.stage)
    if stage is None or stage.final:
        return Assessment(None, None, (), None)
    owed: list[Owed] = []
    upcoming: list[date] = []

    reached: Level | None = None
    since: date | None = None
    if clock.deadline is not None:
        key: tuple[Any, ...] = ("deadline", workflow.name, stage.key, clock.deadline, today, zone.key)
        part = memo.get(key)
        if part is None:
            part = memo[key] = _deadline_part(
                workflow.ladder_for(stage.key), clock.deadline, today, calendar, zone
            )
        hit, ahead = part
        upcoming.extend(ahead)
        if hit is not None:
            reached, repeat_no, due_at, since = hit
            roles = _told(reached, repeat_no)
            owed.append(Owed(NoticeKey.deadline(clock, reached.key, repeat_no), roles, due_at))

    stale_since: date | None = None
    if stage.staleness is not None:
        quiet_from = local_day(clock.last_activity_at, zone)
        key = ("stale", stage.staleness, quiet_from, today, zone.key)
        part = memo.get(key)
        if part is None:
            part = memo[key] = _stale_part(stage.staleness, quiet_from, today, calendar, zone)
        stale, ahead = part
        upcoming.extend(ahead)
        if stale is not None:
            stale_since, repeat_no, due_at = stale
            owed.append(Owed(NoticeKey.stale(clock, repeat_no), STALE_ROLES, due_at))

    next_at = start_of_day(min(upcoming), zone) if upcoming else None
    return Assessment(reached, stale_since, tuple(owed), next_at, since)


def _held(
    workflow: Workflow, clock: ProjectClock, today: date, calendar: WorkCalendar, zone: ZoneInfo, memo: Memo
) -> Assessment:
    """A project on hold: its stage's clock is stopped; past its expected restart date it climbs the
    hold-expiry ladder, whose deadline is ``hold_until``."""
    if clock.hold_until is None:
        return Assessment(None, None, (), None, held=True)
    key: tuple[Any, ...] = ("hold", workflow.name, clock.hold_until, today, zone.key)
    part = memo.get(key)
    if part is None:
        part = memo[key] = _deadline_part(
            workflow.ladder_for(ON_HOLD), clock.hold_until, today, calendar, zone
        )
    hit, ahead = part
    next_at = start_of_day(min(ahead), zone) if ahead else None
    if hit is None:
        return Assessment(None, None, (), next_at, held=True)
    reached, repeat_no, due_at, since = hit
    owed = (Owed(NoticeKey.hold(clock, reached.key, repeat_no), _told(reached, repeat_no), due_at),)
    return Assessment(reached, None, owed, next_at, since, held=True)


def reached(
    ladder: tuple[Level, ...], deadline: date, today: date, calendar: WorkCalendar, zone: ZoneInfo
) -> tuple[Level, int, datetime, date] | None:
    """The rung of ``ladder`` reached ``today`` for ``deadline``: (its level, its repeat number, when
    that was due, the day the level was reached), or None; for ladders outside a workflow (the overdue
    ladders of supervision, ``domain.overdue``)."""
    return _deadline_part(ladder, deadline, today, calendar, zone)[0]


def _told(level: Level, repeat_no: int) -> tuple[str, ...]:
    """Who a rung (``repeat_no`` 0) or one of its repeats is owed to."""
    if repeat_no == 0:
        return level.notify
    return tuple(role for role in level.notify if role not in SUMMARY_ROLES)


def _deadline_part(
    ladder: tuple[Level, ...], deadline: date, today: date, calendar: WorkCalendar, zone: ZoneInfo
) -> tuple[tuple[Level, int, datetime, date] | None, list[date]]:
    """((level reached, its repeat number, when that was due, the day it was reached) or None, the
    days ahead) for a deadline."""
    days = [level.at.apply(deadline, calendar) for level in ladder]
    ahead: list[date] = []
    current = -1
    for i, day in enumerate(days):
        if day <= today:
            current = i
        else:
            ahead.append(day)
            break
    if current < 0:
        return None, ahead
    reached = ladder[current]
    repeat_no = 0
    if reached.repeat is not None:
        ceiling = days[current + 1] if current + 1 < len(days) else None
        repeat_no, next_repeat = _repeats(days[current], reached.repeat, ceiling, today, calendar)
        if next_repeat is not None:
            ahead.append(next_repeat)
    due_day = _nth(days[current], reached.repeat, repeat_no, calendar)
    return (reached, repeat_no, start_of_day(due_day, zone), days[current]), ahead


def _stale_part(
    staleness: Limit, quiet_from: date, today: date, calendar: WorkCalendar, zone: ZoneInfo
) -> tuple[tuple[date, int, datetime] | None, list[date]]:
    """((stale since, repeat number, when that was due) or None, the days ahead) for a quiet period."""
    first = staleness.apply(quiet_from, calendar)
    if first > today:
        return None, [first]
    repeat_no, next_repeat = _repeats(first, staleness, None, today, calendar)
    due_at = start_of_day(_nth(first, staleness, repeat_no, calendar), zone)
    return (first, repeat_no, due_at), [] if next_repeat is None else [next_repeat]


def _nth(start: date, interval: Limit | None, count: int, calendar: WorkCalendar) -> date:
    day = start
    if interval is not None:
        for _ in range(count):
            day = interval.apply(day, calendar)
    return day
