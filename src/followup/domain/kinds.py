"""The closed sets of names followup stores and shows: each a ``StrEnum`` whose value is what the
database holds and the JSON carries, with the Simplified-Chinese label a county user reads.

A ladder level is not here: a county's workflow may declare its own (``orange``), so a level is a
string; :class:`Light` names the board's lights, which every level maps onto.

The county's own terms (:class:`Light`, :class:`UnitKind`, :class:`Role`) are Chinese in every language;
what the tool itself says of a notification or a history line (:class:`NoticeKind`, :class:`NoticeStatus`,
:class:`EventKind`) is a label in the user's language (``.label``, Simplified Chinese by default).
"""

from __future__ import annotations

from enum import StrEnum

from followup.i18n import N_, _


class NoticeKind(StrEnum):
    """What a notification is about."""

    DEADLINE = "deadline"  # a rung of the warning ladder of a stage deadline
    STALE = "stale"  # no follow-up record for too long (跟进超时)
    HOLD = "hold"  # a rung of the hold-expiry ladder: on hold past its expected restart date (暂缓到期)
    DIGEST = "digest"  # the weekly mail: 周调度, with the county summary for those who read it
    STRANDED = "stranded"  # a project escalation cannot follow (its workflow or stage is gone): 督查室
    PROBLEM = "problem"  # an open problem (问题清单) past its due date: its owning unit, up the ladder
    REPLY = "reply"  # a 督办 notice whose written reply is overdue: the responsible unit, up the ladder
    ROUND = "round"  # a reporting round (调度) a unit has not reported on by its due date
    BULLETIN = "bulletin"  # the monthly bulletin (月通报)
    REQUEST = "request"  # an extension or hold request, to the official who may approve it (审批)
    DECISION = "decision"  # the decision on a request, back to the official who asked

    @property
    def label(self) -> str:
        return _(_NOTICE_KIND_LABELS[self])


class NoticeStatus(StrEnum):
    """Where a notification is in the outbox."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    OBSOLETE = "obsolete"
    UNKNOWN = "unknown"  # the server took the data but never confirmed it; retried after an hour

    @property
    def label(self) -> str:
        return _(_NOTICE_STATUS_LABELS[self])


class EventKind(StrEnum):
    """The kind of a line of a project's history."""

    CREATED = "created"
    MOVE = "move"
    EDIT = "edit"
    REASSIGN = "reassign"
    FOLLOWUP = "followup"
    EXTEND = "extend"
    VOID = "void"  # entered by mistake: out of every list and count, kept in the history
    FUNDS = "funds"  # money in place (资金到位): changes {"funds_in_place": [before, after]}, note
    NOTICE = "notice"  # a 督办 notice issued (its number in the note)
    REPLY = "reply"  # the written reply to a 督办 notice
    PROBLEM = "problem"  # a problem opened (问题清单)
    PROBLEM_CLOSED = "problem_closed"  # a problem closed (销号)
    REPORT = "report"  # a report in a reporting round (调度)
    REQUEST = "request"  # an extension or hold asked for, with its reason (申请)
    DECISION = "decision"  # a request approved or rejected (审批)

    @property
    def label(self) -> str:
        return _(_EVENT_LABELS[self])


