"""The monthly bulletin (月通报): the month's figures against the month before, the units ranked (红黑榜),
the red and 约谈 projects, overdue problems, open 督办 notices and the funnel — as one view
(:func:`build_bulletin`), rendered as HTML, xlsx or PDF by ``app.bulletin_files``, and mailed once a month
to its readers (:func:`queue_bulletin`, and ``app.letters`` when it goes out).

The figures are ``app.report``'s, as of the month's last day and as of the previous month's last day
(rebuilt from the history). The lights, problems and notices are as they stand when the bulletin is
issued: a bulletin names what is red *now*, as county bulletins do.

The ranking's score (``FOLLOWUP_BULLETIN_SCORE``) is a weighted sum of a unit's components: any rate of
the report by key (``start_rate``, ``performance_rate`` … in percent, 0-100), ``followup`` (the share
of its active projects followed up in time, in percent: not 跟进超时), ``red`` and ``top`` (its projects
at 红灯 and at 约谈), ``overdue_problems`` (its open problems past their due date) and
``unreplied_notices`` (its 督办 notices past their reply date without a reply) and ``report_rate`` (its
填报率 in the month's reporting round, 调度, in percent). The default is
``start_rate=1,followup=0.5,red=-5,top=-10,overdue_problems=-2``. A rate with nothing to count (no
signed project) counts 0. Townships and departments are ranked apart; the best and the worst three of
each (at most half of them) are the 红榜 and the 黑榜.

Mailing: one notification per reader and month (kind ``bulletin``, round ``2026-11``), queued once the
schedule has come (``FOLLOWUP_BULLETIN_SCHEDULE``, default the 5th at 09:00, the next working day when
the 5th is a rest day) to the county leaders (role leader), the supervision office, the principal
leaders and the bureau head (the head of ``FOLLOWUP_BUREAU_UNIT``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from followup.app import rounds
from followup.app.report import Figure, ReportView, build_report
from followup.app.rounds import RoundStatus
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain.kinds import Light, NoticeKind, NoticeStatus, Role, UnitKind
from followup.domain.ladder import Memo, assess
from followup.domain.metrics import percent
from followup.domain.notices import ProjectClock
from followup.domain.timeutil import as_utc, local_day
from followup.domain.workflow import ON_HOLD, TERMINATED
from followup.errors import ConfigError, FollowupError, InvalidInput, NotFound
from followup.i18n import N_, _
from followup.store.models import (
    Notification,
    Official,
    OfficialRole,
    Problem,
    Project,
    SupervisionNotice,
    Unit,
)

log = logging.getLogger(__name__)

#: the score's own components (beside the report's rates, by key), with what they are called
COMPONENTS: dict[str, str] = {
    "followup": N_("followed up in time (%)"),
    "red": N_("red projects"),
    "top": N_("约谈 projects"),
    "overdue_problems": N_("overdue problems"),
    "unreplied_notices": N_("notices past their reply date"),
    "report_rate": N_("reported in the month's round (%)"),
}
#: the red and black lists: this many units at most, and never more than half of those ranked
LISTED = 3
#: the problem levels as a county writes them
PROBLEM_LEVELS = {"general": "一般", "coordination": "协调", "major": "重大"}
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
class UnitScore(View):
    """A unit's line in the ranking: its score and what it is made of."""

    rank: int
    key: str
    name: str
    kind: str
    score: float
    components: dict[str, float]  # by weight name: the raw value (a rate in percent)
    projects: int  # not voided, any stage
    active: int  # active projects assessed (not final, not terminated)
    signed: int
    started: int
    start_rate: str  # 89.9% or —
    lights: dict[str, int]  # green, blue, yellow, red, top
    stale: int


@dataclass(frozen=True)
class Ranking(View):
    """The units of one kind (township or department), best first, with the red and black lists."""

    kind: str
    kind_label: str
    units: list[UnitScore]
    best: list[UnitScore]
    worst: list[UnitScore]  # the lowest first


@dataclass(frozen=True)
class FlaggedProject(View):
    id: int
    name: str
    unit: str
    stage_label: str
    light: str
    light_label: str
    since: date | None  # the day the level was reached
    days_past: int | None  # past its deadline (on hold: its restart date)
    leader: str | None
    officer: str


