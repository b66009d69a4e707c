"""The monthly bulletin (月通报): the month's figures against the month before, the units ranked (红黑榜),
the red and 约谈 projects, overdue problems, open 督办 notices and the funnel — as one view
(:func:`build_bulletin`), rendered as HTML, xlsx or PDF by ``app.bulletin_files``, and mailed once a month
to its readers (:func:`queue_bulletin`, and ``app.letters`` when it goes out).

The figures are ``app.report``'s, as of the month's last day and as of the previous month's last day
(rebuilt from the history). The lights, problems and notices are as they stood at the end of the
month's last day (``app.bulletin_state``: each project's ladder rebuilt from its history and assessed
then), so that a bulletin issued on the 5th, or reissued a year later, names what was red in its month;
of the month in progress, as they stand now.

The ranking (红黑榜: each unit's score, ``FOLLOWUP_BULLETIN_SCORE``, default
``start_rate=1,followup=0.5,red=-5,top=-10,overdue_problems=-2``) is ``app.bulletin_rank``'s.

Mailing: one notification per reader and month (kind ``bulletin``, round ``2026-11``), queued once the
schedule has come (``FOLLOWUP_BULLETIN_SCHEDULE``, default the 5th at 09:00, the next working day when
the 5th is a rest day) to the county leaders (role leader), the supervision office, the principal
leaders and the bureau head (the head of ``FOLLOWUP_BUREAU_UNIT``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, select, text
from sqlalchemy.engine import Connection

from followup.app import rounds
from followup.app.bulletin_rank import COMPONENTS as COMPONENTS
from followup.app.bulletin_rank import LISTED as LISTED
from followup.app.bulletin_rank import Ranking, checked_weights, rankings, score_definition
from followup.app.bulletin_rank import UnitScore as UnitScore
from followup.app.bulletin_state import PROBLEM_LEVELS as PROBLEM_LEVELS
from followup.app.bulletin_state import FlaggedProject, NoticeLine, ProblemLine, _Assessed, _read_state
from followup.app.report import Figure, ReportView, build_report
from followup.app.rounds import RoundStatus
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain.kinds import Light, NoticeKind, NoticeStatus, Role
from followup.domain.metrics import percent
from followup.domain.timeutil import as_utc, local_day
from followup.errors import InvalidInput, NotFound
from followup.i18n import _
from followup.store.models import (
    Notification,
    Official,
    OfficialRole,
    Unit,
)

log = logging.getLogger(__name__)

BULLETIN_LEVEL = "bulletin"


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class FigureLine(View):
    """One figure this month against the month before: the change in percentage points."""

    key: str
    label: str
    numerator: float
    denominator: float
    value: float | None
    shown: str  # 89.9%
    previous: float | None
    previous_shown: str
    change: float | None  # percentage points
    change_shown: str  # +1.2个百分点, 持平, —
    definition: str


@dataclass(frozen=True)
class RoundLine(View):
    """A unit's 填报率 in the month's reporting round (调度)."""

    unit: str
    asked: int
    reported: int
    rate: str  # 85.0% or —


@dataclass(frozen=True)
class FunnelStep(View):
    key: str
    label: str
    count: int
    share: float | None  # of the first step


@dataclass(frozen=True)
class BulletinView(View):
    month: str  # 2026-11
    county: str
    title: str
    issuer: str
    number: str  # 文号: 〔2026〕第11期
    issued_on: date
    as_of: date
    previous_as_of: date
    month_label: str  # 2026年11月
    figures: list[FigureLine]
    indicators: list[FigureLine]
    score: list[tuple[str, float]]
    score_definition: str
    rankings: list[Ranking]
    flagged: list[FlaggedProject]
    problems: list[ProblemLine]
    open_problems: int
    notices: list[NoticeLine]
    notices_issued: int  # 督办 notices issued in the month
    notices_replied: int  # of them, replied to by the end of ``as_of``
    round_rate: str | None  # the month's reporting round (调度): its 填报率, None when there was none
    round_units: list[RoundLine]
    funnel: list[FunnelStep]
    projects: int  # counted by the figures as of the month's end
    active: int
    new_in_month: int  # entered in the month (not voided)
    notes: list[str]

    @property
    def units(self) -> list[UnitScore]:
        return [u for r in self.rankings for u in r.units]


# --------------------------------------------------------------------------- the month


def parse_month(text_: str) -> tuple[int, int]:
    """``2026-11``, ``2026/11``, ``2026.11``, ``2026年11月`` → (2026, 11)."""
    import re
    import unicodedata

    typed = unicodedata.normalize("NFKC", text_).strip()
    match = re.fullmatch(r"([0-9]{4})\s*(?:[-/.]|年)\s*([0-9]{1,2})\s*月?", typed)
    if match is None or not 1 <= int(match[2]) <= 12 or not 1900 <= int(match[1]) <= 2199:
        raise InvalidInput(
            _("bad month {value!r}: expected a month such as 2026-11 or 2026年11月").format(value=text_[:40])
        )
    return int(match[1]), int(match[2])


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def last_day(year: int, month: int) -> date:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return following - timedelta(days=1)


def default_month(rt: Runtime) -> tuple[int, int]:
    """The month before the one ``rt.now()`` falls in (the configured zone)."""
    today = local_day(rt.now(), rt.zone)
    return previous_month(today.year, today.month)


def bulletin_due(rt: Runtime, year: int, month: int) -> datetime:
    """When the bulletin of ``month`` goes out: the schedule's day of the following month at its time,
    or the next working day when that day is a rest day (rt.calendar: 调休 included)."""
    day_of_month, at = rt.settings.bulletin_schedule
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    day = following.replace(day=day_of_month)
    while not rt.calendar.is_workday(day):
        day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=rt.zone)


def bulletin_round(rt: Runtime) -> tuple[str, datetime]:
    """The bulletin due this month by ``rt.now()`` (that of the month before) and when it is due."""
    year, month = default_month(rt)
    return month_key(year, month), bulletin_due(rt, year, month)


# --------------------------------------------------------------------------- the bulletin


def build_bulletin(rt: Runtime, month: str | None = None, *, issued_on: date | None = None) -> BulletinView:
    """The bulletin of ``month`` (``2026-11``; default the month before ``rt.now()``): the figures as of
    its last day against the month before, the units ranked, what was red, overdue and open at the
    end of its last day (of the month in progress: now). ``issued_on`` (default today) dates it."""
    year, mon = parse_month(month) if month else default_month(rt)
    now = rt.now()
    today = local_day(now, rt.zone)
    first = date(year, mon, 1)
    if first > today:
        raise InvalidInput(
            _("the bulletin of {month} cannot be made before the month has begun (today is {today})").format(
                month=month_key(year, mon), today=today
            )
        )
    weights = checked_weights(rt)
    as_of = min(last_day(year, mon), today)
    previous_as_of = last_day(*previous_month(year, mon))
    # the lights come from the bulletin's own reading (bulletin_state), not the report's board
    current = build_report(rt, as_of=as_of, by="unit", with_lights=False)
    before = build_report(rt, as_of=previous_as_of, with_lights=False)
    issued = issued_on or today
    state = _read_state(rt, now, issued, first, as_of)
    round_status = _round(rt, month_key(year, mon))
    report_rates = {u.unit.key: u.rate for u in round_status.units} if round_status else {}
    ranked = rankings(
        current,
        state.units,
        state.counts,
        state.assessed,
        state.problems,
        state.notices,
        weights,
        report_rates,
    )
    county = rt.settings.county_name
    return BulletinView(
        month=month_key(year, mon),
        county=county,
        title=f"{county}招商引资项目推进情况通报",
        issuer=rt.settings.bulletin_issuer,
        number=f"〔{year}〕第{mon}期",
        issued_on=issued,
        as_of=as_of,
        previous_as_of=previous_as_of,
        month_label=f"{year}年{mon}月",
        figures=_compare(current.figures, before.figures),
        indicators=_compare(current.indicators, before.indicators),
        score=list(weights),
        score_definition=score_definition(weights, current),
        rankings=ranked,
        flagged=_flagged(state.assessed),
        problems=state.problems,
        open_problems=state.open_problems,
        notices=state.notices,
        notices_issued=len(state.issued_in_month),
        notices_replied=sum(1 for replied in state.issued_in_month if replied),
        round_rate=_round_rate(round_status),
        round_units=_round_lines(round_status),
        funnel=_funnel(current),
        projects=current.projects,
        active=len(state.assessed),
        new_in_month=state.new_in_month,
        notes=_month_notes(year, mon, as_of),
    )


def _flagged(assessed: list[_Assessed]) -> list[FlaggedProject]:
    """The red and 约谈 projects, the highest light and the longest overdue first."""
    return sorted(
        (a.flagged for a in assessed if a.light in (Light.RED, Light.TOP)),
        key=lambda f: (-Light(f.light).rank, -(f.days_past or 0), f.id),
    )


def _round_rate(status: RoundStatus | None) -> str | None:
    if status is None:
        return None
    return percent(status.rate / 100) if status.rate is not None else "—"


def _round_lines(status: RoundStatus | None) -> list[RoundLine]:
    if status is None:
        return []
    return [
        RoundLine(u.unit.name, u.asked, u.reported, percent(u.rate / 100) if u.rate is not None else "—")
        for u in status.units
    ]


def _month_notes(year: int, mon: int, as_of: date) -> list[str]:
    if as_of < last_day(year, mon):
        return [_("the month is not over: figures as of {day}").format(day=as_of.isoformat())]
    return []


def _compare(now: list[Figure], before: list[Figure]) -> list[FigureLine]:
    previous = {f.key: f for f in before}
    out = []
    for f in now:
        p = previous.get(f.key)
        change = None
        if f.value is not None and p is not None and p.value is not None:
            change = round((f.value - p.value) * 100, 1)
        if change is None:
            change_shown = "—"
        elif change == 0:
            change_shown = _("unchanged")
        else:
            change_shown = _("{change} points").format(change=f"{change:+.1f}")
        out.append(
            FigureLine(
                key=f.key,
                label=f.label,
                numerator=float(f.numerator),
                denominator=float(f.denominator),
                value=f.value,
                shown=percent(f.value),
                previous=p.value if p else None,
                previous_shown=percent(p.value) if p else "—",
                change=change,
                change_shown=change_shown,
                definition=f.definition,
            )
        )
    return out


def _round(rt: Runtime, month: str) -> RoundStatus | None:
    """The month's reporting round (调度) with its 填报率 by unit, None when there was none."""
    try:
        return rounds.status(rt, month)
    except NotFound:
        return None


