"""The outbox: queue what the ladder owes (sweep), deliver it (send), and the weekly digest.

All three are state-based and idempotent functions of the database and ``now``; the daemon only
triggers them. Queuing and the project's next look are written in one transaction; a notification's
identity (a unique index) makes a second sweep queue nothing. Sending claims rows, sends over one
connection per batch, and records each message as soon as the server accepted it, so a crash
resends at most the one message in flight. Failures are data: attempts, next attempt with bounded
backoff, last error, and a final ``failed`` after the retry budget.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Table, TypeDecorator, and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from followup.escalation import LIGHTS, Memo, ProjectClock, assess
from followup.models import Notification, Official, OfficialRole, Project, Unit, UTCDateTime
from followup.timeutil import as_utc, local_day, show
from followup.workflow import ON_HOLD, TERMINATED

if TYPE_CHECKING:
    from followup.service import Followup

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=2)  # a claim older than this was left by a crashed sender
BATCH = 500

P: Table = Project.__table__  # type: ignore[assignment]
N: Table = Notification.__table__  # type: ignore[assignment]


# --------------------------------------------------------------------------- sweep


@dataclass
class SweepResult:
    looked_at: int = 0
    queued: int = 0
    planned: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"looked_at": self.looked_at, "queued": self.queued, "planned": self.planned}


class Organisation:
    """Who holds which role, loaded once per sweep (a county has hundreds of officials, not millions)."""

    def __init__(self, conn: Connection) -> None:
        active = {
            row.id: row.key
            for row in conn.execute(select(Official.id, Official.key).where(Official.active.is_(True)))
        }
        self.active = active
        self.heads: dict[int, list[int]] = defaultdict(list)
        for row in conn.execute(
            select(Official.id, Official.unit_id).where(Official.active.is_(True), Official.is_head.is_(True))
        ):
            self.heads[row.unit_id].append(row.id)
        self.holders: dict[str, list[int]] = defaultdict(list)
        for holder, role in conn.execute(
            select(OfficialRole.official_id, OfficialRole.role).order_by(OfficialRole.official_id)
        ):
            if holder in active:
                self.holders[role].append(holder)

    def resolve(
        self, roles: Iterable[str], officer_id: int, unit_id: int, leader_id: int | None
    ) -> list[tuple[str, int]]:
        """(role, official id) for each person a ladder level reaches, each person once."""
        out: list[tuple[str, int]] = []
        seen: set[int] = set()
        for role in roles:
            if role == "case_officer":
                people = [officer_id]
            elif role == "unit_head":
                people = self.heads.get(unit_id, [])
            elif role == "leader":
                people = [leader_id] if leader_id is not None else []
            else:
                people = self.holders.get(role, [])
            for person in people:
                if person in self.active and person not in seen:
                    seen.add(person)
                    out.append((role, person))
        return out


def _insert_ignoring_duplicates(conn: Connection) -> Any:
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(N).on_conflict_do_nothing().returning(N.c.id)


class _Stored(TypeDecorator[Any]):
    """A UTC instant already in the form the driver takes (see :func:`_storing`): bound as it is."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Any) -> None:
        return None


def _storing(conn: Connection) -> Callable[[datetime | None], Any]:
    """UTCDateTime's conversion for this connection, done once per distinct instant: a sweep binds
    the same few instants (now, the start of a few days) tens of thousands of times."""
    convert = UTCDateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
    done: dict[datetime, Any] = {}

    def stored(value: datetime | None) -> Any:
        if value is None or convert is None:
            return value
        out = done.get(value)
        if out is None:
            out = done[value] = convert(value)
        return out

    return stored


