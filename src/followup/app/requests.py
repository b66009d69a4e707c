"""Extension and hold requests (申请延期, 申请暂缓) and their approval (审批).

A case officer or the head of the responsible unit (or the leader in charge) asks for more time or a
hold, with a reason; the project's leader in charge, the supervision office or a principal leader
(``moves.may_approve``) approves or rejects it. A request records the project as it stood
(``stage_seq``, ``deadline_version``): once the project has moved on (another stage, or — for an
extension — another deadline), the request lapses (已失效) and can no longer be approved.

Each step is one transaction with its history line and its mail, queued in the outbox under an identity
of its own (kind ``request``/``decision``, round ``q<id>``): the request to each approver — the leader
in charge, else the supervision office —, the decision back to whoever asked (``app.requests_mail``
writes them). An approval makes the extension (``moves.extend_in``) or the hold (``moves.advance_in``)
in the same transaction as the decision: both are written, or neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from followup.app import moves, records
from followup.app.access import ProjectFacts, Viewer, may
from followup.app.runtime import Runtime
from followup.app.views import Ref, View
from followup.domain import validate
from followup.domain.kinds import APPROVER_ROLES, EventKind, NoticeKind, NoticeStatus, Role
from followup.domain.timeutil import in_zone, local_day
from followup.domain.workflow import ON_HOLD, MoveSubject
from followup.errors import Conflict, InvalidInput, NotFound
from followup.i18n import N_, _
from followup.store import queries
from followup.store.models import ApprovalRequest, Official, OfficialRole, Project

EXTENSION, HOLD = "extension", "hold"
KINDS = (EXTENSION, HOLD)
PENDING, APPROVED, REJECTED, LAPSED = "pending", "approved", "rejected", "lapsed"
KIND_LABELS = {EXTENSION: N_("extension request"), HOLD: N_("hold request")}
STATUS_LABELS = {
    PENDING: N_("awaiting approval"),
    APPROVED: N_("approved"),
    REJECTED: N_("rejected"),
    LAPSED: N_("lapsed"),
}


@dataclass(frozen=True)
class RequestView(View):
    """A request as shown: what was asked, by whom, and what became of it. ``lapsed``: why a request
    still pending can no longer be approved (the project has moved on), else None."""

    id: int
    project_id: int
    project_name: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    days: int | None
    until: date | None
    reason: str
    requested_by: Ref
    requested_at: datetime
    decided_by: Ref | None
    decided_at: datetime | None
    note: str | None
    deadline: date | None  # the project's deadline now
    lapsed: str | None = None


def ask(
    rt: Runtime,
    project_id: int,
    *,
    by: str,
    kind: str,
    reason: str,
    days: int | None = None,
    until: date | None = None,
) -> RequestView:
    """Ask for an extension (``days`` or ``until``: the new deadline) or a hold (``until``: the expected
    restart date), with a reason; the approvers are mailed. One pending request per project and kind."""
    now = rt.now()
    if kind not in KINDS:
        raise InvalidInput(_("unknown request kind {kind!r}: extension or hold").format(kind=kind))
    reason = validate.note(reason, _("reason"))
    if kind == EXTENSION:
        moves.check_extension_args(days, until)
    elif days is not None or until is None:
        raise InvalidInput(_("a hold request needs --until DATE, the expected restart date (not --days)"))
    with rt.store.transaction() as session:
        row = records.project(session, project_id, lock=True)
        asker = records.official(session, by, what=_("--by official"))
        if not may(_as_viewer(asker), "request", _facts(row)):
            raise InvalidInput(
                _(
                    "{key!r} ({name}) may not ask for an extension or a hold of project {id}: only its case "
                    "officer, the head of its unit or its leader in charge may"
                ).format(key=asker.key, name=asker.name, id=row.id)
            )
        if kind == EXTENSION:
            moves.extendable(rt, row)
            assert row.deadline is not None  # extendable
            moves.extension_days(row.deadline, days, until)
        else:
            _check_hold(rt, row, reason, until, now)
        _one_pending(session, row, kind, now)
        req = ApprovalRequest(
            project_id=row.id,
            kind=kind,
            stage_seq=row.stage_seq,
            deadline_version=row.deadline_version,
            days=days,
            until=until,
            reason=reason,
            requested_by_id=asker.id,
            requested_at=now,
            status=PENDING,
        )
        session.add(req)
        session.flush()
        asked: dict[str, Any] = {"request": req.id, **({"days": days} if days is not None else {})}
        if until is not None:
            asked["until"] = until.isoformat()
        records.record_event(
            rt, session, row, EventKind.REQUEST, at=now, now=now, by=asker,
            from_stage=row.stage, to_stage=row.stage, note=reason, changes=asked,
        )  # fmt: skip
        _queue(session, row, req, NoticeKind.REQUEST, "request", _approvers(session, row), now)
        return _view(rt, req, row)


def decide(rt: Runtime, request_id: int, *, by: str, approve: bool, note: str | None = None) -> RequestView:
    """Approve or reject a pending request; an approval makes the extension or the hold in the same
    transaction. A request the project has moved on from lapses: recorded as such, and refused with
    why (Conflict). Someone who may not approve is refused, nothing written."""
    now = rt.now()
    note = validate.note(note, _("note")) if note else None
    with rt.store.transaction() as session:
        project_id = session.scalar(
            select(ApprovalRequest.project_id).where(ApprovalRequest.id == request_id)
        )
        if project_id is None:
            raise NotFound(_("unknown request {id}").format(id=request_id))
        row = records.project(session, project_id, lock=True)  # the project first, as ask() locks it
        req = session.get(ApprovalRequest, request_id, with_for_update=True)
        assert req is not None
        approver = records.official(session, by, what=_("--by official"))
        if not moves.may_approve(row.leader_id, approver.id, approver.roles):
            leader = row.leader.key if row.leader else _("none set")
            raise InvalidInput(
                _(
                    "{key!r} ({name}) may not decide request {req} of project {id}: only its leader in "
                    "charge ({leader}), the supervision office or a principal leader may"
                ).format(key=approver.key, name=approver.name, req=req.id, id=row.id, leader=leader)
            )
        if req.status != PENDING:
            raise Conflict(
                _("request {id} was already decided: {status}").format(
                    id=req.id, status=_(STATUS_LABELS.get(req.status, req.status))
                )
            )
        lapse = lapse_reason(rt, req, row)
        if lapse is None and approve:
            _carry_out(rt, session, req, approver)
        status = LAPSED if lapse is not None else APPROVED if approve else REJECTED
        _settle(rt, session, req, row, approver, status, lapse or note, now)
        view = _view(rt, req, row)
    if lapse is not None:  # recorded as lapsed (committed above); the approver is told why
        raise Conflict(_("request {id} has lapsed: {why}; ask again").format(id=request_id, why=lapse))
    return view


def _carry_out(rt: Runtime, session: Session, req: ApprovalRequest, approver: Official) -> None:
    """What an approval does: the extension or the hold, by the approver, with the request's reason."""
    if req.kind == EXTENSION:
        moves.extend_in(
            rt, session, req.project_id, by=approver.key, reason=req.reason, days=req.days, until=req.until
        )
    else:
        move = moves.Move(req.project_id, ON_HOLD, by=approver.key, note=req.reason, until=req.until)
        moves.advance_in(rt, session, move)


