"""Reading and writing stored records inside a use case's transaction, shared by the use cases.

Lookups by key that fail with the error a user understands, history lines, typed field values from
what was typed, the project's view and its next look for the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app.runtime import Runtime
from followup.app.views import EventView, ProjectView, Ref
from followup.domain import deadlines, validate, words
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import EventKind, Role
from followup.domain.ladder import Assessment, Memo, assess
from followup.domain.notices import ProjectClock
from followup.domain.timeutil import as_utc, in_zone, parse_day, show
from followup.domain.workflow import TERMINATED, Workflow
from followup.errors import FollowupError, InvalidInput, UnknownOfficial, UnknownProject, UnknownUnit
from followup.i18n import _
from followup.store.models import Official, Project, ProjectEvent, Unit

log = logging.getLogger(__name__)


def shown(value: Any) -> Any:
    """A stored value as a history line records it (JSON)."""
    if isinstance(value, (Official, Unit)):  # a person or a unit by key (a unit crashed `edit --unit`)
        return value.key
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------- lookups


def unit(session: Session, word: str, *, active: bool = True, lock: bool = False) -> Unit:
    """The unit ``word`` names: its key, its name, or a part of its name that only it has (城关镇 for
    城关镇人民政府). ``active``: a deactivated unit is refused; ``lock``: writers adding to the unit
    queue on its row (PostgreSQL), so that two of them cannot both miss the other's project."""
    found: Unit | None = _by_key(session, Unit, word, _("unit"), lock=lock)
    if found is None:
        rows = session.scalars(select(Unit).order_by(Unit.key)).all()
        chosen = words.pick(
            word,
            [words.Candidate(r.key, r.name, "" if r.active else _("deactivated")) for r in rows],
            _("unit"),
            unknown=UnknownUnit,
            listing="followup unit list",
            partial=True,
        )
        found = next(r for r in rows if r.key == chosen.key)
        if lock:
            session.refresh(found, with_for_update=True)
    if active and not found.active:
        raise InvalidInput(_("unit {key!r} ({name}) is deactivated").format(key=found.key, name=found.name))
    return found


def _by_key(session: Session, model: type[Any], word: str, what: str, *, lock: bool = False) -> Any:
    """The row whose key is ``word`` (None: no such key, or ``word`` cannot be a key: a name then);
    a word that can be neither is refused."""
    if not validate.is_key(word):
        problem = validate.text_problem(word) if word.strip() else "must not be empty"
        if problem or len(word) > 200:
            raise InvalidInput(
                _("bad {what} {word}: give a key or a name").format(what=what, word=validate.shown(word))
            )
        return None
    query = select(model).where(model.key == word)
    if lock:
        query = query.with_for_update(of=model)
    return session.scalars(query).unique().one_or_none()


def official(session: Session, word: str, *, active: bool = True, what: str | None = None) -> Official:
    """The official ``word`` names: their key, or their name (else an alias: 马县长) when one official
    has it (an active one, when ``active``: a namesake who left office is no rival). ``active``:
    someone who left office is refused. ``what``: what the official is to the command, as an error
    names it (translated; default "official")."""
    what = what or _("official")
    found: Official | None = _by_key(session, Official, word, what)
    if found is None:
        rows = session.scalars(select(Official).order_by(Official.key)).unique().all()
        namesakes = [r for r in rows if words.folded(r.name) == words.folded(word)]
        if not namesakes:  # a title the county writes in its ledger: 马县长
            namesakes = [r for r in rows if words.folded(word) in {words.folded(a) for a in r.aliases or ()}]
        serving = [r for r in namesakes if r.active]
        if active and len(serving) == 1:
            return serving[0]
        chosen = words.pick(
            word,
            [words.Candidate(r.key, r.name, _detail(r), tuple(r.aliases or ())) for r in rows],
            what,
            unknown=UnknownOfficial,
            listing="followup official list",
        )
        found = next(r for r in rows if r.key == chosen.key)
    if active and not found.active:
        raise InvalidInput(
            _("{what} {key!r} ({name}) has left office (deactivated); pick an active official").format(
                what=what, key=found.key, name=found.name
            )
        )
    return found


def _detail(row: Official) -> str:
    """What tells an official from a namesake: their unit, and whether they left office."""
    return row.unit.name if row.active else _("{unit}, left office").format(unit=row.unit.name)


def leader(session: Session, word: str) -> Official:
    row = official(session, word, what=_("leader"))
    if Role.LEADER not in row.roles:
        raise InvalidInput(
            _(
                "official {key!r} ({name}) is not a county leader (role leader); "
                "give the role with `followup official update {key} --role leader`"
            ).format(key=row.key, name=row.name)
        )
    return row


def project(session: Session, project_id: int, *, lock: bool = False) -> Project:
    """A project by id; ``lock``: writers queue on the row (PostgreSQL; SQLite writers are serialised by
    BEGIN IMMEDIATE), so a change is always checked against the state it will replace."""
    row = session.get(Project, project_id, with_for_update={"of": Project} if lock else None)
    if row is None:
        raise UnknownProject(_("unknown project {id}; see `followup project list`").format(id=project_id))
    if lock and row.voided_at is not None:
        raise InvalidInput(
            _("project {id} was voided (entered by mistake): it takes no more changes").format(id=project_id)
        )
    return row


