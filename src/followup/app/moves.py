"""Moving projects: stage moves, hold (暂缓), resume, terminate (终止), follow-ups (跟进记录),
extensions (延期).

Every move is checked by the workflow's state machine against the project as it would be after it
(under the project's row lock), then written with its history line in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from followup.app import evidence as evidence_files
from followup.app import records
from followup.app.evidence import Checked, Upload
from followup.app.runtime import Runtime
from followup.app.views import EventView, ProjectView
from followup.domain import deadlines, validate, words
from followup.domain.kinds import APPROVER_ROLES, EventKind
from followup.domain.timeutil import as_utc, local_day
from followup.domain.workflow import ON_HOLD, TERMINATED, MoveSubject, Workflow
from followup.errors import GuardFailed, InvalidInput
from followup.i18n import _
from followup.store.models import Official, Project


@dataclass(frozen=True)
class Move:
    """One move of one project, as asked for.

    ``target``: a stage, ``on_hold``, ``terminated``, or None to resume to the held stage. ``note`` is the
    reason for a hold or a termination; ``on`` when it happened (default now); ``until`` the expected
    restart date of a hold; ``values`` ledger fields recorded in the same step (as typed); ``evidence``
    files attached to the move (以图为证), required to enter a stage with ``requires_evidence``.
    """

    project_id: int
    target: str | None
    by: str
    note: str | None = None
    on: datetime | None = None
    until: date | None = None
    values: Mapping[str, str | None] = field(default_factory=dict)
    evidence: tuple[Upload, ...] = ()


def advance(rt: Runtime, move: Move) -> ProjectView:
    """Make ``move``, or raise why not (MoveRefused, GuardFailed, InvalidInput) having written nothing."""
    files = evidence_files.checked(rt, move.evidence)  # a bad file refuses the move before any write
    with rt.store.transaction() as session:
        return advance_in(rt, session, move, files=files)


def advance_in(
    rt: Runtime, session: Session, move: Move, *, files: Sequence[Checked] | None = None
) -> ProjectView:
    """:func:`advance` within the caller's transaction (an approved hold request is written with it);
    ``files``: ``move.evidence`` already checked (else it is checked here)."""
    files = evidence_files.checked(rt, move.evidence) if files is None else files
    now = rt.now()
    note = validate.note(move.note) if move.note else None
    on = move.on or now
    row = records.project(session, move.project_id, lock=True)
    placed = records.placement(rt, row.workflow, row.stage, row.held_stage)
    workflow = placed.workflow
    target = move.target
    if target is None:  # resume: back to the stage it was held in, read under the same lock
        if row.stage != ON_HOLD or row.held_stage is None:
            raise InvalidInput(_("project {id} is not on hold").format(id=move.project_id))
        target = row.held_stage
    actor = records.official(session, move.by, what=_("--by official"))
    records.check_when(rt, on, now, row.stage_since, "--on")
    parsed = records.parse_values(session, move.values)
    day = local_day(on, rt.zone)
    if move.until is not None and move.until <= day:
        raise InvalidInput(_("--until {day} must be after the day of the move").format(day=move.until))
    subject = MoveSubject(
        state=row.stage,
        values={**records.current_values(row), **parsed},
        held_stage=row.held_stage,
        reason=note,
        until=move.until,
    )
    if workflow is not None and placed.problem is None:
        target = words.stage_key(workflow, target)
        workflow.check_move(subject, target)
        _check_evidence(workflow, row.stage, target, files)
    else:
        target = words.SIDE_WORDS.get(target, target)
        _stranded_may_only_end(move.project_id, placed.problem, target, note)

    source = row.stage
    changes: dict[str, Any] = {}
    records.set_values(row, parsed, changes)
    stage = workflow.stages.get(target) if workflow else None
    if stage is not None and stage.records and getattr(row, stage.records) is None:
        setattr(row, stage.records, day)
        changes[stage.records] = [None, day.isoformat()]
    _enter(rt, row, workflow, source, target, on, note, move.until)
    row.updated_at = now
    result = records.reschedule(rt, row, workflow, now)
    extra = {"until": move.until.isoformat()} if move.until else {}
    event = records.record_event(
        rt,
        session,
        row,
        EventKind.MOVE,
        at=on,
        now=now,
        by=actor,
        from_stage=source,
        to_stage=target,
        note=note,
        changes={**changes, **extra} or None,
    )
    session.flush()
    evidence_files.attach(rt, session, files, project_id=row.id, by=actor, now=now, event_id=event.id)
    return records.project_view(rt, row, workflow, result)


def _check_evidence(workflow: Workflow, source: str, target: str, files: Sequence[Checked]) -> None:
    """A stage with ``requires_evidence`` is entered with at least one attachment (a resume returns to
    a stage already entered, so it needs none)."""
    stage = workflow.stages.get(target)
    if stage is None or not stage.requires_evidence or files or source == ON_HOLD:
        return
    raise GuardFailed(
        _(
            "entering {label} ({key}) needs evidence: attach at least one photo or PDF "
            "(on the command line: --evidence FILE)"
        ).format(label=stage.label, key=stage.key)
    )


def _stranded_may_only_end(project_id: int, problem: str | None, target: str, note: str | None) -> None:
    """A project escalation cannot follow has no moves its workflow can check: it may only be
    terminated (with a reason), or repaired with ``project edit``."""
    if target != TERMINATED:
        raise InvalidInput(
            _("project {id} cannot move: {problem}; {hint}").format(
                id=project_id, problem=problem, hint=records.repair_hint(project_id)
            )
        )
    if not note:
        raise GuardFailed(_("terminating a project needs a reason (--note)"))


def _enter(
    rt: Runtime,
    row: Project,
    workflow: Workflow | None,
    source: str,
    target: str,
    on: datetime,
    note: str | None,
    until: date | None,
) -> None:
    """Put the project in ``target`` as of ``on``: its side-state fields, its deadline, a fresh ladder."""
    day = local_day(on, rt.zone)
    if target == ON_HOLD:
        row.held_stage, row.held_since = source, on
        row.held_deadline, row.hold_until, row.hold_reason = row.deadline, until, note
        row.deadline = None
    elif target == TERMINATED:
        row.end_reason = note
        row.deadline = None
    elif workflow is None:  # only a termination gets here (_stranded_may_only_end)
        raise AssertionError(f"moving a project without a workflow to {target}")
    elif source == ON_HOLD:
        held_on = local_day(row.held_since, rt.zone) if row.held_since else day
        row.deadline = deadlines.on_resume(
            workflow.stages.get(row.held_stage or ""), row.held_deadline, held_on, day, rt.calendar
        )
        row.held_stage = row.held_since = row.held_deadline = None
        row.hold_until = row.hold_reason = None
    else:
        row.deadline = deadlines.on_entry(workflow, target, day, records.current_values(row), rt.calendar)
    row.stage = target
    row.stage_since = on
    row.stage_seq += 1  # every move starts a fresh ladder
    row.last_activity_at = max(as_utc(row.last_activity_at), on)


def log(
    rt: Runtime,
    project_id: int,
    *,
    by: str,
    text: str,
    on: datetime | None = None,
    evidence: Sequence[Upload] = (),
) -> EventView:
    """Record a follow-up (跟进记录), with ``evidence`` files attached; it also resets the staleness
    clock."""
    now = rt.now()
    text = validate.note(text, _("follow-up text"))
    files = evidence_files.checked(rt, evidence)
    on = on or now
    with rt.store.transaction() as session:
        row = records.project(session, project_id, lock=True)
        actor = records.official(session, by, what="--by official")
        records.check_when(rt, on, now, None, "--on")
        if on < as_utc(row.created_at) and on < as_utc(row.stage_since):
            raise InvalidInput(_("--on is before the project was entered"))
        if on > as_utc(row.last_activity_at):
            row.last_activity_at = on
        row.updated_at = now
        records.reschedule(
            rt, row, records.placement(rt, row.workflow, row.stage, row.held_stage).workflow, now
        )
        event = records.record_event(
            rt,
            session,
            row,
            EventKind.FOLLOWUP,
            at=on,
            now=now,
            by=actor,
            from_stage=row.stage,
            to_stage=row.stage,
            note=text,
        )
        session.flush()
        evidence_files.attach(rt, session, files, project_id=row.id, by=actor, now=now, event_id=event.id)
        event.by = actor
        return records.event_view(rt, event)


def extend(
    rt: Runtime,
    project_id: int,
    *,
    by: str,
    reason: str,
    days: int | None = None,
    until: date | None = None,
) -> ProjectView:
    """Move a project's deadline ``days`` calendar days later, or to ``until`` (延期). Only its leader
    in charge, the supervision office or a principal leader may approve; the extension starts a fresh
    ladder. A new deadline still in the past is allowed (the caller warns): the ladder starts afresh
    from it."""
    with rt.store.transaction() as session:
        return extend_in(rt, session, project_id, by=by, reason=reason, days=days, until=until)


def extend_in(
    rt: Runtime,
    session: Session,
    project_id: int,
    *,
    by: str,
    reason: str,
    days: int | None = None,
    until: date | None = None,
) -> ProjectView:
    """:func:`extend` within the caller's transaction (an approved extension request is written with it)."""
    now = rt.now()
    reason = validate.note(reason, _("reason"))
    check_extension_args(days, until)
    row = records.project(session, project_id, lock=True)
    workflow = extendable(rt, row)
    approver = records.official(session, by, what=_("--by official"))
    _check_approver(row, approver)
    old = row.deadline
    assert old is not None  # extendable
    row.deadline = deadlines.extended(old, extension_days(old, days, until))
    row.deadline_version += 1
    row.updated_at = now
    result = records.reschedule(rt, row, workflow, now)
    records.record_event(
        rt,
        session,
        row,
        EventKind.EXTEND,
        at=now,
        now=now,
        by=approver,
        from_stage=row.stage,
        to_stage=row.stage,
        note=reason,
        changes={"deadline": [old.isoformat(), row.deadline.isoformat()]},
    )
    session.flush()
    return records.project_view(rt, row, workflow, result)