def _settle(
    rt: Runtime,
    session: Session,
    req: ApprovalRequest,
    row: Project,
    approver: Official,
    status: str,
    note: str | None,
    now: datetime,
) -> None:
    """Record the decision on the request and in the history; mail it back to whoever asked."""
    req.status, req.decided_by_id, req.decided_at, req.decision_note = status, approver.id, now, note
    records.record_event(
        rt, session, row, EventKind.DECISION, at=now, now=now, by=approver,
        from_stage=row.stage, to_stage=row.stage, note=note,
        changes={"request": req.id, "decision": status},
    )  # fmt: skip
    asker = session.get(Official, req.requested_by_id)
    assert asker is not None
    _queue(session, row, req, NoticeKind.DECISION, status, [(asker.id, _role_of(row, asker))], now)


def lapse_reason(rt: Runtime, req: ApprovalRequest, row: Project) -> str | None:
    """Why the project has moved on from the request (it can no longer be approved), else None."""
    if row.stage_seq != req.stage_seq:
        placed = records.placement(rt, row.workflow, row.stage, row.held_stage)
        stage = placed.workflow.label_of(row.stage) if placed.workflow else row.stage
        return _("the project has moved to {stage} since it was asked").format(stage=stage)
    if req.kind == EXTENSION and row.deadline_version != req.deadline_version:
        return _("the project's deadline has changed since it was asked (now {deadline})").format(
            deadline=row.deadline.isoformat() if row.deadline else "—"
        )
    return None