# --------------------------------------------------------------------------- writing


def record_event(
    rt: Runtime,
    session: Session,
    row: Project,
    kind: EventKind,
    *,
    at: datetime,
    now: datetime,
    by: Official | None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    note: str | None = None,
    changes: dict[str, Any] | None = None,
) -> ProjectEvent:
    """Append one line to the project's history: ``by`` the official who acted, and the runtime's
    operator (录入人: who typed it)."""
    operator = rt.operator
    event = ProjectEvent(
        project_id=row.id,
        kind=str(kind),
        at=at,
        recorded_at=now,
        by_id=by.id if by else None,
        from_stage=from_stage,
        to_stage=to_stage,
        note=note,
        changes=changes,
        entered_by=operator[:64] if operator else None,
    )
    session.add(event)
    return event


def parse_values(session: Session, raw: Mapping[str, str | None]) -> dict[str, Any]:
    """Typed field values from what was typed, each field named by its key, label or alias
    (``--set 金额=1.2亿``); an empty string clears a field, None leaves it."""
    out: dict[str, Any] = {}
    for word, text in raw.items():
        name = words.field_key(word)
        spec = PROJECT_FIELDS[name]
        if name in out:
            raise InvalidInput(_("field {key} ({label}) is given twice").format(key=name, label=spec.label))
        if text is None:
            continue
        if text == "":
            out[name] = None
        elif spec.kind == "amount":
            out[name] = words.amount(text, spec.name)
        elif spec.kind == "area":
            out[name] = words.area(text, spec.name)
        elif spec.kind == "date":
            out[name] = parse_day(text, what=name)
        elif spec.kind == "official":
            out[name] = leader(session, text)
        else:
            out[name] = validate.line(text, name)
    return out


def current_values(row: Project) -> dict[str, Any]:
    return {name: getattr(row, name) for name in PROJECT_FIELDS}


def set_values(row: Project, values: Mapping[str, Any], changes: dict[str, Any]) -> None:
    """Store ``values`` on the project, noting each real change as [old, new] in ``changes``."""
    for key, value in values.items():
        old = getattr(row, key)
        if old != value:
            changes[key] = [shown(old), shown(value)]
            setattr(row, key, value)


def check_when(rt: Runtime, on: datetime, now: datetime, floor: datetime | None, what: str) -> None:
    """A date the user gave for something that happened: not in the future, not before ``floor``."""
    if on > now:
        raise InvalidInput(
            _("{what} {when} is in the future (now is {now})").format(
                what=what, when=show(on, rt.zone), now=show(now, rt.zone)
            )
        )
    if floor is not None and on < as_utc(floor):
        raise InvalidInput(
            _("{what} {when} is before the project's last change ({last})").format(
                what=what, when=show(on, rt.zone), last=show(floor, rt.zone)
            )
        )


# --------------------------------------------------------------------------- the project's clock and view

#: What a project escalation cannot follow is assessed as: no level, nothing owed.
UNASSESSED = Assessment(None, None, (), None)


@dataclass(frozen=True)
class Placement:
    """A project's workflow as escalation sees it: the workflow (None: it does not load), and why the
    project cannot be escalated (None: it can) — its workflow does not load, or has no place for the
    project's stage (renamed or removed while projects were in it)."""

    workflow: Workflow | None
    problem: str | None


def placement(rt: Runtime, workflow: str, stage: str, held_stage: str | None = None) -> Placement:
    """Where a project at ``stage`` of ``workflow`` stands; never raises for a broken workflow."""
    failed = rt.workflows.problem(workflow)
    if failed is not None:
        return Placement(None, _("its workflow cannot be loaded: {problem}").format(problem=failed))
    loaded = rt.workflows.get(workflow)
    return Placement(loaded, loaded.placement_problem(stage, held_stage))


def placements(rt: Runtime) -> Callable[[str, str], Placement]:
    """:func:`placement` remembered per (workflow, stage), for one pass over many projects (held
    stages not considered: only a resume needs them)."""
    memo: dict[tuple[str, str], Placement] = {}

    def lookup(workflow: str, stage: str) -> Placement:
        found = memo.get((workflow, stage))
        if found is None:
            found = memo[workflow, stage] = placement(rt, workflow, stage)
        return found

    return lookup


def repair_hint(project_id: int) -> str:
    """How to get a project escalation cannot follow going again (or out of the way)."""
    return _(
        "move it with `followup project edit {id} --workflow NAME [--stage STAGE]` "
        "or end it with `followup terminate {id}`"
    ).format(id=project_id)


def assessment(rt: Runtime, row: Project, workflow: Workflow | None, now: datetime) -> Assessment:
    if workflow is None or workflow.placement_problem(row.stage, row.held_stage):
        return UNASSESSED
    return assess(workflow, ProjectClock.from_row(row), now, rt.calendar, rt.zone)