def sweep(app: Followup, now: datetime, *, dry_run: bool = False) -> SweepResult:
    """Queue every notification owed at ``now``; looks only at projects whose next look is due."""
    result = SweepResult()
    zone = app.settings.zone
    with app.store.transaction() as session:
        conn = session.connection()
        due = conn.execute(
            select(
                P.c.id,
                *(P.c[name] for name in ProjectClock.COLUMNS),
                P.c.officer_id,
                P.c.unit_id,
                P.c.leader_id,
                P.c.version,
            ).where(P.c.next_escalation_at <= now)
        ).all()
        result.looked_at = len(due)
        if not due:
            return result
        org = Organisation(conn)
        memo: Memo = {}
        stored = _storing(conn)
        now_stored = stored(now)
        rows: list[dict[str, Any]] = []
        looks: list[dict[str, Any]] = []
        for p in due:
            workflow = app.workflows.get(p.workflow)
            clock = ProjectClock.from_row(p)
            assessment = assess(workflow, clock, now, app.calendar, zone, memo)
            for owed in assessment.owed:
                for role, person in org.resolve(owed.roles, p.officer_id, p.unit_id, p.leader_id):
                    rows.append(
                        {
                            "project_id": p.id,
                            "stage_seq": p.stage_seq,
                            "kind": owed.kind,
                            "round": owed.round,
                            "level": owed.level,
                            "repeat_no": owed.repeat_no,
                            "recipient_id": person,
                            "role": role,
                            "due_at_stored": stored(owed.due_at),
                        }
                    )
            looks.append(
                {
                    "pid": p.id,
                    "seen_version": p.version,
                    "new_level": assessment.level.key if assessment.level else None,
                    "next_at_stored": stored(assessment.next_at),
                }
            )
        if dry_run:
            result.planned = [
                {
                    k: (v.isoformat() if isinstance(v, datetime) else v)
                    for k, v in r.items()
                    if k in ("project_id", "kind", "level", "repeat_no", "recipient_id", "role")
                }
                for r in rows
            ]
            session.rollback()
            return result
        if rows:
            dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
            at_now = bindparam("now_stored", now_stored, type_=_Stored())
            insert = dialect.insert(N).values(
                status="pending",
                attempts=0,
                created_at=at_now,
                next_attempt_at=at_now,
                due_at=bindparam("due_at_stored", type_=_Stored()),
            )
            inserted = conn.execute(insert.on_conflict_do_nothing().returning(N.c.id), rows).all()
            result.queued = len(inserted)
        # A project changed by someone else meanwhile has already been rescheduled by that change.
        conn.execute(
            update(P)
            .where(and_(P.c.id == bindparam("pid"), P.c.version == bindparam("seen_version")))
            .values(
                level=bindparam("new_level"),
                next_escalation_at=bindparam("next_at_stored", type_=_Stored()),
            ),
            looks,
        )
    if result.queued:
        log.info(
            "sweep at %s: %d projects due, %d notifications queued", now.isoformat(), len(due), result.queued
        )
    return result


# --------------------------------------------------------------------------- send


@dataclass
class SendResult:
    sent: int = 0
    messages: int = 0
    retried: int = 0
    failed: int = 0
    obsolete: int = 0
    skipped_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "messages": self.messages,
            "retried": self.retried,
            "failed": self.failed,
            "obsolete": self.obsolete,
            "skipped": self.skipped_reason,
        }