def _funnel(report: ReportView) -> list[FunnelStep]:
    steps = [(key, label, int(n)) for key, label, n in report.funnel]
    first = steps[0][2] if steps else 0
    return [FunnelStep(key, label, n, (n / first) if first else None) for key, label, n in steps]


# --------------------------------------------------------------------------- mailing


@dataclass(frozen=True)
class BulletinQueued(View):
    """The bulletin's mailing: its month, when it is due, how many notifications were queued now, to
    how many readers it goes."""

    month: str
    due: datetime
    queued: int
    recipients: int


def bulletin_readers(conn: Connection, bureau_unit: str) -> dict[int, str]:
    """Who reads the bulletin, each with the role it is sent in: the principal leaders, the supervision
    office, the county leaders (role leader) and the head of the bureau unit; active officials only."""
    rank = {Role.PRINCIPAL.value: 0, Role.SUPERVISION.value: 1, Role.LEADER.value: 2}
    out: dict[int, str] = {}
    held = conn.execute(
        select(OfficialRole.official_id, OfficialRole.role)
        .join(Official, Official.id == OfficialRole.official_id)
        .where(Official.active.is_(True), OfficialRole.role.in_(list(rank)))
    ).all()
    for who, role in sorted(held, key=lambda r: rank[r[1]]):
        out.setdefault(who, role)
    heads = conn.execute(
        select(Official.id)
        .join(Unit, Unit.id == Official.unit_id)
        .where(Unit.key == bureau_unit, Official.is_head.is_(True), Official.active.is_(True))
    ).scalars()
    for who in heads:
        out.setdefault(who, Role.UNIT_HEAD.value)
    return out


