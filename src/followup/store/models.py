"""The stored records: units, officials, projects and the append-only project history.

Schema changes go through alembic migrations (``followup/migrations``); a test checks that the
migrations and these models agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python; UTC in the database (naive on SQLite, timestamptz on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Hundredths(TypeDecorator[Decimal]):
    """An exact decimal with two places (万元, 亩), stored as an integer count of hundredths.

    Exact on every backend, with no float rounding and no SQLite Decimal warning.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int((Decimal(value) * 100).to_integral_value())

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(Decimal("0.01"))


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Unit(Base):
    """A responsible unit: a township (乡镇) or a department (部门)."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="department")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Official(Base):
    """A person: case officer, unit head, county leader, supervision office, principal leader."""

    __tablename__ = "officials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: what a county also calls this official in a ledger: 马县长, 张常委 (0005)
    aliases: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    #: in the work chats (0007): how a group robot @-mentions them, and where they want warnings
    mobile: Mapped[str | None] = mapped_column(String(32), nullable=True)
    chat_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    notify: Mapped[str | None] = mapped_column(String(8), nullable=True)  # mail | chat | both (None: both)

    unit: Mapped[Unit] = relationship(lazy="joined")
    role_rows: Mapped[list[OfficialRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="OfficialRole.role"
    )

    @property
    def roles(self) -> list[str]:
        return [r.role for r in self.role_rows]


class OfficialRole(Base):
    __tablename__ = "official_roles"

    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class Project(Base):
    """One investment project and where it stands. ``version`` guards against lost updates."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    workflow: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(64))
    stage_since: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[date | None] = mapped_column(Date, nullable=True)

    officer_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), nullable=True)

    investor: Mapped[str | None] = mapped_column(String(300), nullable=True)
    investor_contact: Mapped[str | None] = mapped_column(String(300), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Hundredths, nullable=True)
    funds_in_place: Mapped[Decimal | None] = mapped_column(Hundredths, nullable=True)
    chain: Mapped[str | None] = mapped_column(String(100), nullable=True)
    chain_link: Mapped[str | None] = mapped_column(String(100), nullable=True)  # 产业链环节 (0005)
    land: Mapped[Decimal | None] = mapped_column(Hundredths, nullable=True)
    source: Mapped[str | None] = mapped_column(String(300), nullable=True)
    signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    contract_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    contract_production: Mapped[date | None] = mapped_column(Date, nullable=True)
    started_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    production_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # 项目编号: the county's own number for the project, what a re-imported ledger is matched by (0005)
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    remarks: Mapped[str | None] = mapped_column(Text, nullable=True)  # 备注 (0005)

    held_stage: Mapped[str | None] = mapped_column(String(64), nullable=True)
    held_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    held_deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    hold_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    hold_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Entered by mistake (``project void``): out of every list, the board, the sweep and the metrics;
    # its stage is terminated, so that everything that follows active projects passes it by.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    # Escalation: a stage entry and a deadline version identify one ladder (an extension or a stage
    # change starts a fresh one); the sweep looks only at projects whose next_escalation_at is due,
    # through a partial index that holds only projects with something ahead of them.
    stage_seq: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    deadline_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    level: Mapped[str | None] = mapped_column(String(20), nullable=True)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    officer: Mapped[Official] = relationship(foreign_keys=[officer_id], lazy="joined")
    leader: Mapped[Official | None] = relationship(foreign_keys=[leader_id], lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("ix_projects_stage", "stage"),
        Index("ix_projects_unit_id", "unit_id"),
        Index("ix_projects_officer_id", "officer_id"),
        # Partial (WHERE next_escalation_at IS NOT NULL) in migration 0002. The WHERE is not declared
        # here: dialect-specific index options make SQLAlchemy import both dialects on every CLI call.
        Index("ix_projects_next_escalation_at", "next_escalation_at"),
        Index("uq_projects_code", "code", unique=True),
    )


class ProjectEvent(Base):
    """One line of a project's history: a stage change, an edit, a reassignment or a follow-up record.

    Append-only: the database refuses UPDATE and DELETE on this table (triggers in the migration).
    """

    __tablename__ = "project_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), nullable=True)
    from_stage: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to_stage: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # 录入人: the operating-system user who typed the command (``by`` is the official who acted)
    entered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    by: Mapped[Official | None] = relationship(lazy="joined")

    __table_args__ = (Index("ix_project_events_project_id", "project_id", "id"),)


