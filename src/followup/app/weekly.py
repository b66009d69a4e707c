"""The weekly mail: each official's own projects (周调度), and the county summary (督办周报) for those who
read it — the bureau head (the head of the unit ``FOLLOWUP_BUREAU_UNIT``, default ``bureau``), the
supervision office and the principal leaders.

One notification per official and ISO week (kind ``digest``); its content is decided when it goes
out, from the active projects read and assessed once per batch. A week with nothing to report — none
of the official's projects lit, due this week, with a hold running out this week or with an open
problem (问题清单) overdue or due this week, and for a reader of the summary nothing lit, no hold
running out or held too long and no problem overdue in the county — sends nothing: the notification
is obsolete. A stale project is shown as stale in a mail that goes, but is no reason for one (跟进超时
has its own warnings). Each of the official's projects with open problems lists them (level, text,
owning unit, due date, days overdue). The summary counts lights by unit, and the county's open and
overdue problems, and names what changed:
projects newly red or newly at 约谈 in the last seven days, holds running out (or run out), holds
longer than ``FOLLOWUP_LONG_HOLD_MONTHS`` (default 6), and the ten longest overdue; and it lists every
project at 红灯 or 约谈 — the weekly reminder its readers get instead of each rung's repeats
(``domain.ladder.SUMMARY_ROLES``). When the web app has a public address, each of the official's own
projects has its 查看项目 and 记录进展 links, each red or 约谈 project of the summary its 查看项目 link
(``links``, signed for that reader when the mail goes out).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app import buttons, records
from followup.app.buttons import Links
from followup.app.runtime import Runtime
from followup.app.supervision import PROBLEM_LEVELS
from followup.domain.kinds import Light, Role
from followup.domain.limits import add_months
from followup.domain.timeutil import local_day
from followup.domain.workflow import ON_HOLD
from followup.store import mailing
from followup.store.models import Official, Problem, Project, Unit

log = logging.getLogger(__name__)

LIT = (Light.BLUE, Light.YELLOW, Light.RED, Light.TOP)
LONGEST = 10  # the summary's list of the longest overdue


@dataclass(frozen=True)
class Item:
    """One active project as the weekly mail shows it."""

    project: Project
    light: Light
    level_since: date | None
    shown: dict[str, Any]  # the template's view of it

    @property
    def lit(self) -> bool:
        return self.light in LIT


def weekly_contexts(
    rt: Runtime, session: Session, people: Sequence[Official], now: datetime
) -> dict[int, dict[str, Any] | None]:
    """The weekly mail of each of ``people``: their projects and, for a reader, the county summary;
    None when the week has nothing to report."""
    today = local_day(now, rt.zone)
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    items = _assessed(rt, session, now, today)
    problems = _open_problems(session, items, today)
    readers = mailing.summary_readers(session.connection(), rt.settings.bureau_unit)
    wanted = readers & {p.id for p in people}
    summary = _summary(rt, items, problems, today, sunday) if wanted else None
    year, week, _ = today.isocalendar()
    # Who each project concerns, indexed once: a batch may hold the weekly mail of everyone.
    by_person: dict[int, list[int]] = defaultdict(list)
    by_unit: dict[int, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        project = item.project
        by_person[project.officer_id].append(i)
        if project.leader_id is not None and project.leader_id != project.officer_id:
            by_person[project.leader_id].append(i)
        by_unit[project.unit_id].append(i)
    out: dict[int, dict[str, Any] | None] = {}
    for person in people:
        mine = set(by_person.get(person.id, ()))
        if person.is_head:
            mine.update(by_unit.get(person.unit_id, ()))
        theirs = [items[i] for i in sorted(mine)]
        due = [i.shown for i in theirs if _due_between(i, monday, sunday)]
        listed = [(i, problems[i.project.id]) for i in theirs if i.project.id in problems]
        open_: list[dict[str, Any]] = [{"project": i.shown, "problems": rows} for i, rows in listed]
        # an open problem overdue or due this week is a reason for the mail; others only show in it
        pressing = any(p["due_on"] <= sunday.isoformat() for _i, rows in listed for p in rows)
        own = any(i.lit for i in theirs) or bool(due) or pressing
        told = summary if person.id in readers else None
        if not own and told is None:
            out[person.id] = None
            continue
        links = Links.of(rt.settings, person.id, now)
        flagged = told["red_and_top"] if told else []
        out[person.id] = {
            "week": f"{year}年第{week}周（{monday.isoformat()} 至 {sunday.isoformat()}）",
            "week_label": f"{year}年第{week}周",
            "roles": _roles(rt, person, theirs, person.id in readers),
            "by": person.key,
            "projects": [i.shown for i in theirs],
            "due_this_week": due,
            "stale": [i.shown for i in theirs if i.shown["stale"]],
            "lit": sum(1 for i in theirs if i.lit),
            "problems": open_,
            "problems_overdue": sum(1 for _i, rows in listed for p in rows if p["overdue_days"] > 0),
            "summary": told,
            "links": buttons.for_projects(links, [i.shown for i in theirs], flagged),
        }
    return out


def _assessed(rt: Runtime, session: Session, now: datetime, today: date) -> list[Item]:
    """Every active project that has a ladder (not final, its workflow loads), assessed once."""
    items: list[Item] = []
    for project, workflow, result in records.assessed_projects(rt, session, now):
        held = project.stage == ON_HOLD
        stage = project.held_stage if held and project.held_stage else project.stage
        past = project.hold_until if held else project.deadline
        shown = {
            "id": project.id,
            "name": project.name,
            "unit": project.unit.name,
            "stage_label": workflow.label_of(stage),
            "deadline": project.deadline.isoformat() if project.deadline else None,
            "light": str(result.light),
            "light_label": result.light_label,
            "stale": result.stale_since is not None,
            "stale_days": (today - local_day(project.last_activity_at, rt.zone)).days
            if result.stale_since
            else None,
            "held": held,
            "hold_until": project.hold_until.isoformat() if held and project.hold_until else None,
            "held_since": local_day(project.held_since, rt.zone).isoformat()
            if held and project.held_since
            else None,
            "days_past": (today - past).days if past else None,
        }
        items.append(Item(project, result.light, result.level_since, shown))
    return items


def _open_problems(session: Session, items: list[Item], today: date) -> dict[int, list[dict[str, Any]]]:
    """The open problems (问题清单) of the active projects of ``items``, by project, by due date."""
    if not items:
        return {}
    active = {i.project.id for i in items}
    query = (
        select(Problem, Unit.name)
        .join(Unit, Unit.id == Problem.owner_unit_id)
        .where(Problem.closed_at.is_(None))
        .order_by(Problem.due_on, Problem.id)
    )
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for problem, owner in session.execute(query):
        if problem.project_id not in active:
            continue
        out[problem.project_id].append(
            {
                "id": problem.id,
                "level": problem.level,
                "level_label": PROBLEM_LEVELS.get(problem.level, problem.level),
                "text": problem.text,
                "owner": owner,
                "due_on": problem.due_on.isoformat(),
                "overdue_days": max((today - problem.due_on).days, 0),
            }
        )
    return dict(out)


def _due_between(item: Item, first: date, last: date) -> bool:
    """Its deadline (on hold: its expected restart date) falls between ``first`` and ``last``."""
    project = item.project
    day = project.hold_until if project.stage == ON_HOLD else project.deadline
    return day is not None and first <= day <= last


def _roles(rt: Runtime, person: Official, theirs: list[Item], reader: bool) -> str:
    """What the official is to the week's mail, for the greeting: 责任人、包联领导、督查室 …"""
    roles: list[str] = []
    if any(i.project.officer_id == person.id for i in theirs):
        roles.append(Role.CASE_OFFICER.label)
    if person.is_head and any(i.project.unit_id == person.unit_id for i in theirs):
        roles.append(Role.UNIT_HEAD.label)
    if any(i.project.leader_id == person.id for i in theirs):
        roles.append(Role.LEADER.label)
    if reader:
        if person.is_head and person.unit.key == rt.settings.bureau_unit:
            roles.append(f"{person.unit.name}负责人")
        roles += [Role(r).label for r in person.roles if r in (Role.SUPERVISION, Role.PRINCIPAL)]
    return "、".join(roles)


