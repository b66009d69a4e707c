"""What the mail says of supervision (督办), for ``app.letters``: the 督办 notice of a project at red
(its number, the reply asked for by a date), and the notifications of the overdue ladders
(``domain.overdue``: a problem past its due date, a missing reply, a unit behind in a round).

A notification of an overdue ladder is judged when mail goes out, as the stage ladders' are:

- **obsolete** when the thing is done or gone: the problem closed, the notice replied to, the unit
  has reported all its projects or the round was closed; the project terminated or voided;
- **superseded** when a newer notification of the same ladder (kind and round) to the same person is
  live: only the newest is delivered;
- **waiting** when it is a repeat that comes sooner than 7 days after the last delivery of its ladder
  to that person, or on the working day right after it.

The rest goes in one mail per recipient (template ``supervision``), one item each, with its commands
or, when the web app has a public address, its buttons (``app.buttons``) signed for the recipient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.engine import Connection

from followup.app import buttons
from followup.app.buttons import Links
from followup.app.rounds import Behind, behind
from followup.app.runtime import Runtime
from followup.app.supervision import PROBLEM_LEVELS, still_owed
from followup.domain import overdue
from followup.domain.kinds import Light, NoticeKind, NoticeStatus, Role
from followup.domain.timeutil import local_day, start_of_day
from followup.domain.workflow import TERMINATED
from followup.store.models import Problem, Project, SupervisionNotice, Unit, UTCDateTime
from followup.store.queries import N

TEMPLATE = "supervision"
KINDS = frozenset(str(k) for k in overdue.KINDS)
#: who may reply to a notice among a mail's readers (app.supervision says who may reply at all)
REPLYING = (Role.UNIT_HEAD, Role.LEADER, Role.SUPERVISION, Role.PRINCIPAL)


class State(NamedTuple):
    newest: int | None  # the newest live notification of the ladder to the person
    last_sent: datetime | None  # its last delivery to the person


@dataclass
class Loaded:
    """What the claimed notifications of the overdue ladders need, read in one snapshot."""

    problems: dict[int, Any] = field(default_factory=dict)
    notices: dict[int, Any] = field(default_factory=dict)
    rounds: dict[tuple[int, int], Behind | None] = field(default_factory=dict)
    projects: dict[int, Any] = field(default_factory=dict)
    units: dict[int, str] = field(default_factory=dict)
    states: dict[tuple[str, str, int], State] = field(default_factory=dict)


def load(conn: Connection, notes: Sequence[Any]) -> Loaded:
    """Read what the claimed ``notes`` of the overdue ladders are about."""
    ours = [n for n in notes if n.kind in KINDS]
    loaded = Loaded()
    if not ours:
        return loaded
    ids = _subjects(conn, ours, loaded)
    if ids[NoticeKind.PROBLEM]:
        loaded.problems = {
            r.id: r
            for r in conn.execute(select(Problem.__table__).where(Problem.id.in_(ids[NoticeKind.PROBLEM])))
        }
    if ids[NoticeKind.REPLY]:
        table = SupervisionNotice.__table__
        loaded.notices = {
            r.id: r
            for r in conn.execute(select(table).where(SupervisionNotice.id.in_(ids[NoticeKind.REPLY])))
        }
    _load_projects(conn, loaded)
    _load_units(conn, loaded)
    _load_states(conn, loaded, ours)
    return loaded


def _subjects(conn: Connection, ours: Sequence[Any], loaded: Loaded) -> dict[str, set[int]]:
    """The problems and notices ``ours`` are about, by kind; the units behind in a round are read into
    ``loaded.rounds`` on the way."""
    ids: dict[str, set[int]] = {str(k): set() for k in overdue.KINDS}
    for n in ours:
        subject = overdue.subject_of(n.kind, n.round)
        if subject is None:
            continue
        if n.kind == NoticeKind.ROUND:
            assert subject[1] is not None
            key = (subject[0], subject[1])
            if key not in loaded.rounds:
                loaded.rounds[key] = behind(conn, *key)
        else:
            ids[n.kind].add(subject[0])
    return ids


def _load_projects(conn: Connection, loaded: Loaded) -> None:
    pids = {r.project_id for r in loaded.problems.values()} | {r.project_id for r in loaded.notices.values()}
    if pids:
        loaded.projects = {
            r.id: r
            for r in conn.execute(
                select(
                    Project.id,
                    Project.name,
                    Project.stage,
                    Project.voided_at,
                    Project.unit_id,
                    Project.stage_seq,
                    Project.deadline_version,
                ).where(Project.id.in_(pids))
            )
        }


def _load_units(conn: Connection, loaded: Loaded) -> None:
    unit_ids = (
        {r.owner_unit_id for r in loaded.problems.values()}
        | {r.unit_id for r in loaded.notices.values()}
        | {r.unit_id for r in loaded.projects.values()}
        | {unit for _r, unit in loaded.rounds}
    )
    if unit_ids:
        found = conn.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all()
        loaded.units = {row.id: row.name for row in found}


def _load_states(conn: Connection, loaded: Loaded, ours: Sequence[Any]) -> None:
    """Each ladder's newest live notification and last delivery, per person."""
    live = N.c.status.not_in((NoticeStatus.OBSOLETE.value, NoticeStatus.FAILED.value))
    for row in conn.execute(
        select(
            N.c.kind,
            N.c.round,
            N.c.recipient_id,
            func.max(case((live, N.c.id))),
            type_coerce(func.max(case((N.c.status == NoticeStatus.SENT.value, N.c.sent_at))), UTCDateTime()),
        )
        .where(N.c.kind.in_(sorted(KINDS)), N.c.round.in_({n.round for n in ours}))
        .group_by(N.c.kind, N.c.round, N.c.recipient_id)
    ):
        loaded.states[(row[0], row[1], row[2])] = State(row[3], row[4])