class Notification(Base):
    """The outbox: one row per notification owed to one official.

    Identity (the unique index): project, stage entry, kind, round (deadline version or staleness
    period or digest week), level, repeat number, recipient — queuing the same one twice does nothing.
    Failures are data: attempts (refusals of the message itself), deferrals (connection failures,
    which cost no attempt), next attempt, last error; after the retry budget, ``failed``. A message
    whose end of data the server never confirmed is ``unknown`` (its Message-ID kept for the retry).
    ``nonce`` is random, set by the database when the row is queued: Message-IDs derive from it, so
    two databases never make the same one. ``claim_token`` names the sender holding a ``sending`` row;
    only that sender may record its outcome.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), nullable=True)
    stage_seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # deadline | stale | digest
    round: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    repeat_no: Mapped[int] = mapped_column(Integer)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    role: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))  # pending | sending | sent | failed | obsolete | unknown
    attempts: Mapped[int] = mapped_column(Integer)
    deferrals: Mapped[int] = mapped_column(Integer, server_default="0")  # no Python default: see queue()
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Server defaults in migration 0003 (random per row; the expression differs by dialect).
    nonce: Mapped[str] = mapped_column(String(32), server_default=FetchedValue())
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (
        UniqueConstraint(
            "project_id",
            "stage_seq",
            "kind",
            "round",
            "level",
            "repeat_no",
            "recipient_id",
            name="uq_notifications_identity",
        ),
        # Both partial: rows waiting to go (pending, sending, unknown; migration 0003); one digest per
        # recipient and week (0002).
        Index("ix_notifications_pending", "next_attempt_at"),
        Index("uq_notifications_digest", "recipient_id", "round", unique=True),
        # Partial (WHERE project_id IS NULL; 0005): a bulletin, a unit's overdue round report.
        Index(
            "uq_notifications_no_project", "kind", "round", "level", "repeat_no", "recipient_id", unique=True
        ),
    )


class Problem(Base):
    """问题清单: a problem holding a project up, owned by a unit, due by a date, closed one by one (销号).
    ``level``: general (一般), coordination (协调), major (重大)."""

    __tablename__ = "problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    level: Mapped[str] = mapped_column(String(20))
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    due_on: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    entered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (Index("ix_problems_project_id", "project_id"), Index("ix_problems_due_on", "due_on"))


class SupervisionNotice(Base):
    """督办通知: a numbered notice (督〔2026〕第12号, numbered per year) issued when a project's ladder
    reaches red, asking its responsible unit for a written reply (情况说明) by ``reply_due``. One per
    ladder and level: (project, stage entry, round, level) as in the outbox's identity."""

    __tablename__ = "supervision_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    stage_seq: Mapped[int] = mapped_column(Integer)
    round: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reply_due: Mapped[date] = mapped_column(Date)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reply_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), nullable=True)
    reply_text: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        UniqueConstraint("year", "number", name="uq_supervision_notices_number"),
        UniqueConstraint("project_id", "stage_seq", "round", "level", name="uq_supervision_notices_ladder"),
    )


class ReportingRound(Base):
    """调度: a reporting round (``period`` 2026-11) asking the responsible units to report on each of their
    active projects by ``due_on``; ``units``: the unit keys asked (None: every unit with a project)."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(20), unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_on: Mapped[date] = mapped_column(Date)
    units: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RoundReport(Base):
    """One unit's report on one project in a round: progress this period, problems, next step, funds in
    place (万元)."""

    __tablename__ = "round_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    progress: Mapped[str] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_step: Mapped[str | None] = mapped_column(Text, nullable=True)
    funds: Mapped[Decimal | None] = mapped_column(Hundredths, nullable=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), nullable=True)
    entered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (UniqueConstraint("round_id", "project_id", name="uq_round_reports_project"),)


class WebToken(Base):
    """A secret of the web app, kept only as its SHA-256 digest: a one-time sign-in link (``signin``,
    single use: ``used_at``) or a signed-in session (``session``; ``project_id`` set when it was opened by
    a mail's action link and reaches that project only). The secret itself is never stored."""

    __tablename__ = "web_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(12))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_web_tokens_official", "official_id", "purpose", "created_at"),)


class ApprovalRequest(Base):
    """An extension (延期) or hold (暂缓) asked for by a case officer or unit head, waiting for the
    leader in charge (or the supervision office, a principal leader) to approve or reject it (审批).
    ``stage_seq`` and ``deadline_version``: the project as it stood when asked; a request about a stage
    or deadline that has since changed can no longer be approved."""

    __tablename__ = "approval_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(12))  # extension | hold
    stage_seq: Mapped[int] = mapped_column(Integer)
    deadline_version: Mapped[int] = mapped_column(Integer)
    days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    until: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12))  # pending | approved | rejected | lapsed
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_approval_requests_project", "project_id", "status"),)


class Attachment(Base):
    """Evidence (以图为证): an image or PDF attached to a line of history (a follow-up, a stage move) or
    to a problem's closing, stored under the data directory by the SHA-256 of its content."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("project_events.id"), nullable=True)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id"), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_attachments_project", "project_id"),)


# --------------------------------------------------------------------------- work chats (issue 11, 0007)


class Channel(Base):
    """A unit's group robot in a work chat: 政务钉钉 (``dingtalk``), 企业微信 (``wecom``), 飞书 (``feishu``).
    ``secret``: the robot's signing secret, or ``env:NAME`` to read it from the environment; never shown.
    ``mention_by``: how its members are @-mentioned (``mobile`` or ``userid``)."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(12))
    webhook: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(String(300), nullable=True)
    mention_by: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_channels_unit", "unit_id"),)


class ChatMessage(Base):
    """The chat outbox: one card owed to one group robot, made from the notifications of one identity
    (project — 0 for none: the weekly summary, the bulletin, a unit behind in a round —, stage entry,
    kind, round, level, repeat) to that channel's unit. Unique by identity and channel, claimed under a
    token and a lease, retried with backoff, like ``notifications``. ``mentions``: the officials to @."""

    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer)
    stage_seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    round: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    repeat_no: Mapped[int] = mapped_column(Integer)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    mentions: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # pending | sending | sent | failed | obsolete | unknown
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        UniqueConstraint(
            "project_id",
            "stage_seq",
            "kind",
            "round",
            "level",
            "repeat_no",
            "channel_id",
            name="uq_chat_messages_identity",
        ),
        Index("ix_chat_messages_due", "status", "next_attempt_at"),
        Index("ix_chat_messages_sent", "channel_id", "sent_at"),
    )