def in_work_hours(app: Followup, now: datetime) -> bool:
    local = as_utc(now).astimezone(app.settings.zone)
    opening, closing = app.settings.work_hours
    return app.calendar.is_workday(local.date()) and opening <= local.time().replace(tzinfo=None) < closing


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, at most an hour."""
    delay: timedelta = min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
    return delay


def _claim(app: Followup, now: datetime) -> list[int]:
    """Take the due rows for this sender; rows a crashed sender left behind come back after the lease."""
    with app.store.transaction() as session:
        conn = session.connection()
        conn.execute(
            update(N)
            .where(N.c.status == "sending", N.c.claimed_at < now - CLAIM_LEASE)
            .values(status="pending")
        )
        query = (
            select(N.c.id)
            .where(N.c.status == "pending", N.c.next_attempt_at <= now)
            .order_by(N.c.recipient_id, N.c.id)
            .limit(BATCH)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(conn.execute(query).scalars())
        if ids:
            conn.execute(update(N).where(N.c.id.in_(ids)).values(status="sending", claimed_at=now))
        return ids


def send(app: Followup, now: datetime, *, ignore_hours: bool = False) -> SendResult:
    """Deliver what is due: one message per recipient (several notifications are consolidated),
    all over one connection; each recorded as soon as the server took it."""
    from followup.errors import DeliveryError
    from followup.letters import build_messages
    from followup.mail import transport_for

    result = SendResult()
    if not ignore_hours and not in_work_hours(app, now):
        result.skipped_reason = "outside working hours"
        return result
    ids = _claim(app, now)
    if not ids:
        return result
    letters, obsolete = build_messages(app, ids, now)
    if obsolete:
        with app.store.transaction() as session:
            session.connection().execute(
                update(N).where(N.c.id.in_(obsolete)).values(status="obsolete", claimed_at=None)
            )
        result.obsolete = len(obsolete)
    if not letters:
        return result
    pending = {letter.message.message_id: letter for letter in letters}
    started = last_renewal = time.monotonic()
    try:
        with transport_for(app.settings, now=now) as transport:
            for key, letter in list(pending.items()):
                if time.monotonic() - last_renewal > CLAIM_LEASE.total_seconds() / 4:
                    # a long batch keeps its claim, so another sender never takes rows still in hand
                    last_renewal = time.monotonic()
                    _renew_claim(app, pending, now + timedelta(seconds=last_renewal - started))
                try:
                    transport.send(letter.message)
                except DeliveryError as exc:
                    # One message's trouble. When the connection itself is lost, the transport fails
                    # each remaining message at once without trying, so the batch ends quickly.
                    _record_failure(app, letter.ids, now, str(exc), permanent=exc.permanent, result=result)
                    pending.pop(key)
                    continue
                _record_sent(app, letter.ids, letter.message.message_id, now)
                result.sent += len(letter.ids)
                result.messages += 1
                pending.pop(key)
    except DeliveryError as exc:  # could not connect or log in: nothing of the batch was tried
        for letter in pending.values():
            _record_failure(app, letter.ids, now, str(exc), permanent=False, result=result)
        log.warning("delivery interrupted: %s; %d messages wait for a retry", exc, len(pending))
    return result


def _renew_claim(app: Followup, pending: dict[str, Any], at: datetime) -> None:
    ids = [i for letter in pending.values() for i in letter.ids]
    with app.store.transaction() as session:
        session.connection().execute(
            update(N).where(N.c.id.in_(ids), N.c.status == "sending").values(claimed_at=at)
        )


def _record_sent(app: Followup, ids: Sequence[int], message_id: str, now: datetime) -> None:
    with app.store.transaction() as session:
        session.connection().execute(
            update(N)
            .where(N.c.id.in_(ids))
            .values(
                status="sent", sent_at=now, message_id=message_id, attempts=N.c.attempts + 1, last_error=None
            )
        )


def _record_failure(
    app: Followup, ids: Sequence[int], now: datetime, error: str, *, permanent: bool, result: SendResult
) -> None:
    """Count the attempt; requeue with backoff, or give up after the budget or a permanent refusal.
    Rows of one message can differ in attempts (a consolidated message): one update per count."""
    with app.store.transaction() as session:
        conn = session.connection()
        by_attempts: dict[int, list[int]] = defaultdict(list)
        for row_id, attempts in conn.execute(select(N.c.id, N.c.attempts).where(N.c.id.in_(ids))):
            by_attempts[attempts + 1].append(row_id)
        for attempts, group in by_attempts.items():
            final = permanent or attempts >= MAX_ATTEMPTS
            conn.execute(
                update(N)
                .where(N.c.id.in_(group))
                .values(
                    status="failed" if final else "pending",
                    attempts=attempts,
                    next_attempt_at=now if final else now + backoff(attempts),
                    last_error=error[:1000],
                    claimed_at=None,
                )
            )
            if final:
                result.failed += len(group)
            else:
                result.retried += len(group)


# --------------------------------------------------------------------------- weekly digest


def digest_round(app: Followup, now: datetime) -> tuple[str, datetime]:
    """This week's digest identity (ISO week) and the moment it becomes due."""
    local = as_utc(now).astimezone(app.settings.zone)
    year, week, _ = local.isocalendar()
    weekday, clock = app.settings.digest_schedule
    monday = local.date() - timedelta(days=local.weekday())
    due = datetime.combine(monday + timedelta(days=weekday), clock, tzinfo=app.settings.zone)
    return f"{year}-W{week:02d}", due


def queue_digests(app: Followup, now: datetime) -> int:
    """Queue this week's digest for every official who has projects to report; idempotent."""
    round_, due = digest_round(app, now)
    if as_utc(now) < due:
        return 0
    with app.store.transaction() as session:
        conn = session.connection()
        active = select(P.c.officer_id.label("who")).where(P.c.stage.notin_([TERMINATED]))
        leaders = select(P.c.leader_id.label("who")).where(
            P.c.stage.notin_([TERMINATED]), P.c.leader_id.is_not(None)
        )
        heads = (
            select(Official.id.label("who"))
            .join(P, P.c.unit_id == Official.unit_id)
            .where(Official.is_head.is_(True), P.c.stage.notin_([TERMINATED]))
        )
        people = {row[0] for q in (active, leaders, heads) for row in conn.execute(q)}
        active_ids = set(conn.execute(select(Official.id).where(Official.active.is_(True))).scalars())
        rows = [
            {
                "project_id": None,
                "stage_seq": 0,
                "kind": "digest",
                "round": round_,
                "level": "digest",
                "repeat_no": 0,
                "recipient_id": who,
                "role": "digest",
                "status": "pending",
                "attempts": 0,
                "due_at": due,
                "created_at": now,
                "next_attempt_at": now,
            }
            for who in sorted(people & active_ids)
        ]
        if not rows:
            return 0
        return len(conn.execute(_insert_ignoring_duplicates(conn), rows).all())


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class OutboxRow:
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