def _check_hold(rt: Runtime, row: Project, reason: str, until: date | None, now: datetime) -> None:
    """A hold must be a move the workflow allows from the current stage, with a restart date to come."""
    if until is not None and until <= local_day(now, rt.zone):
        raise InvalidInput(_("--until {day} must be after the day of the move").format(day=until))
    placed = records.placement(rt, row.workflow, row.stage, row.held_stage)
    if placed.workflow is None or placed.problem is not None:
        raise InvalidInput(
            _("project {id} cannot move: {problem}; {hint}").format(
                id=row.id, problem=placed.problem, hint=records.repair_hint(row.id)
            )
        )
    subject = MoveSubject(
        state=row.stage,
        values=records.current_values(row),
        held_stage=row.held_stage,
        reason=reason,
        until=until,
    )
    placed.workflow.check_move(subject, ON_HOLD)


def _one_pending(session: Session, row: Project, kind: str, now: datetime) -> None:
    """Refuse a second pending request of ``kind``; one the project has moved on from lapses first."""
    for other in session.scalars(
        select(ApprovalRequest).where(
            ApprovalRequest.project_id == row.id,
            ApprovalRequest.kind == kind,
            ApprovalRequest.status == PENDING,
        )
    ):
        if other.stage_seq != row.stage_seq or (
            kind == EXTENSION and other.deadline_version != row.deadline_version
        ):
            other.status, other.decided_at = LAPSED, now
            continue
        raise Conflict(
            _("project {id} already has a {kind} awaiting approval (request {req})").format(
                id=row.id, kind=_(KIND_LABELS[kind]), req=other.id
            )
        )


def _approvers(session: Session, row: Project) -> list[tuple[int, str]]:
    """Who is mailed a request: the leader in charge (in office), else the supervision office."""
    if row.leader is not None and row.leader.active:
        return [(row.leader.id, Role.LEADER.value)]
    found = session.scalars(
        select(Official.id)
        .join(OfficialRole, OfficialRole.official_id == Official.id)
        .where(OfficialRole.role == Role.SUPERVISION.value, Official.active.is_(True))
        .order_by(Official.id)
    ).all()
    return [(who, Role.SUPERVISION.value) for who in found]


def _queue(
    session: Session,
    row: Project,
    req: ApprovalRequest,
    kind: NoticeKind,
    level: str,
    recipients: list[tuple[int, str]],
    now: datetime,
) -> None:
    """Queue ``kind`` about ``req`` for each recipient, once (the outbox's identity; ON CONFLICT DO
    NOTHING)."""
    rows = [
        {
            "project_id": row.id,
            "stage_seq": req.stage_seq,
            "kind": kind.value,
            "round": f"q{req.id}",
            "level": level,
            "repeat_no": 0,
            "recipient_id": who,
            "role": role,
            "status": NoticeStatus.PENDING.value,
            "attempts": 0,
            "due_at": now,
            "created_at": now,
            "next_attempt_at": now,
        }
        for who, role in recipients
    ]
    if rows:
        session.flush()
        queries.queue_digests(session.connection(), rows)  # an insert that ignores what is queued


