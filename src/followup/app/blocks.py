"""What a mail says about one project (a *block*): its facts, every warning this mail carries about it,
the escalation so far, and what the reader can do — all fitted to the reader's role.

- One block per project and mail, whatever the number of its warnings (a deadline rung and 跟进超时
  together); its ``level`` is the highest of them (:func:`rank`).
- 督办经过 (``escalation``) is the whole history of the project's current stage entry: every rung sent of
  its deadline and hold-expiry ladders, across extensions, each extension named (new deadline, approver).
- The commands fit the reader: the case officer records progress and moves the project (or resumes a
  hold); a unit head records progress under their own name; a leader in charge or the supervision office
  may approve an extension; a principal leader is only shown where to look. When the web app has a
  public address, the block carries buttons instead (``app.buttons``: signed links for the reader).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from followup.app import buttons
from followup.app.buttons import Links
from followup.app.runtime import Runtime
from followup.domain.kinds import Light, NoticeKind, Role
from followup.domain.ladder import assess
from followup.domain.notices import ProjectClock
from followup.domain.timeutil import as_utc, local_day
from followup.domain.workflow import ON_HOLD, Workflow
from followup.errors import FollowupError
from followup.store.models import Official, Project

log = logging.getLogger(__name__)

STALE_LABEL = "跟进超时"
HOLD_LABEL = "暂缓到期"
EXTENSION_LABEL = "延期"


@dataclass(frozen=True)
class Warning:
    """One notification of a ladder, as a block lists it."""

    id: int
    kind: str  # deadline | stale | hold
    level: dict[str, str]  # {key, label}

    @property
    def rank(self) -> tuple[int, int]:
        return rank(self.kind, self.level["key"])

    def shown(self) -> dict[str, Any]:
        return {"kind": self.kind, "level": self.level}


def rank(kind: str, level: str) -> tuple[int, int]:
    """Which of two warnings is the higher: by light (跟进超时 counts as a yellow), a rung before a
    staleness warning of the same light."""
    light = Light.YELLOW if kind == NoticeKind.STALE else Light.of_level(level)
    return light.rank, 0 if kind == NoticeKind.STALE else 1


def level_of(workflow: Workflow | None, kind: str, stage: str, key: str) -> dict[str, str]:
    """A level's key and label: 跟进超时 for staleness; a hold-expiry rung's label from the hold ladder."""
    if kind == NoticeKind.STALE:
        return {"key": key, "label": STALE_LABEL}
    ladder = () if workflow is None else workflow.ladder_for(ON_HOLD if kind == NoticeKind.HOLD else stage)
    for level in ladder:
        if level.key == key:
            return {"key": key, "label": level.label}
    return {"key": key, "label": key}


def workflow_of(rt: Runtime, project: Project) -> Workflow | None:
    """The project's workflow, or None when it cannot be loaded: one broken project must not stop the
    messages about the others."""
    try:
        return rt.workflows.get(project.workflow)
    except FollowupError as exc:
        log.warning("project %s: %s", project.id, exc)
        return None


def facts(rt: Runtime, project: Project, workflow: Workflow, now: datetime) -> dict[str, Any]:
    """The project as a mail shows it (the same for every reader)."""
    zone = rt.zone
    today = local_day(now, zone)
    assessment = assess(workflow, ProjectClock.from_row(project), now, rt.calendar, zone)
    quiet_since = local_day(project.last_activity_at, zone)
    held = project.stage == ON_HOLD
    return {
        "id": project.id,
        "name": project.name,
        "unit": project.unit.name,
        "officer": project.officer.name,
        "officer_key": project.officer.key,
        "leader": project.leader.name if project.leader else None,
        "workflow": project.workflow,
        "stage": project.stage,
        "stage_label": workflow.label_of(project.stage),
        "stage_since": local_day(project.stage_since, zone).isoformat(),
        "deadline": project.deadline.isoformat() if project.deadline else None,
        "days_past": (today - project.deadline).days if project.deadline else None,
        "last_activity": quiet_since.isoformat(),
        "stale_days": (today - quiet_since).days if assessment.stale_since else None,
        "held": held,
        "held_stage_label": workflow.label_of(project.held_stage) if held and project.held_stage else None,
        "hold_until": project.hold_until.isoformat() if held and project.hold_until else None,
        "hold_days_past": (today - project.hold_until).days if held and project.hold_until else None,
    }


def block(
    project: dict[str, Any],
    warnings: Sequence[Warning],
    escalation: list[dict[str, str]],
    reader: Official,
    role: str,
    links: Links | None = None,
) -> dict[str, Any]:
    """One project's block in a mail to ``reader`` (as ``role``): its warnings, highest first; with
    ``links`` (the web app has a public address) its buttons, which the templates show instead of the
    commands."""
    ordered = sorted(warnings, key=lambda w: w.rank, reverse=True)
    top = ordered[0]
    return {
        "project": project,
        "role": role,
        "kind": top.kind,
        "level": top.level,
        "warnings": [w.shown() for w in ordered],
        "escalation": escalation,
        "commands": _with_reply(project, role, reader.key, commands(project, top.kind, role, reader.key)),
        "buttons": buttons.for_block(links, project, role),
    }


def commands(project: dict[str, Any], kind: str, role: str, reader: str) -> list[dict[str, str]]:
    """The exact CLI lines fitting the reader's role (see the module's docstring)."""
    pid = project["id"]
    show = {"label": "查看项目", "line": f"followup project show {pid}"}
    log_line = 'followup log {pid} "跟进情况" --by {by}'
    if role == Role.CASE_OFFICER:
        officer = project["officer_key"]
        move = (
            {"label": "恢复推进", "line": f"followup resume {pid} --by {officer}"}
            if kind == NoticeKind.HOLD
            else {"label": "推进阶段", "line": f"followup advance {pid} <阶段> --by {officer}"}
        )
        return [{"label": "记录跟进", "line": log_line.format(pid=pid, by=officer)}, move, show]
    if role == Role.UNIT_HEAD:
        return [{"label": "记录跟进", "line": log_line.format(pid=pid, by=reader)}, show]
    if role in (Role.LEADER, Role.SUPERVISION) and kind == NoticeKind.DEADLINE and project["deadline"]:
        extend = f'followup extend {pid} --days 30 --by {reader} --reason "延期理由"'
        return [{"label": "批准延期", "line": extend}, show]
    return [show]


def _with_reply(
    project: dict[str, Any], role: str, reader: str, lines: list[dict[str, str]]
) -> list[dict[str, str]]:
    """The commands, with the reply to the project's 督办 notice still awaited for a reader who may give
    it (``project["notice"]``, set by ``app.letters``: the responsible unit's head, the leader in charge,
    the supervision office)."""
    notice = project.get("notice")
    if not notice or notice.get("replied_on") or role not in (Role.UNIT_HEAD, Role.LEADER, Role.SUPERVISION):
        return lines
    line = {"label": "报送情况说明", "line": f'followup reply {notice["number"]} "情况说明" --by {reader}'}
    return [*lines[:-1], line, *lines[-1:]]


def escalation_so_far(
    rt: Runtime, projects: dict[int, Project], sent: Sequence[Any], extensions: Sequence[Any]
) -> dict[int, list[dict[str, str]]]:
    """What each project's current stage entry has been through: [{date, label, to, note}], oldest
    first — every rung sent (to whom), every extension (the new deadline, who approved it)."""
    steps: dict[int, list[tuple[datetime, dict[str, str]]]] = defaultdict(list)
    grouped: dict[tuple[int, str, str, str, int], tuple[datetime, dict[str, Any]]] = {}
    for row in sent:
        project = projects[row.project_id]
        if row.stage_seq != project.stage_seq:
            continue  # another stage entry: not this stage's story
        key = (row.project_id, row.kind, row.round, row.level, row.repeat_no)
        if key not in grouped:
            label = level_of(workflow_of(rt, project), row.kind, project.stage, row.level)["label"]
            label = f"{HOLD_LABEL}·{label}" if row.kind == NoticeKind.HOLD else label
            day = local_day(row.sent_at, rt.zone).isoformat()
            grouped[key] = (as_utc(row.sent_at), {"date": day, "label": label, "to": [], "note": ""})
        grouped[key][1]["to"].append(row.name)
    for (pid, *_), (at, step) in grouped.items():
        steps[pid].append((at, {**step, "to": "、".join(step["to"])}))
    for row in extensions:
        project = projects[row.project_id]
        if as_utc(row.at) < as_utc(project.stage_since):
            continue
        old, new = (row.changes or {}).get("deadline", [None, None])
        note = f"期限由{old}延至{new}" + (f"，{row.name}批准" if row.name else "")
        day = local_day(row.at, rt.zone).isoformat()
        steps[row.project_id].append(
            (as_utc(row.at), {"date": day, "label": EXTENSION_LABEL, "to": "", "note": note})
        )
    return {pid: [step for _, step in sorted(found, key=lambda s: s[0])] for pid, found in steps.items()}