def list_outbox(app: Followup, *, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
    statuses = ("pending", "sending", "sent", "failed", "obsolete")
    if status is not None and status not in statuses:
        from followup.errors import InvalidInput

        raise InvalidInput(f"unknown status {status!r}; allowed: {', '.join(statuses)}")
    zone = app.settings.zone
    with app.store.reading() as session:
        query = (
            select(
                N,
                Official.key.label("who_key"),
                Official.name.label("who_name"),
                Official.email.label("who_email"),
            )
            .join(Official, Official.id == N.c.recipient_id)
            .order_by(N.c.id.desc())
            .limit(limit)
        )
        if status:
            query = query.where(N.c.status == status)
        out = []
        for row in session.connection().execute(query):
            m = row._mapping
            out.append(
                OutboxRow(
                    {
                        "id": m["id"],
                        "project_id": m["project_id"],
                        "kind": m["kind"],
                        "level": m["level"],
                        "repeat_no": m["repeat_no"],
                        "recipient": {"key": m["who_key"], "name": m["who_name"], "email": m["who_email"]},
                        "role": m["role"],
                        "status": m["status"],
                        "attempts": m["attempts"],
                        "due_at": show(m["due_at"], zone),
                        "created_at": show(m["created_at"], zone),
                        "next_attempt_at": show(m["next_attempt_at"], zone),
                        "sent_at": show(m["sent_at"], zone),
                        "last_error": m["last_error"],
                        "message_id": m["message_id"],
                    }
                )
            )
        return list(reversed(out))


@dataclass
class StatusBoard:
    now: str
    units: list[dict[str, Any]]
    totals: dict[str, int]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now, "units": self.units, "totals": self.totals, "warnings": self.warnings}


def status_board(app: Followup, now: datetime) -> StatusBoard:
    """Green/blue/yellow/red/top counts by unit, stale counts, and warnings about the system itself."""
    zone = app.settings.zone
    counts: dict[str, dict[str, int]] = {}
    names: dict[str, str] = {}
    totals = dict.fromkeys((*LIGHTS, "stale", "on_hold"), 0)
    deadline_years: set[int] = set()
    memo: Memo = {}
    seen: set[tuple[str, str, date]] = set()
    with app.store.reading() as session:
        conn = session.connection()
        rows = conn.execute(
            select(
                *(P.c[name] for name in ProjectClock.COLUMNS),
                Unit.key,
                Unit.name,
            )
            .join(Unit, Unit.id == P.c.unit_id)
            .where(P.c.stage != TERMINATED)
        ).all()
        for row in rows:
            unit = counts.setdefault(row.key, dict.fromkeys((*LIGHTS, "stale", "on_hold"), 0))
            names[row.key] = row.name
            if row.stage == ON_HOLD:
                unit["on_hold"] += 1
                totals["on_hold"] += 1
                continue
            workflow = app.workflows.get(row.workflow)
            if workflow.is_final(row.stage):
                continue
            assessment = assess(
                workflow,
                ProjectClock.from_row(row),
                now,
                app.calendar,
                zone,
                memo,
            )
            unit[assessment.light] += 1
            totals[assessment.light] += 1
            if assessment.stale_since:
                unit["stale"] += 1
                totals["stale"] += 1
            if row.deadline is not None and (row.workflow, row.stage, row.deadline) not in seen:
                seen.add((row.workflow, row.stage, row.deadline))
                deadline_years.add(row.deadline.year)
                for level in workflow.ladder_for(row.stage):
                    deadline_years.add(level.at.apply(row.deadline, app.calendar).year)
        failed = conn.execute(select(func.count()).select_from(N).where(N.c.status == "failed")).scalar_one()
        stuck = conn.execute(
            select(func.count())
            .select_from(N)
            .where(N.c.status.in_(("pending", "sending")), N.c.created_at < now - timedelta(days=1))
        ).scalar_one()
    warnings: list[str] = []
    uncovered = sorted(y for y in deadline_years | {local_day(now, zone).year} if not app.calendar.covers(y))
    if uncovered:
        warnings.append(
            f"no official holiday calendar for {', '.join(map(str, uncovered))}: working days there are "
            f"counted as plain weekdays; declare them in a county calendar file (FOLLOWUP_CALENDAR_FILE)"
        )
    if failed:
        warnings.append(f"{failed} notifications failed for good: see `followup outbox --status failed`")
    if stuck:
        warnings.append(f"{stuck} notifications have waited more than a day: is `followup send` running?")
    units = [{"key": key, "name": names[key], **value} for key, value in sorted(counts.items())]
    return StatusBoard(show(now, zone) or "", units, totals, warnings)