def reschedule(rt: Runtime, row: Project, workflow: Workflow | None, now: datetime) -> Assessment:
    """Whenever a project changes: its level, and when the sweep must next look at it (now, if it owes
    something now: queuing is idempotent, so one look too many costs nothing). A project escalation
    cannot follow is due now too: every sweep reports it until it is repaired."""
    result = assessment(rt, row, workflow, now)
    stranded = row.stage != TERMINATED and (
        workflow is None or workflow.placement_problem(row.stage, row.held_stage) is not None
    )
    row.level = result.level.key if result.level else None
    row.next_escalation_at = now if result.owed or stranded else result.next_at
    return result


def view_of(rt: Runtime, row: Project, now: datetime) -> ProjectView:
    """A stored project's view with its ladder level at ``now``; one whose workflow does not load is
    shown all the same, its stage by key and its problem said."""
    placed = placement(rt, row.workflow, row.stage, row.held_stage)
    result = assessment(rt, row, placed.workflow, now)
    problem = None if row.stage == TERMINATED else placed.problem  # an ended project needs no repair
    return project_view(rt, row, placed.workflow, result, problem=problem)


def ref(row: Official | Unit | None) -> Ref | None:
    return None if row is None else Ref(row.key, row.name)


def project_view(
    rt: Runtime, row: Project, workflow: Workflow | None, result: Assessment, *, problem: str | None = None
) -> ProjectView:
    """The view of a project whose ladder was just assessed (``result``); ``problem``: why escalation
    cannot follow it."""
    zone = rt.zone
    level = result.level
    stage = workflow.stages.get(row.stage) if workflow else None
    basis = deadlines.basis(stage, row.deadline, current_values(row), row.deadline_version)
    return ProjectView(
        id=row.id,
        name=row.name,
        workflow=row.workflow,
        stage=row.stage,
        stage_label=workflow.label_of(row.stage) if workflow else row.stage,
        stage_since=in_zone(row.stage_since, zone),
        deadline=row.deadline,
        officer=Ref(row.officer.key, row.officer.name),
        unit=Ref(row.unit.key, row.unit.name),
        leader=ref(row.leader),
        investor=row.investor,
        investor_contact=row.investor_contact,
        amount=row.amount,
        funds_in_place=row.funds_in_place,
        code=row.code,
        chain=row.chain,
        chain_link=row.chain_link,
        land=row.land,
        source=row.source,
        signed_on=row.signed_on,
        contract_start=row.contract_start,
        contract_production=row.contract_production,
        started_on=row.started_on,
        production_on=row.production_on,
        remarks=row.remarks,
        held_stage=row.held_stage,
        hold_until=row.hold_until,
        hold_reason=row.hold_reason,
        end_reason=row.end_reason,
        last_activity_at=in_zone(row.last_activity_at, zone),
        created_at=in_zone(row.created_at, zone),
        updated_at=in_zone(row.updated_at, zone),
        version=row.version,
        deadline_basis=basis,
        deadline_version=row.deadline_version,
        level=level.key if level else None,
        level_label=level.label if level else None,
        stale_since=result.stale_since,
        next_escalation_at=in_zone(row.next_escalation_at, zone),
        problem=problem,
        voided_at=in_zone(row.voided_at, zone),
    )


def event_view(rt: Runtime, row: ProjectEvent, workflow: Workflow | None = None) -> EventView:
    """One history line; with the project's ``workflow``, its stages also by label (else by key)."""

    def shown(stage: str | None) -> str | None:
        return None if stage is None or workflow is None else workflow.label_of(stage)

    return EventView(
        id=row.id,
        kind=row.kind,
        at=in_zone(row.at, rt.zone),
        recorded_at=in_zone(row.recorded_at, rt.zone),
        by=ref(row.by),
        from_stage=row.from_stage,
        to_stage=row.to_stage,
        from_label=shown(row.from_stage),
        to_label=shown(row.to_stage),
        note=row.note,
        changes=row.changes,
        entered_by=row.entered_by,
    )


def assessed_projects(
    rt: Runtime, session: Session, now: datetime
) -> Iterator[tuple[Project, Workflow, Assessment]]:
    """Every active project that has a ladder (its workflow loads, its stage is placed and not final),
    in id order, with its ladder assessed at ``now`` — once each, the ladders' working days remembered
    across projects. A workflow that does not load is logged and passed by (the board and the sweep
    report it)."""
    memo: Memo = {}
    active = select(Project).where(Project.stage != TERMINATED).order_by(Project.id)
    for project in session.scalars(active).unique():
        try:
            workflow = rt.workflows.get(project.workflow)
        except FollowupError as exc:
            log.warning("project %s: %s", project.id, exc)
            continue
        if workflow.is_final(project.stage) or workflow.placement_problem(project.stage, project.held_stage):
            continue
        yield (
            project,
            workflow,
            assess(workflow, ProjectClock.from_row(project), now, rt.calendar, rt.zone, memo),
        )
