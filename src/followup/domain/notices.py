"""What a notification is: its identity, and when a queued one no longer applies.

A notification is owed by one ladder of one project: a stage entry (``stage_seq``) and a round — the
deadline version for the deadline ladder, the moment of the last activity for staleness, the expected
restart date for the hold-expiry ladder (暂缓到期), the ISO week for the weekly mail. Within it, a level
and a repeat number; then a recipient. :class:`NoticeKey` is that identity less the project and the
recipient: the outbox's unique index is (project, *key, recipient), so queuing the same notification
twice does nothing. The sweep makes keys, the digest makes keys, and delivery asks a key whether it is
obsolete — one definition for all three. :attr:`NoticeKey.ladder` is the ladder a notification
climbs: of two notifications of one ladder to one person, only the newer (the higher rung, or the
later repeat) is ever delivered. :attr:`NoticeKey.is_reminder` tells news (a new rung) from reminders
(跟进超时, repeats), which wait for the recipient's next mail.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from followup.domain.kinds import NoticeKind
from followup.domain.timeutil import as_utc
from followup.domain.workflow import ON_HOLD, SIDE_STATES, TERMINATED


@dataclass(frozen=True)
class ProjectClock:
    """What the ladder (and a notification's obsolescence) needs to know about a project."""

    workflow: str
    stage: str
    deadline: date | None
    deadline_version: int
    stage_seq: int
    last_activity_at: datetime
    hold_until: date | None = None  # on hold: the expected restart date, the hold-expiry ladder's deadline

    #: the project columns a clock is made of (a row, an ORM object or a Core row will do)
    COLUMNS: ClassVar[tuple[str, ...]] = (
        "workflow",
        "stage",
        "deadline",
        "deadline_version",
        "stage_seq",
        "last_activity_at",
        "hold_until",
    )

    @classmethod
    def from_row(cls, row: Any) -> ProjectClock:
        return cls(
            workflow=row.workflow,
            stage=row.stage,
            deadline=row.deadline,
            deadline_version=row.deadline_version,
            stage_seq=row.stage_seq,
            last_activity_at=as_utc(row.last_activity_at),
            hold_until=row.hold_until,
        )

    @property
    def deadline_round(self) -> str:
        return f"d{self.deadline_version}"

    @property
    def stale_round(self) -> str:
        return "s" + self.last_activity_at.strftime("%Y%m%dT%H%M%S")

    @property
    def hold_round(self) -> str:
        """The hold-expiry ladder of this hold: a new expected restart date is a new ladder."""
        return "h" + self.hold_until.strftime("%Y%m%d") if self.hold_until else "h"


@dataclass(frozen=True)
class NoticeKey:
    """A notification's identity within its project, less the recipient."""

    stage_seq: int
    kind: NoticeKind
    round: str
    level: str
    repeat_no: int

    @classmethod
    def deadline(cls, clock: ProjectClock, level: str, repeat_no: int) -> NoticeKey:
        return cls(clock.stage_seq, NoticeKind.DEADLINE, clock.deadline_round, level, repeat_no)

    @classmethod
    def stale(cls, clock: ProjectClock, repeat_no: int) -> NoticeKey:
        return cls(clock.stage_seq, NoticeKind.STALE, clock.stale_round, NoticeKind.STALE, repeat_no)

    @classmethod
    def hold(cls, clock: ProjectClock, level: str, repeat_no: int) -> NoticeKey:
        """A rung of the hold-expiry ladder (暂缓到期): the project is on hold past ``hold_until``."""
        return cls(clock.stage_seq, NoticeKind.HOLD, clock.hold_round, level, repeat_no)

    @classmethod
    def digest(cls, year: int, week: int) -> NoticeKey:
        """This ISO week's digest: one per recipient, whatever the projects."""
        return cls(0, NoticeKind.DIGEST, f"{year}-W{week:02d}", NoticeKind.DIGEST, 0)

    @classmethod
    def stranded(cls, clock: ProjectClock, problem: str) -> NoticeKey:
        """The supervision office is told once that escalation cannot follow this stage entry, per
        problem (the same problem again in the same stage entry is not news)."""
        digest = hashlib.sha256(problem.encode("utf-8")).hexdigest()[:16]
        return cls(clock.stage_seq, NoticeKind.STRANDED, f"x{digest}", NoticeKind.STRANDED, 0)

    @classmethod
    def from_row(cls, row: Any) -> NoticeKey:
        return cls(row.stage_seq, NoticeKind(row.kind), row.round, row.level, row.repeat_no)

    @property
    def is_reminder(self) -> bool:
        """A reminder rather than news: 跟进超时, or a repeat of a rung already delivered. Reminders go
        with the recipient's next mail, at the latest with the weekly mail; a new rung goes at once."""
        if self.kind is NoticeKind.STALE:
            return True
        return self.kind in (NoticeKind.DEADLINE, NoticeKind.HOLD) and self.repeat_no > 0

    @property
    def ladder(self) -> tuple[int, NoticeKind, str]:
        """The ladder this notification is a rung of: within it, a newer notification to the same person
        supersedes an older one still waiting."""
        return (self.stage_seq, self.kind, self.round)

    def columns(self) -> dict[str, Any]:
        """The outbox columns of this key."""
        return {
            "stage_seq": self.stage_seq,
            "kind": str(self.kind),
            "round": self.round,
            "level": self.level,
            "repeat_no": self.repeat_no,
        }

    def is_obsolete(self, clock: ProjectClock | None) -> bool:
        """Whether a queued notification no longer applies to its project as it is now: the project is
        gone, on hold or terminated, in another stage entry, or in another round (a new deadline, a
        newer follow-up). The official is told about the project as it is, never a state it has left."""
        if self.kind is NoticeKind.DIGEST:
            return False
        if self.kind in (NoticeKind.PROBLEM, NoticeKind.REPLY, NoticeKind.ROUND):
            return False  # the problem, notice or round decides, not the project (app.supervision_mail)
        if self.kind is NoticeKind.STRANDED:  # whether it is still stranded, the caller's placement says
            return clock is None or clock.stage == TERMINATED or clock.stage_seq != self.stage_seq
        if self.kind is NoticeKind.HOLD:  # resumed, ended, or held again with another restart date
            return (
                clock is None
                or clock.stage != ON_HOLD
                or clock.stage_seq != self.stage_seq
                or self.round != clock.hold_round
            )
        if clock is None or clock.stage in SIDE_STATES or clock.stage_seq != self.stage_seq:
            return True
        current = clock.deadline_round if self.kind is NoticeKind.DEADLINE else clock.stale_round
        return self.round != current