def check_extension_args(days: int | None, until: date | None) -> None:
    """An extension is given as ``days`` (1 to 3650) or ``until`` a date, one of them."""
    if (days is None) == (until is None):
        raise InvalidInput(_("give the extension as --days N or --until DATE (one of them)"))
    if days is not None:
        deadlines.check_extension(days)


def extension_days(deadline: date, days: int | None, until: date | None) -> int:
    """The calendar days an extension adds to ``deadline``: ``days``, or up to ``until``."""
    check_extension_args(days, until)
    return days if days is not None else _days_until(deadline, until)


def extendable(rt: Runtime, row: Project) -> Workflow:
    """The workflow of a project whose deadline may be extended: placed in it, with a running deadline;
    else InvalidInput saying why not."""
    placed = records.placement(rt, row.workflow, row.stage, row.held_stage)
    workflow = placed.workflow
    if workflow is None or placed.problem is not None:
        raise InvalidInput(
            _("project {id} cannot be extended: {problem}; {hint}").format(
                id=row.id, problem=placed.problem, hint=records.repair_hint(row.id)
            )
        )
    if row.deadline is None:
        raise InvalidInput(
            _("project {id} has no running deadline ({stage})").format(
                id=row.id, stage=workflow.label_of(row.stage)
            )
        )
    return workflow