def queue_bulletin(rt: Runtime, month: str | None = None) -> BulletinQueued:
    """Queue the bulletin for its readers, once per reader and month (idempotent).

    Without ``month``: the bulletin due by ``rt.now()`` (that of the month before), once its time has
    come (``FOLLOWUP_BULLETIN_SCHEDULE``); before that nothing is queued. With ``month`` (by hand,
    ``followup bulletin --queue``): that month's, due now."""
    now = rt.now()
    if month is None:
        key, due = bulletin_round(rt)
        if as_utc(now) < due:
            return BulletinQueued(key, due, 0, 0)
    else:
        year, mon = parse_month(month)
        key, due = month_key(year, mon), now
        if date(year, mon, 1) > local_day(now, rt.zone):
            raise InvalidInput(
                _(
                    "the bulletin of {month} cannot be made before the month has begun (today is {today})"
                ).format(month=key, today=local_day(now, rt.zone))
            )
    with rt.store.transaction() as session:
        conn = session.connection()
        _lock(conn)
        readers = bulletin_readers(conn, rt.settings.bureau_unit)
        already = set(
            conn.execute(
                select(Notification.recipient_id).where(
                    and_(Notification.kind == NoticeKind.BULLETIN.value, Notification.round == key)
                )
            ).scalars()
        )
        rows = [
            Notification(
                project_id=None,
                stage_seq=0,
                kind=NoticeKind.BULLETIN.value,
                round=key,
                level=BULLETIN_LEVEL,
                repeat_no=0,
                recipient_id=who,
                role=role,
                status=NoticeStatus.PENDING.value,
                attempts=0,
                deferrals=0,
                due_at=as_utc(due),
                created_at=now,
                next_attempt_at=now,
            )
            for who, role in sorted(readers.items())
            if who not in already
        ]
        session.add_all(rows)
    if rows:
        log.info("monthly bulletin %s: %d notifications queued for %d readers", key, len(rows), len(readers))
    return BulletinQueued(key, due, len(rows), len(readers))


def _lock(conn: Connection) -> None:
    """One queuer of bulletins at a time: the outbox's identity cannot tell two bulletins without a
    project apart, so the check for those already queued and the insert must not interleave.
    SQLite: the transaction holds the write lock already (BEGIN IMMEDIATE); PostgreSQL: an advisory
    lock held until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7262837465)"))