def _role_of(row: Project, person: Official) -> str:
    """What the one who asked is to the project (the decision mail's role)."""
    if person.id == row.officer_id:
        return Role.CASE_OFFICER.value
    if person.id == row.leader_id:
        return Role.LEADER.value
    return Role.UNIT_HEAD.value


def _as_viewer(person: Official) -> Viewer:
    return Viewer(person.id, person.key, person.name, person.unit_id, person.is_head, frozenset(person.roles))


def _facts(row: Project) -> ProjectFacts:
    return ProjectFacts(row.id, row.unit_id, row.officer_id, row.leader_id)


# --------------------------------------------------------------------------- reading


def requests_of(rt: Runtime, project_id: int) -> list[RequestView]:
    """Every request of a project, the newest first."""
    with rt.store.reading() as session:
        row = records.project(session, project_id)
        found = session.scalars(
            select(ApprovalRequest)
            .where(ApprovalRequest.project_id == project_id)
            .order_by(ApprovalRequest.id.desc())
        ).all()
        return [_view(rt, req, row) for req in found]


def pending_for(rt: Runtime, project_id: int) -> list[RequestView]:
    """A project's requests awaiting a decision (those lapsed say why)."""
    return [r for r in requests_of(rt, project_id) if r.status == PENDING]


def awaiting(rt: Runtime, official: str) -> list[RequestView]:
    """The pending requests ``official`` may decide: of the projects in their charge, or all of them
    for the supervision office and principal leaders. Oldest first."""
    with rt.store.reading() as session:
        person = records.official(session, official)
        query = select(ApprovalRequest, Project).join(Project, Project.id == ApprovalRequest.project_id)
        query = query.where(ApprovalRequest.status == PENDING, Project.voided_at.is_(None))
        if not APPROVER_ROLES & set(person.roles):
            query = query.where(Project.leader_id == person.id)
        pairs = session.execute(query.order_by(ApprovalRequest.id)).unique().all()
        return [_view(rt, req, row) for req, row in pairs]


def forms(rt: Runtime, project_id: int) -> dict[str, Any]:
    """What a project's request forms need: its running deadline (None: nothing to extend) and whether
    its workflow allows a hold from where it stands."""
    with rt.store.reading() as session:
        row = records.project(session, project_id)
        placed = records.placement(rt, row.workflow, row.stage, row.held_stage)
        workflow = None if placed.problem is not None else placed.workflow
        holdable = workflow is not None and ON_HOLD in workflow.allowed_from(row.stage, row.held_stage)
        return {"deadline": row.deadline if workflow is not None else None, "holdable": holdable}


def request_project(rt: Runtime, request_id: int) -> int:
    """The project a request is about (NotFound for none)."""
    with rt.store.reading() as session:
        found = session.scalar(select(ApprovalRequest.project_id).where(ApprovalRequest.id == request_id))
    if found is None:
        raise NotFound(_("unknown request {id}").format(id=request_id))
    return int(found)


def _ref(session: Session | None, official_id: int | None) -> Ref | None:
    if official_id is None or session is None:
        return None
    person = session.get(Official, official_id)
    return Ref(person.key, person.name) if person else None


def _view(rt: Runtime, req: ApprovalRequest, row: Project) -> RequestView:
    session = object_session(req)
    asker = _ref(session, req.requested_by_id)
    assert asker is not None
    return RequestView(
        id=req.id,
        project_id=row.id,
        project_name=row.name,
        kind=req.kind,
        kind_label=_(KIND_LABELS.get(req.kind, req.kind)),
        status=req.status,
        status_label=_(STATUS_LABELS.get(req.status, req.status)),
        days=req.days,
        until=req.until,
        reason=req.reason,
        requested_by=asker,
        requested_at=in_zone(req.requested_at, rt.zone),
        decided_by=_ref(session, req.decided_by_id),
        decided_at=in_zone(req.decided_at, rt.zone) if req.decided_at else None,
        note=req.decision_note,
        deadline=row.deadline,
        lapsed=lapse_reason(rt, req, row) if req.status == PENDING else None,
    )