def judge(rt: Runtime, loaded: Loaded, n: Any, now: datetime, who: str) -> dict[str, Any] | datetime | None:
    """What becomes of a notification of an overdue ladder: its item in the recipient's mail, the moment
    a repeat may go (it waits), or None (obsolete); ``who``: the recipient's key, for the commands (the
    buttons are signed for ``n.recipient_id`` as of ``now``)."""
    item = _item(rt, loaded, n, now, who)
    if item is None:
        return None
    item["buttons"] = buttons.for_item(Links.of(rt.settings, n.recipient_id, now), item)
    if n.message_id is None:  # a group handed over before goes again as it was
        state = loaded.states.get((n.kind, n.round, n.recipient_id))
        if state is not None and state.newest is not None and state.newest > n.id:
            return None  # superseded
        if n.repeat_no > 0 and state is not None and state.last_sent is not None:
            last = local_day(state.last_sent, rt.zone)
            earliest = max(overdue.REPEAT.apply(last, rt.calendar), rt.calendar.add_working_days(last, 2))
            if local_day(now, rt.zone) < earliest:
                return start_of_day(earliest, rt.zone)
    return item


def _gone(project: Any) -> bool:
    return project is None or project.stage == TERMINATED or project.voided_at is not None


def _item(rt: Runtime, loaded: Loaded, n: Any, now: datetime, who: str) -> dict[str, Any] | None:
    subject = overdue.subject_of(n.kind, n.round)
    if subject is None:
        return None
    today = local_day(now, rt.zone)
    level = {"key": n.level, "label": Light.of_level(n.level).label}
    base: dict[str, Any] = {
        "kind": n.kind,
        "level": level,
        "repeat_no": n.repeat_no,
        "role": n.role,
        "project": None,
        "problem": None,
        "notice": None,
        "round": None,
    }
    if n.kind == NoticeKind.PROBLEM:
        return _problem_item(loaded, subject[0], base, today, who)
    if n.kind == NoticeKind.REPLY:
        return _reply_item(rt, loaded, subject[0], base, today, who)
    assert subject[1] is not None
    return _round_item(loaded, (subject[0], subject[1]), base, today, who)


def _problem_item(
    loaded: Loaded, problem_id: int, base: dict[str, Any], today: date, who: str
) -> dict[str, Any] | None:
    problem = loaded.problems.get(problem_id)
    project = loaded.projects.get(problem.project_id) if problem is not None else None
    if problem is None or problem.closed_at is not None or _gone(project):
        return None
    return {
        **base,
        "project": _project(loaded, project),
        "problem": {
            "id": problem.id,
            "level_label": _problem_level(problem.level),
            "text": problem.text,
            "owner": loaded.units.get(problem.owner_unit_id, ""),
            "due_on": problem.due_on.isoformat(),
            "days_past": (today - problem.due_on).days,
        },
        "commands": [
            {
                "label": "问题销号",
                "line": f'followup problem close {problem.id} --by {who} --resolution "办理结果"',
            },
            {"label": "查看问题", "line": f"followup problem list --project {problem.project_id}"},
        ],
    }