def _summary(
    rt: Runtime, items: list[Item], problems: dict[int, list[dict[str, Any]]], today: date, sunday: date
) -> dict[str, Any] | None:
    """The county summary; None when the county has nothing lit, no hold running out or held too long,
    and no problem overdue."""
    units: dict[str, dict[str, Any]] = {}
    totals: dict[str, Any] = {"name": "合计", **dict.fromkeys(_COLUMNS, 0)}
    for item in items:
        unit = units.setdefault(
            item.shown["unit"], {"name": item.shown["unit"], **dict.fromkeys(_COLUMNS, 0)}
        )
        for line in (unit, totals):
            line[str(item.light)] += 1
            line["stale"] += item.shown["stale"]
            line["on_hold"] += item.shown["held"]
    week_ago = today - timedelta(days=7)

    def newly(light: Light) -> list[dict[str, Any]]:
        return [
            i.shown
            for i in items
            if i.light is light and i.level_since is not None and week_ago < i.level_since <= today
        ]

    held = [i for i in items if i.shown["held"] and i.project.hold_until is not None]
    running_out = [i.shown for i in held if i.project.hold_until and i.project.hold_until <= sunday]
    months = rt.settings.long_hold_months
    long_holds = [i.shown for i in held if _longer_than(rt, i.project, months, today)]
    overdue = sorted(
        (i for i in items if (i.shown["days_past"] or 0) > 0),
        key=lambda i: (-i.shown["days_past"], i.shown["id"]),
    )
    flagged = sorted(
        (i for i in items if i.light in (Light.RED, Light.TOP)),
        key=lambda i: (-i.light.rank, -(i.shown["days_past"] or 0), i.shown["id"]),
    )
    summary = {
        "units": [units[name] for name in sorted(units)],
        "red_and_top": [i.shown for i in flagged],
        "totals": totals,
        "lit": sum(totals[str(light)] for light in LIT),
        "newly_red": newly(Light.RED),
        "newly_top": newly(Light.TOP),
        "holds_running_out": running_out,
        "long_holds": long_holds,
        "long_hold_months": months,
        "longest_overdue": [i.shown for i in overdue[:LONGEST]],
        "problems_open": sum(len(rows) for rows in problems.values()),
        "problems_overdue": sum(1 for rows in problems.values() for p in rows if p["overdue_days"] > 0),
    }
    if not (summary["lit"] or running_out or long_holds or summary["problems_overdue"]):
        return None
    return summary


_COLUMNS = ("green", "blue", "yellow", "red", "top", "stale", "on_hold")


def _longer_than(rt: Runtime, project: Project, months: int, today: date) -> bool:
    """A hold meant to last, or lasting already, longer than ``months``."""
    if project.held_since is None or project.hold_until is None:
        return False
    bound = add_months(local_day(project.held_since, rt.zone), months)
    return project.hold_until > bound or today >= bound
