"""The overdue ladders of supervision (督办), pure: a problem past its due date (问题清单), a 督办
notice whose written reply is late (情况说明), a unit that has not reported on all its projects in a
reporting round (调度).

All three climb alike, counted from the day the thing was due:

- 黄灯 (``yellow``) on the first working day after the due date, to those who owe it: a problem's
  owning unit head and the project's case officer; a notice's responsible unit head and the project's
  leader in charge; a round's unit head.
- 红灯 (``red``) ``escalate_after`` working days after the due date (setting
  ``FOLLOWUP_OVERDUE_ESCALATION_DAYS``, default 5), to the same people and up: the leader in charge
  and the supervision office.
- Each rung is repeated every 7 days until the thing is done (closed, replied, reported); as on a
  stage's ladder, a repeat is not owed to the supervision office (:data:`ladder.SUMMARY_ROLES`).

A notification of these ladders is identified (``NoticeKey``) by what it is about: the problem
(``p12``), the notice (``n3``), the round and the unit (``r2-u5``); whether it still applies is asked
of the problem, the notice or the round when mail goes out (``app.supervision_mail``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from followup.domain.calendar import WorkCalendar
from followup.domain.kinds import NoticeKind, Role
from followup.domain.ladder import SUMMARY_ROLES, reached
from followup.domain.limits import Limit
from followup.domain.notices import NoticeKey
from followup.domain.workflow import Level

#: the kinds of notification these ladders owe
KINDS = (NoticeKind.PROBLEM, NoticeKind.REPLY, NoticeKind.ROUND)
#: a rung is repeated this often until the thing is done
REPEAT = Limit("days", 7)
#: the level whose reaching issues a 督办 notice (the key of the workflow's ladder level, whatever its label)
NOTICE_LEVEL = "red"

#: who each ladder's rungs reach: (黄灯, 红灯)
ROLES: dict[NoticeKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    NoticeKind.PROBLEM: (
        (Role.UNIT_HEAD, Role.CASE_OFFICER),
        (Role.UNIT_HEAD, Role.CASE_OFFICER, Role.LEADER, Role.SUPERVISION),
    ),
    NoticeKind.REPLY: ((Role.UNIT_HEAD, Role.LEADER), (Role.UNIT_HEAD, Role.LEADER, Role.SUPERVISION)),
    NoticeKind.ROUND: ((Role.UNIT_HEAD,), (Role.UNIT_HEAD, Role.SUPERVISION)),
}


def ladder(kind: NoticeKind, escalate_after: int) -> tuple[Level, ...]:
    """The two rungs of ``kind``'s overdue ladder."""
    first, second = ROLES[kind]
    return (
        Level("yellow", "黄灯", Limit("working_days", 1), first, REPEAT),
        Level("red", "红灯", Limit("working_days", max(escalate_after, 1)), second, REPEAT),
    )


@dataclass(frozen=True)
class Overdue:
    """The rung of an overdue ladder reached today: its level, repeat number, when it was due (UTC),
    and the roles it is owed to."""

    level: str
    repeat_no: int
    due_at: datetime
    roles: tuple[str, ...]


def assess_overdue(
    kind: NoticeKind,
    due_on: date,
    today: date,
    calendar: WorkCalendar,
    zone: ZoneInfo,
    escalate_after: int,
) -> Overdue | None:
    """The rung of ``kind``'s overdue ladder reached ``today`` for a thing due on ``due_on`` (None: not
    overdue yet)."""
    hit = reached(ladder(kind, escalate_after), due_on, today, calendar, zone)
    if hit is None:
        return None
    level, repeat_no, due_at, _since = hit
    roles = level.notify if repeat_no == 0 else tuple(r for r in level.notify if r not in SUMMARY_ROLES)
    return Overdue(level.key, repeat_no, due_at, roles)


def problem_key(problem_id: int, level: str, repeat_no: int) -> NoticeKey:
    return NoticeKey(0, NoticeKind.PROBLEM, f"p{problem_id}", level, repeat_no)


def reply_key(notice_id: int, level: str, repeat_no: int) -> NoticeKey:
    return NoticeKey(0, NoticeKind.REPLY, f"n{notice_id}", level, repeat_no)


def round_key(round_id: int, unit_id: int, level: str, repeat_no: int) -> NoticeKey:
    return NoticeKey(0, NoticeKind.ROUND, f"r{round_id}-u{unit_id}", level, repeat_no)


_ROUND_RE = re.compile(r"r(\d+)-u(\d+)")


def subject_of(kind: str, round_: str) -> tuple[int, int | None] | None:
    """What a notification of these ladders is about, from its round: (problem id, None), (notice id,
    None) or (round id, unit id); None when the round is not one of theirs."""
    if kind == NoticeKind.ROUND:
        match = _ROUND_RE.fullmatch(round_)
        return (int(match.group(1)), int(match.group(2))) if match else None
    prefix = "p" if kind == NoticeKind.PROBLEM else "n" if kind == NoticeKind.REPLY else None
    if prefix is None or not round_.startswith(prefix) or not round_[1:].isdigit():
        return None
    return int(round_[1:]), None


def at_or_past(ladder_: tuple[Level, ...], level: str, key: str = NOTICE_LEVEL) -> bool:
    """Whether ``level`` is the rung ``key`` of ``ladder_`` or a higher one (False when the ladder has
    no such rung)."""
    keys = [rung.key for rung in ladder_]
    return key in keys and level in keys and keys.index(level) >= keys.index(key)


def manual_round(deadline_version: int, number: int) -> str:
    """The round of a 督办 notice issued by hand: on the deadline ladder it was issued on
    (``NoticeKey.deadline_round``, ``d3``), told apart from the sweep's own notice there (``d3-m12``)."""
    return f"d{deadline_version}-m{number}"


def on_deadline_ladder(round_: str, deadline_version: int) -> bool:
    """Whether a notice's round (the sweep's ``d3`` or a hand-issued ``d3-m12``) is on deadline ladder
    ``deadline_version``."""
    return round_.split("-", 1)[0] == f"d{deadline_version}"


def notice_number(year: int, number: int) -> str:
    """A 督办 notice's number as it is written: 督〔2026〕第12号."""
    return f"督〔{year}〕第{number}号"


_NUMBER_RE = re.compile(r"\s*督?\s*[〔\[(（]?\s*(\d{4})\s*[〕\])）]?\s*第?\s*(\d+)\s*号?\s*")
_SHORT_RE = re.compile(r"\s*(\d{4})\s*[-/]\s*(\d+)\s*")


def parse_notice(word: str) -> tuple[int, int] | int | None:
    """A notice as typed: 督〔2026〕第12号 or 2026-12 → (year, number); a plain id → the id; None when it
    is neither."""
    text = word.strip()
    if text.isdigit():
        return int(text)
    for pattern in (_SHORT_RE, _NUMBER_RE):
        match = pattern.fullmatch(text)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None