def _days_until(deadline: date, until: date | None) -> int:
    """The calendar days from the current deadline to ``--until``: an extension moves it later."""
    assert until is not None
    days = (until - deadline).days
    if days <= 0:
        raise InvalidInput(
            _(
                "--until {day} is not after the current deadline {deadline}: an extension moves it later"
            ).format(day=until, deadline=deadline)
        )
    if days > deadlines.MAX_EXTENSION_DAYS:
        raise InvalidInput(
            _("--until {day} is more than {most} days after the current deadline {deadline}").format(
                day=until, most=deadlines.MAX_EXTENSION_DAYS, deadline=deadline
            )
        )
    return days


def may_approve(leader_id: int | None, official_id: int, roles: Iterable[str]) -> bool:
    """Whether an official (their id and roles) may approve an extension or a hold of a project (its
    ``leader_id``): its leader in charge, the supervision office, a principal leader."""
    return leader_id == official_id or bool(APPROVER_ROLES & set(roles))


def _check_approver(row: Project, approver: Official) -> None:
    if may_approve(row.leader_id, approver.id, approver.roles):
        return
    leader = row.leader.key if row.leader else _("none set")
    raise InvalidInput(
        _(
            "{key!r} ({name}) may not extend project {id}: only its leader in charge ({leader}), "
            "the supervision office or a principal leader may"
        ).format(key=approver.key, name=approver.name, id=row.id, leader=leader)
    )