_NOTICE_KIND_LABELS = {
    NoticeKind.DEADLINE: N_("deadline warning"),
    NoticeKind.STALE: N_("no follow-up"),
    NoticeKind.HOLD: N_("hold expired"),
    NoticeKind.DIGEST: N_("weekly mail"),
    NoticeKind.STRANDED: N_("cannot be escalated"),
    NoticeKind.PROBLEM: N_("problem overdue"),
    NoticeKind.REPLY: N_("reply overdue"),
    NoticeKind.ROUND: N_("report overdue"),
    NoticeKind.BULLETIN: N_("monthly bulletin"),
    NoticeKind.REQUEST: N_("request to approve"),
    NoticeKind.DECISION: N_("decision on a request"),
}
_NOTICE_STATUS_LABELS = {
    NoticeStatus.PENDING: N_("pending"),
    NoticeStatus.SENDING: N_("sending"),
    NoticeStatus.SENT: N_("sent"),
    NoticeStatus.FAILED: N_("failed"),
    NoticeStatus.OBSOLETE: N_("obsolete"),
    NoticeStatus.UNKNOWN: N_("outcome unknown"),
}
_EVENT_LABELS = {
    EventKind.CREATED: N_("created"),
    EventKind.MOVE: N_("stage change"),
    EventKind.EDIT: N_("edit"),
    EventKind.REASSIGN: N_("reassignment"),
    EventKind.FOLLOWUP: N_("follow-up"),
    EventKind.EXTEND: N_("extension"),
    EventKind.VOID: N_("voided"),
    EventKind.FUNDS: N_("funds in place"),
    EventKind.NOTICE: N_("supervision notice"),
    EventKind.REPLY: N_("notice reply"),
    EventKind.PROBLEM: N_("problem opened"),
    EventKind.PROBLEM_CLOSED: N_("problem closed"),
    EventKind.REPORT: N_("round report"),
    EventKind.REQUEST: N_("request"),
    EventKind.DECISION: N_("decision"),
}


class Light(StrEnum):
    """The board's lights, lowest first; a county's own ladder level shows as red."""

    GREEN = "green"
    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"
    TOP = "top"

    @property
    def label(self) -> str:
        return _LIGHT_LABELS[self]

    @classmethod
    def of_level(cls, level: str | None) -> Light:
        if level is None:
            return cls.GREEN
        return cls(level) if level in cls._value2member_map_ else cls.RED

    @property
    def rank(self) -> int:
        """Green 0, blue 1, yellow 2, red 3, top 4: which of two warnings is the higher."""
        return list(Light).index(self)


_LIGHT_LABELS = {
    Light.GREEN: "正常",
    Light.BLUE: "提示",
    Light.YELLOW: "黄灯",
    Light.RED: "红灯",
    Light.TOP: "约谈",
}


class UnitKind(StrEnum):
    TOWNSHIP = "township"
    DEPARTMENT = "department"

    @property
    def label(self) -> str:
        return "乡镇" if self is UnitKind.TOWNSHIP else "部门"


class Role(StrEnum):
    """Whom a ladder level notifies. The first two come from the project (its case officer and the
    head of its responsible unit); the others are roles an official holds."""

    CASE_OFFICER = "case_officer"
    UNIT_HEAD = "unit_head"
    LEADER = "leader"
    SUPERVISION = "supervision"
    PRINCIPAL = "principal"
    OPERATOR = "operator"  # the investment bureau's operator: everything the CLI does, on the web too

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]

    @property
    def held(self) -> bool:
        """Whether an official holds this role (``official add --role``), rather than a project giving it."""
        return self in HELD_ROLES


_ROLE_LABELS = {
    Role.CASE_OFFICER: "责任人",
    Role.UNIT_HEAD: "责任单位负责人",
    Role.LEADER: "包联领导",
    Role.SUPERVISION: "督查室",
    Role.PRINCIPAL: "县主要领导",
    Role.OPERATOR: "招商局操作员",
}

#: Roles given to an official with ``official add --role``, and what they mean there.
HELD_ROLES: dict[Role, str] = {
    Role.LEADER: "县领导（可任包联领导）",
    Role.SUPERVISION: "督查室",
    Role.PRINCIPAL: "县主要领导",
    Role.OPERATOR: "招商局操作员（网页上可做命令行能做的一切）",
}

#: Who approves an extension besides the project's own leader in charge.
APPROVER_ROLES = frozenset({Role.SUPERVISION, Role.PRINCIPAL})


def label_of(kind: type[StrEnum], key: str) -> str:
    """A stored key — an event kind, an outbox status, a notification kind, a role, a unit kind, a
    light — as a person reads it: its member's ``label``; a key the enum does not know, as it is."""
    member = kind._value2member_map_.get(key)
    shown = getattr(member, "label", None)
    return shown if isinstance(shown, str) else key