@dataclass(frozen=True)
class ProblemLine(View):
    id: int
    project_id: int
    project: str
    unit: str
    level: str
    level_label: str
    due_on: date
    days_overdue: int
    text: str


@dataclass(frozen=True)
class NoticeLine(View):
    id: int
    number: str  # 督〔2026〕第12号
    project_id: int
    project: str
    unit: str
    level: str
    issued_on: date
    reply_due: date
    days_overdue: int  # past the reply date (0: not yet due)


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
    notices_replied: int  # of them, replied to by now
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
    its last day against the month before, the units ranked, what is red, overdue and open now.
    ``issued_on`` (default today) dates it."""
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
    weights = _checked_weights(rt)
    as_of = min(last_day(year, mon), today)
    py, pm = previous_month(year, mon)
    previous_as_of = last_day(py, pm)
    current = build_report(rt, as_of=as_of, by="unit")
    before = build_report(rt, as_of=previous_as_of)
    issued = issued_on or today
    with rt.store.reading() as session:
        conn = session.connection()
        assessed = _assessed(rt, session, now)
        units = {u.key: u for u in session.scalars(select(Unit))}
        counts = _project_counts(conn)
        problems = _problems(session, issued)
        open_problems = _open_problems(conn)
        notices = _notices(rt, session, issued)
        new_in_month = _entered_between(conn, rt, first, as_of)
        issued_in_month = _issued_between(session, rt, first, as_of)
    round_status = _round(rt, month_key(year, mon))
    report_rates = {u.unit.key: u.rate for u in round_status.units} if round_status else {}
    rankings = _rankings(current, units, counts, assessed, problems, notices, weights, report_rates)
    flagged = sorted(
        (a.flagged for a in assessed if a.light in (Light.RED, Light.TOP)),
        key=lambda f: (-Light(f.light).rank, -(f.days_past or 0), f.id),
    )
    funnel = _funnel(current)
    county = rt.settings.county_name
    month_label = f"{year}年{mon}月"
    notes = []
    if as_of < last_day(year, mon):
        notes.append(_("the month is not over: figures as of {day}").format(day=as_of.isoformat()))
    return BulletinView(
        month=month_key(year, mon),
        county=county,
        title=f"{county}招商引资项目推进情况通报",
        issuer=rt.settings.bulletin_issuer,
        number=f"〔{year}〕第{mon}期",
        issued_on=issued,
        as_of=as_of,
        previous_as_of=previous_as_of,
        month_label=month_label,
        figures=_compare(current.figures, before.figures),
        indicators=_compare(current.indicators, before.indicators),
        score=list(weights),
        score_definition=score_definition(weights, current),
        rankings=rankings,
        flagged=flagged,
        problems=problems,
        open_problems=open_problems,
        notices=notices,
        notices_issued=len(issued_in_month),
        notices_replied=sum(1 for replied in issued_in_month if replied),
        round_rate=(percent(round_status.rate / 100) if round_status.rate is not None else "—")
        if round_status
        else None,
        round_units=[
            RoundLine(u.unit.name, u.asked, u.reported, percent(u.rate / 100) if u.rate is not None else "—")
            for u in round_status.units
        ]
        if round_status
        else [],
        funnel=funnel,
        projects=current.projects,
        active=len(assessed),
        new_in_month=new_in_month,
        notes=notes,
    )


def _checked_weights(rt: Runtime) -> tuple[tuple[str, float], ...]:
    from followup.domain.metrics import LABELS

    weights = rt.settings.bulletin_score
    allowed = [*(k for k in LABELS if k.endswith("_rate")), *COMPONENTS]
    for name, _weight in weights:
        if name not in allowed:
            raise ConfigError(
                _("bulletin score: unknown component {name!r}; allowed: {allowed}").format(
                    name=name, allowed=", ".join(allowed)
                )
            )
    return weights


def score_definition(weights: tuple[tuple[str, float], ...], report: ReportView) -> str:
    """The score in words: 开工率（%）×1 + 按时跟进率（%）×0.5 − 红灯项目数×5 …"""
    labels = {f.key: _("{label} (%)").format(label=f.label) for f in report.figures}
    parts: list[str] = []
    for name, weight in weights:
        label = labels.get(name) or _(COMPONENTS.get(name, name))
        number = f"{abs(weight):g}"
        sign = "−" if weight < 0 else "+"
        parts.append(f"{sign} {label}×{number}" if parts or weight < 0 else f"{label}×{number}")
    return " ".join(parts)


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


@dataclass(frozen=True)
class _Assessed:
    unit_id: int
    light: Light
    stale: bool
    flagged: FlaggedProject


def _assessed(rt: Runtime, session: Session, now: datetime) -> list[_Assessed]:
    """Every active project with a ladder (not final, its workflow loads), assessed now."""
    memo: Memo = {}
    today = local_day(now, rt.zone)
    out: list[_Assessed] = []
    active = select(Project).where(Project.stage != TERMINATED, Project.voided_at.is_(None))
    for project in session.scalars(active.order_by(Project.id)).unique():
        try:
            workflow = rt.workflows.get(project.workflow)
        except FollowupError as exc:  # the board and the sweep say so
            log.warning("project %s: %s", project.id, exc)
            continue
        if workflow.is_final(project.stage) or workflow.placement_problem(project.stage, project.held_stage):
            continue
        result = assess(workflow, ProjectClock.from_row(project), now, rt.calendar, rt.zone, memo)
        held = project.stage == ON_HOLD
        stage = project.held_stage if held and project.held_stage else project.stage
        past = project.hold_until if held else project.deadline
        flagged = FlaggedProject(
            id=project.id,
            name=project.name,
            unit=project.unit.name,
            stage_label=workflow.label_of(stage),
            light=str(result.light),
            light_label=result.light_label,
            since=result.level_since,
            days_past=(today - past).days if past and past < today else None,
            leader=project.leader.name if project.leader else None,
            officer=project.officer.name,
        )
        out.append(_Assessed(project.unit_id, result.light, result.stale_since is not None, flagged))
    return out


def _project_counts(conn: Connection) -> dict[int, int]:
    rows = conn.execute(select(Project.unit_id, Project.id).where(Project.voided_at.is_(None))).all()
    counts: dict[int, int] = defaultdict(int)
    for unit_id, _pid in rows:
        counts[unit_id] += 1
    return counts


def _entered_between(conn: Connection, rt: Runtime, first: date, last: date) -> int:
    rows = conn.execute(select(Project.created_at).where(Project.voided_at.is_(None))).scalars()
    return sum(1 for created in rows if first <= local_day(as_utc(created), rt.zone) <= last)


def _problems(session: Session, today: date) -> list[ProblemLine]:
    """Open problems past their due date, the longest overdue first."""
    query = (
        select(Problem, Project.name, Unit.name)
        .join(Project, Project.id == Problem.project_id)
        .join(Unit, Unit.id == Problem.owner_unit_id)
        .where(Problem.closed_at.is_(None), Problem.due_on < today, Project.voided_at.is_(None))
        .order_by(Problem.due_on, Problem.id)
    )
    return [
        ProblemLine(
            id=p.id,
            project_id=p.project_id,
            project=project,
            unit=unit,
            level=p.level,
            level_label=PROBLEM_LEVELS.get(p.level, p.level),
            due_on=p.due_on,
            days_overdue=(today - p.due_on).days,
            text=p.text,
        )
        for p, project, unit in session.execute(query)
    ]


def _issued_between(session: Session, rt: Runtime, first: date, last: date) -> list[bool]:
    """The 督办 notices issued between ``first`` and ``last``: whether each was replied to."""
    rows = session.execute(select(SupervisionNotice.issued_at, SupervisionNotice.replied_at)).all()
    return [replied is not None for issued, replied in rows if first <= local_day(issued, rt.zone) <= last]


def _round(rt: Runtime, month: str) -> RoundStatus | None:
    """The month's reporting round (调度) with its 填报率 by unit, None when there was none."""
    try:
        return rounds.status(rt, month)
    except NotFound:
        return None


