"""What a card in a work group says (issue 11): a warning or notice about one project — the level in
colour words, the project, its stage and how far overdue, the responsible official mentioned, buttons
to the web app —, the weekly summary of the unit's projects by light, or the bulletin's headline.

The buttons are plain addresses of the web app's project page (``/projects/<id>`` and its ``#log``
form), not a mail's signed action links: a group card is read by everyone in the group, and a signed
link opens a session as the official it was made for. The page asks whoever opens it to sign in.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.runtime import Runtime
from followup.chat.payloads import Card, Mention
from followup.domain.kinds import Light, NoticeKind
from followup.domain.timeutil import as_utc
from followup.domain.workflow import TERMINATED
from followup.i18n import _
from followup.store.models import Official, Project, Unit

_WARNINGS = (NoticeKind.DEADLINE.value, NoticeKind.HOLD.value, NoticeKind.STALE.value)


def card_for(rt: Runtime, session: Session, row: Any, now: datetime) -> Card:
    """The card of one claimed chat row (its identity, channel's unit and mentions)."""
    mentions = _mentions(session, row.mentions or [])
    if row.kind == NoticeKind.DIGEST.value:
        return _weekly(session, row, mentions)
    if row.kind == NoticeKind.BULLETIN.value:
        return _bulletin(session, row, mentions)
    if row.project_id:
        return _project_card(rt, session, row, mentions, now)
    unit = session.get(Unit, row.unit_id)
    title = _("{kind}: {unit}").format(kind=NoticeKind(row.kind).label, unit=unit.name if unit else "")
    return Card(title, Light.of_level(row.level), (_("Please see the mail for details."),), (), mentions)


def level_words(rt: Runtime, project: Project | None, kind: str, level: str) -> str:
    """A level as people say it: 黄灯, 红灯; a county's own level by its label in the workflow."""
    if kind == NoticeKind.STALE.value:
        return NoticeKind.STALE.label
    if level in Light._value2member_map_:
        return Light(level).label
    if project is not None:
        placed = records.placement(rt, project.workflow, project.stage)
        if placed.workflow is not None:
            for rung in placed.workflow.ladder_for(project.stage):
                if rung.key == level:
                    return rung.label
    return level


def _project_card(
    rt: Runtime, session: Session, row: Any, mentions: tuple[Mention, ...], now: datetime
) -> Card:
    project = session.get(Project, row.project_id)
    if project is None:  # deleted meanwhile: obsolete upstream; say the least
        return Card(NoticeKind(row.kind).label, "red", (), (), mentions)
    words = level_words(rt, project, row.kind, row.level)
    placed = records.placement(rt, project.workflow, project.stage)
    stage = placed.workflow.label_of(project.stage) if placed.workflow else project.stage
    if row.kind in _WARNINGS:
        title = _("[{level}] {project}").format(level=words, project=project.name)
    else:
        title = _("[{kind} · {level}] {project}").format(
            kind=NoticeKind(row.kind).label, level=words, project=project.name
        )
    lines = [
        _("**Project**: {name} (No. {id})").format(name=project.name, id=project.id),
        _("**Unit**: {unit}").format(unit=project.unit.name),
        _("**Stage**: {stage}").format(stage=stage),
    ]
    lines.append(_overdue(rt, project, now))
    lines.append(_("**Case officer**: {name}").format(name=project.officer.name))
    return Card(title, Light.of_level(row.level), tuple(lines), _buttons(rt, project.id), mentions)


def _overdue(rt: Runtime, project: Project, now: datetime) -> str:
    """How far past its deadline (or its expected restart, on hold) the project is, in working days."""
    today = as_utc(now).astimezone(rt.zone).date()
    due = project.hold_until if project.held_stage is not None and project.hold_until else project.deadline
    if due is None:
        return _("**Deadline**: none")
    if today <= due:
        return _("**Deadline**: {due} (not yet passed)").format(due=due.isoformat())
    days = rt.calendar.working_days_between(due, today)
    return _("**Deadline**: {due}, overdue by {n} working days").format(due=due.isoformat(), n=days)


def _buttons(rt: Runtime, project_id: int) -> tuple[tuple[str, str], ...]:
    if not rt.settings.web_url:
        return ()
    page = f"{rt.settings.web_url}/projects/{project_id}"
    return ((_("Record progress"), page + "#log"), (_("View project"), page))


def _weekly(session: Session, row: Any, mentions: tuple[Mention, ...]) -> Card:
    """The unit's weekly summary: its active projects counted by light."""
    levels = session.scalars(
        select(Project.level).where(
            Project.unit_id == row.unit_id, Project.stage != TERMINATED, Project.voided_at.is_(None)
        )
    ).all()
    counted = Counter(Light.of_level(level) for level in levels)
    shown = "  ".join(f"{light.label} {counted[light]}" for light in Light if counted[light])
    unit = session.get(Unit, row.unit_id)
    title = _("Weekly summary {week}: {unit}").format(week=row.round, unit=unit.name if unit else "")
    lines = (
        _("**Active projects**: {n}").format(n=len(levels)),
        _("**By light**: {counts}").format(counts=shown or "-"),
        _("Each official's projects are in the weekly mail."),
    )
    worst = max(counted, key=lambda light: light.rank, default=Light.GREEN)
    return Card(title, worst, lines, (), mentions)


def _bulletin(session: Session, row: Any, mentions: tuple[Mention, ...]) -> Card:
    unit = session.get(Unit, row.unit_id)
    title = _("Monthly bulletin {month} issued").format(month=row.round)
    lines = (
        _("The bulletin of {month} has been issued to {unit}: see the mail for the file.").format(
            month=row.round, unit=unit.name if unit else ""
        ),
    )
    return Card(title, "blue", lines, (), mentions)


def _mentions(session: Session, ids: list[int]) -> tuple[Mention, ...]:
    if not ids:
        return ()
    people = session.execute(
        select(Official.id, Official.name, Official.mobile, Official.chat_user_id).where(Official.id.in_(ids))
    ).all()
    by_id = {p.id: Mention(p.name, p.mobile, p.chat_user_id) for p in people}
    return tuple(by_id[i] for i in ids if i in by_id)