def _reply_item(
    rt: Runtime, loaded: Loaded, notice_id: int, base: dict[str, Any], today: date, who: str
) -> dict[str, Any] | None:
    notice = loaded.notices.get(notice_id)
    project = loaded.projects.get(notice.project_id) if notice is not None else None
    if notice is None or notice.replied_at is not None or project is None or _gone(project):
        return None
    if not still_owed(notice.stage_seq, notice.round, project.stage_seq, project.deadline_version):
        return None  # an extension or a move started another ladder
    number = overdue.notice_number(notice.year, notice.number)
    return {
        **base,
        "project": _project(loaded, project),
        "notice": {
            "id": notice.id,
            "number": number,
            "issued_on": local_day(notice.issued_at, rt.zone).isoformat(),
            "reply_due": notice.reply_due.isoformat(),
            "days_past": (today - notice.reply_due).days,
            "unit": loaded.units.get(notice.unit_id, ""),
        },
        "commands": [
            {"label": "报送情况说明", "line": f'followup reply {number} "情况说明" --by {who}'},
            {"label": "查看项目", "line": f"followup project show {notice.project_id}"},
        ],
    }


def _round_item(
    loaded: Loaded, key: tuple[int, int], base: dict[str, Any], today: date, who: str
) -> dict[str, Any] | None:
    place = loaded.rounds.get(key)
    if place is None or not place.missing:
        return None
    return {
        **base,
        "round": {
            "period": place.period,
            "due_on": place.due_on.isoformat(),
            "days_past": (today - place.due_on).days,
            "unit": loaded.units.get(key[1], ""),
            "asked": place.asked,
            "missing": [{"id": pid, "name": name} for pid, name in place.missing],
        },
        "commands": [
            {
                "label": "填报进展",
                "line": f'followup round report {place.period} <项目> --by {who} --progress "本期进展"',
            },
            {"label": "查看填报情况", "line": f"followup round status {place.period}"},
        ],
    }


def _project(loaded: Loaded, project: Any) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "unit": loaded.units.get(project.unit_id, "")}


def _problem_level(key: str) -> str:
    return PROBLEM_LEVELS.get(key, key)


def compose(recipient: dict[str, Any], items: list[dict[str, Any]], now: str) -> tuple[str, dict[str, Any]]:
    """The template and context of one recipient's mail of overdue items (see notifications/README.md):
    the highest first."""
    ordered = sorted(items, key=lambda i: (Light.of_level(i["level"]["key"]).rank, -_order(i)), reverse=True)
    highest = ordered[0]["level"] if ordered else None
    return TEMPLATE, {"recipient": recipient, "items": ordered, "highest": highest, "now": now}


def _order(item: dict[str, Any]) -> int:
    return ("reply", "problem", "round").index(item["kind"])


# --------------------------------------------------------------------------- the notice in a red mail


def notices_of(conn: Connection, projects: dict[int, Any], zone: ZoneInfo) -> dict[int, dict[str, Any]]:
    """The 督办 notice of each project's current deadline ladder, if one was issued: {number,
    issued_on, reply_due, replied_on} (for the blocks of its mails)."""
    if not projects:
        return {}
    out: dict[int, dict[str, Any]] = {}
    rows = conn.execute(
        select(SupervisionNotice.__table__).where(SupervisionNotice.project_id.in_(list(projects)))
    ).all()
    for row in rows:
        project = projects[row.project_id]
        if row.stage_seq != project.stage_seq or row.round != f"d{project.deadline_version}":
            continue
        out[row.project_id] = {
            "number": overdue.notice_number(row.year, row.number),
            "issued_on": local_day(row.issued_at, zone).isoformat(),
            "reply_due": row.reply_due.isoformat(),
            "replied_on": local_day(row.replied_at, zone).isoformat() if row.replied_at is not None else None,
        }
    return out