def _open_problems(conn: Connection) -> int:
    return len(conn.execute(select(Problem.id).where(Problem.closed_at.is_(None))).all())


def _notices(rt: Runtime, session: Session, today: date) -> list[NoticeLine]:
    """督办 notices without a reply, the oldest first."""
    query = (
        select(SupervisionNotice, Project.name, Unit.name)
        .join(Project, Project.id == SupervisionNotice.project_id)
        .join(Unit, Unit.id == SupervisionNotice.unit_id)
        .where(SupervisionNotice.replied_at.is_(None), Project.voided_at.is_(None))
        .order_by(SupervisionNotice.year, SupervisionNotice.number)
    )
    return [
        NoticeLine(
            id=n.id,
            number=f"督〔{n.year}〕第{n.number}号",
            project_id=n.project_id,
            project=project,
            unit=unit,
            level=n.level,
            issued_on=local_day(n.issued_at, rt.zone),
            reply_due=n.reply_due,
            days_overdue=max((today - n.reply_due).days, 0),
        )
        for n, project, unit in session.execute(query)
    ]


def _rankings(
    report: ReportView,
    units: dict[str, Unit],
    counts: dict[int, int],
    assessed: list[_Assessed],
    problems: list[ProblemLine],
    notices: list[NoticeLine],
    weights: tuple[tuple[str, float], ...],
    report_rates: dict[str, float | None],
) -> list[Ranking]:
    figures = {g.key: {f.key: f for f in g.figures} for g in report.groups}
    by_id = {u.id: u for u in units.values()}
    lights: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys((str(x) for x in Light), 0))
    stale: dict[int, int] = defaultdict(int)
    for a in assessed:
        lights[a.unit_id][str(a.light)] += 1
        stale[a.unit_id] += a.stale
    late_problems: dict[str, int] = defaultdict(int)
    for p in problems:
        late_problems[p.unit] += 1
    late_notices: dict[str, int] = defaultdict(int)
    for n in notices:
        late_notices[n.unit] += n.days_overdue > 0
    scored: dict[str, list[UnitScore]] = defaultdict(list)
    for unit_id, count in counts.items():
        unit = by_id.get(unit_id)
        if unit is None or not count:
            continue
        mine = figures.get(unit.key, {})
        line = lights[unit_id]
        active = sum(line.values())
        components: dict[str, float] = {
            "followup": 100.0 * (active - stale[unit_id]) / active if active else 0.0,
            "red": float(line[Light.RED]),
            "top": float(line[Light.TOP]),
            "overdue_problems": float(late_problems[unit.name]),
            "unreplied_notices": float(late_notices[unit.name]),
            "report_rate": report_rates.get(unit.key) or 0.0,
        }
        for key, f in mine.items():
            components[key] = 100.0 * f.value if f.value is not None else 0.0
        score = round(sum(weight * components.get(name, 0.0) for name, weight in weights), 1)
        started = mine.get("start_rate")
        scored[unit.kind].append(
            UnitScore(
                rank=0,
                key=unit.key,
                name=unit.name,
                kind=unit.kind,
                score=score,
                components={name: round(components.get(name, 0.0), 1) for name, _w in weights},
                projects=count,
                active=active,
                signed=int(started.denominator) if started else 0,
                started=int(started.numerator) if started else 0,
                start_rate=percent(started.value) if started else "—",
                lights=dict(line),
                stale=stale[unit_id],
            )
        )
    out = []
    for kind in (UnitKind.TOWNSHIP, UnitKind.DEPARTMENT):
        lines = sorted(scored.get(kind.value, []), key=lambda u: (-u.score, u.name))
        ranked: list[UnitScore] = []
        for i, u in enumerate(lines):
            tied = ranked[-1].rank if ranked and ranked[-1].score == u.score else i + 1
            ranked.append(_with_rank(u, tied))
        listed = min(LISTED, len(ranked) // 2)
        out.append(
            Ranking(
                kind=kind.value,
                kind_label=kind.label,
                units=ranked,
                best=ranked[:listed],
                worst=list(reversed(ranked[-listed:])) if listed else [],
            )
        )
    return [r for r in out if r.units]


def _with_rank(u: UnitScore, rank: int) -> UnitScore:
    from dataclasses import replace

    return replace(u, rank=rank)


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
