"""Writing a ledger's plans in the import's transaction: new projects in bulk (ids reserved, one
executemany per set of columns), the changes of known ones with their history lines.

Part of ``followup import`` (:mod:`followup.app.ledgerio`); the plans come from
:mod:`followup.app.ledgerplan`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from followup.app import records
from followup.app.ledgerlines import Progress
from followup.app.ledgerplan import Plan, stored_values
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain import deadlines
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import EventKind
from followup.domain.ladder import Memo, assess
from followup.domain.notices import ProjectClock
from followup.domain.timeutil import as_utc, local_day
from followup.domain.workflow import Workflow
from followup.i18n import _
from followup.store import queries
from followup.store.models import Official, Project, ProjectEvent

#: the project fields stored in a column of their own (the leader is ``leader_id``)
_STORED_FIELDS = tuple(k for k in PROJECT_FIELDS if k != "leader")


@dataclass(frozen=True)
class Planned(View):
    """What the import does to one line's project: ``create`` (with its values) or ``change`` (each
    changed field as [before, after])."""

    row: int
    action: str
    project_id: int | None
    name: str
    changes: dict[str, Any]


class Writer:
    """Writes the plans in the import's transaction: new projects in bulk, then their history."""

    def __init__(self, rt: Runtime, session: Session, actor: Official, now: datetime, note: str) -> None:
        self.rt, self.session, self.actor, self.now, self.note = rt, session, actor, now, note
        self.memo: Memo = {}
        self.deadlines: dict[tuple[Any, ...], date | None] = {}

    def apply(self, plans: list[Plan], bar: Progress[Any]) -> list[Planned]:
        planned: list[Planned] = []
        created: list[tuple[Plan, dict[str, Any], dict[str, Any]]] = []
        for plan in bar(plans, len(plans), _("writing")):
            if plan.project is None:
                row, changes = self._create(plan)
                created.append((plan, row, changes))
            elif plan.changes_anything:
                changes = self._change(plan)
                planned.append(Planned(plan.line.row, "change", plan.project.id, plan.name, changes))
        if created:
            # Two executemany INSERTs compiled once, with ids reserved first: a 10,000-line ledger is two
            # statements, not 20,000 unit-of-work objects nor a RETURNING rendered row by row.
            self.session.flush()
            conn = self.session.connection()
            ids = queries.reserve_ids(conn, Project.__table__, len(created))
            by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
            for pid, (_p, row, _c) in zip(ids, created, strict=True):
                row["id"] = pid
                by_keys[tuple(row)].append(row)  # one statement per set of columns given
            for same in by_keys.values():
                queries.insert_rows(conn, Project.__table__, same)
            events: list[dict[str, Any]] = []
            for (plan, row, changes), pid in zip(created, ids, strict=True):
                stage = row["stage"]
                events.append(
                    self._event_row(
                        pid, EventKind.CREATED, plan.since or self.now, to_stage=stage,
                        changes=changes or None, note=self.note,
                    )
                )  # fmt: skip
                if plan.note is not None:
                    events.append(
                        self._event_row(
                            pid, EventKind.FOLLOWUP, plan.note_at or self.now, from_stage=stage,
                            to_stage=stage, note=plan.note,
                        )
                    )  # fmt: skip
                planned.append(Planned(plan.line.row, "create", pid, plan.name, changes))
            event_ids = queries.reserve_ids(conn, ProjectEvent.__table__, len(events))
            for i, event in zip(event_ids, events, strict=True):
                event["id"] = i
            queries.insert_rows(conn, ProjectEvent.__table__, events)
        self.session.flush()
        return sorted(planned, key=lambda p: p.row)

    def _deadline(self, workflow: Workflow, stage: str, entered: date, values: dict[str, Any]) -> date | None:
        """:func:`deadlines.on_entry`, remembered: counting working days is the dearest part of a line."""
        spec = workflow.stages.get(stage)
        contract = values.get(spec.contract_deadline) if spec and spec.contract_deadline else None
        key = (workflow.name, stage, entered, contract)
        if key not in self.deadlines:
            self.deadlines[key] = deadlines.on_entry(workflow, stage, entered, values, self.rt.calendar)
        return self.deadlines[key]

    def _event_row(self, project_id: int, kind: EventKind, at: datetime, **kw: Any) -> dict[str, Any]:
        operator = self.rt.operator
        return {
            "project_id": project_id,
            "kind": str(kind),
            "at": at,
            "recorded_at": self.now,
            "by_id": self.actor.id,
            "entered_by": operator[:64] if operator else None,
            "from_stage": None,
            "to_stage": None,
            "note": None,
            "changes": None,
            **kw,
        }

    def _event(self, row: Project, kind: EventKind, at: datetime, **kw: Any) -> ProjectEvent:
        operator = self.rt.operator
        return ProjectEvent(
            project_id=row.id,
            kind=str(kind),
            at=at,
            recorded_at=self.now,
            by_id=self.actor.id,
            entered_by=operator[:64] if operator else None,
            **{"from_stage": None, "to_stage": None, "note": None, "changes": None, **kw},
        )

    def _create(self, plan: Plan) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new project's columns (entered as ``project add --stage … --since …`` enters it) and
        its history line's changes."""
        rt, workflow = self.rt, plan.workflow
        assert plan.stage is not None and plan.since is not None and plan.quiet_from is not None
        assert plan.officer is not None and plan.unit is not None
        values = dict(plan.values)
        record = workflow.stages[plan.stage].records
        entered = local_day(plan.since, rt.zone)
        if record and values.get(record) is None:
            values[record] = entered
        leader = values.pop("leader", None)
        columns: dict[str, Any] = dict.fromkeys(_STORED_FIELDS)
        columns.update(values)
        columns.update(
            name=plan.name,
            workflow=workflow.name,
            stage=plan.stage,
            stage_since=plan.since,
            officer_id=plan.officer.id,
            unit_id=plan.unit.id,
            leader_id=leader.id if leader is not None else None,
            last_activity_at=max(plan.quiet_from, plan.note_at or plan.quiet_from),
            created_at=self.now,
            updated_at=self.now,
            version=1,
            stage_seq=1,
            deadline_version=1,
            held_stage=None,
            hold_until=None,
            deadline=self._deadline(workflow, plan.stage, entered, values),
        )
        # its level and next look, as records.reschedule says them, the ladder's parts remembered
        # across the ledger's lines (thousands of lines share a few deadlines and quiet days)
        clock = ProjectClock.from_row(SimpleNamespace(**columns))
        result = assess(workflow, clock, self.now, rt.calendar, rt.zone, self.memo)
        columns["level"] = result.level.key if result.level else None
        columns["next_escalation_at"] = self.now if result.owed else result.next_at
        changes = {k: records.shown(v) for k, v in values.items()}
        if leader is not None:
            changes["leader"] = leader.key
        changes["officer"] = plan.officer.key
        changes["unit"] = plan.unit.key
        if plan.quiet_from != self.now:
            changes["last_followup"] = records.shown(plan.quiet_from.astimezone(rt.zone))
        return columns, changes

    def _change(self, plan: Plan) -> dict[str, Any]:
        """Applies a known project's plan; returns its changes (each changed field as [before, after])."""
        rt, row = self.rt, plan.project
        assert row is not None
        changes: dict[str, Any] = {}
        events: list[ProjectEvent] = []
        edited = self._edit(plan, row, changes)
        if self._quiet(plan, row, changes) or edited:
            events.append(self._event(row, EventKind.EDIT, self.now, note=self.note, changes=dict(changes)))
        for event in (self._move(plan, row, changes), self._followup(plan, row, changes)):
            if event is not None:
                events.append(event)
        row.updated_at = self.now
        records.reschedule(
            rt, row, records.placement(rt, row.workflow, row.stage, row.held_stage).workflow, self.now
        )
        self.session.add_all(events)
        return {k: v for k, v in changes.items()}

    def _edit(self, plan: Plan, row: Project, changes: dict[str, Any]) -> bool:
        """Sets the plan's values (and the deadline a contract's date moves); whether any changed."""
        rt, workflow = self.rt, plan.workflow
        records.set_values(row, plan.values, changes)
        if not changes:
            return False
        stage = workflow.stages.get(row.stage)
        if plan.stage is None and stage is not None and stage.contract_deadline in plan.values:
            new = deadlines.on_entry(
                workflow, row.stage, local_day(row.stage_since, rt.zone), stored_values(row), rt.calendar
            )
            if new != row.deadline:
                changes["deadline"] = [records.shown(row.deadline), records.shown(new)]
                row.deadline = new
                row.deadline_version += 1
        return True

    def _quiet(self, plan: Plan, row: Project, changes: dict[str, Any]) -> bool:
        """Moves the quiet clock to a later last follow-up; whether it moved."""
        if plan.quiet_from is None:
            return False
        before = as_utc(row.last_activity_at)
        if plan.quiet_from <= before:
            return False
        changes["last_followup"] = [
            records.shown(before.astimezone(self.rt.zone)),
            records.shown(plan.quiet_from.astimezone(self.rt.zone)),
        ]
        row.last_activity_at = plan.quiet_from
        return True

    def _move(self, plan: Plan, row: Project, changes: dict[str, Any]) -> ProjectEvent | None:
        """Places the project in the plan's stage (a fresh ladder); its history line, or None."""
        if plan.stage is None or plan.since is None:
            return None
        rt, workflow = self.rt, plan.workflow
        source = row.stage
        moved: dict[str, Any] = {}
        day = local_day(plan.since, rt.zone)
        record = workflow.stages[plan.stage].records
        if record and getattr(row, record) is None:
            setattr(row, record, day)
            moved[record] = [None, day.isoformat()]
        row.stage = plan.stage
        row.stage_since = plan.since
        row.stage_seq += 1  # placed in another stage: a fresh ladder
        row.deadline = deadlines.on_entry(workflow, plan.stage, day, stored_values(row), rt.calendar)
        row.last_activity_at = max(as_utc(row.last_activity_at), plan.since)
        changes["stage"] = [source, plan.stage]
        changes.update(moved)
        return self._event(
            row,
            EventKind.MOVE,
            plan.since,
            from_stage=source,
            to_stage=plan.stage,
            note=self.note,
            changes=moved or None,
        )

    def _followup(self, plan: Plan, row: Project, changes: dict[str, Any]) -> ProjectEvent | None:
        """Records the plan's 最新进展 as a follow-up; its history line, or None."""
        if plan.note is None:
            return None
        at = plan.note_at or self.now
        row.last_activity_at = max(as_utc(row.last_activity_at), at)
        changes["progress"] = plan.note
        return self._event(
            row, EventKind.FOLLOWUP, at, from_stage=row.stage, to_stage=row.stage, note=plan.note
        )
