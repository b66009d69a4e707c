"""Escalation: queue what the ladder owes (sweep), the weekly digest, and delivery (send).

All three are state-based and idempotent functions of the database and the runtime's now; the daemon
only triggers them. Queuing and the project's next look are written in one transaction; a
notification's identity (``domain.notices``, a unique index) makes a second sweep queue nothing.
Sending claims rows, sends over one connection per batch, and records each message as soon as the
server accepted it, so a crash resends at most the one message in flight. Failures are data: attempts,
next attempt with bounded backoff, last error, and a final ``failed`` after the retry budget.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from followup.app.runtime import Runtime
from followup.app.views import View, renamed
from followup.domain.kinds import NoticeKind, NoticeStatus
from followup.domain.ladder import Memo, assess
from followup.domain.notices import NoticeKey, ProjectClock
from followup.domain.timeutil import as_utc
from followup.errors import DeliveryError
from followup.store import queries

if TYPE_CHECKING:
    from followup.app.letters import Letter

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=2)  # a claim older than this was left by a crashed sender
BATCH = 500


@dataclass
class SweepResult(View):
    looked_at: int = 0
    queued: int = 0
    planned: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SendResult(View):
    sent: int = 0
    messages: int = 0
    retried: int = 0
    failed: int = 0
    obsolete: int = 0
    skipped_reason: str | None = renamed("skipped", default=None)


# --------------------------------------------------------------------------- sweep


def sweep(rt: Runtime, *, dry_run: bool = False) -> SweepResult:
    """Queue every notification owed now; looks only at projects whose next look is due."""
    now = rt.now()
    result = SweepResult()
    with rt.store.transaction() as session:
        conn = session.connection()
        due = queries.due_projects(conn, now)
        result.looked_at = len(due)
        if not due:
            return result
        roster = queries.load_roster(conn)
        memo: Memo = {}
        stored = queries.storing(conn)
        rows: list[dict[str, Any]] = []
        looks: list[dict[str, Any]] = []
        for p in due:
            assessment = assess(
                rt.workflows.get(p.workflow), ProjectClock.from_row(p), now, rt.calendar, rt.zone, memo
            )
            for owed in assessment.owed:
                for role, person in roster.resolve(owed.roles, p.officer_id, p.unit_id, p.leader_id):
                    rows.append(
                        {
                            "project_id": p.id,
                            **owed.key.columns(),
                            "recipient_id": person,
                            "role": str(role),
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
            shown = ("project_id", "kind", "level", "repeat_no", "recipient_id", "role")
            result.planned = [{k: r[k] for k in shown} for r in rows]
            session.rollback()
            return result
        result.queued = queries.queue(conn, rows, stored(now))
        queries.set_next_looks(conn, looks)
    if result.queued:
        log.info(
            "sweep at %s: %d projects due, %d notifications queued", now.isoformat(), len(due), result.queued
        )
    return result


# --------------------------------------------------------------------------- weekly digest


def digest_round(rt: Runtime) -> tuple[NoticeKey, datetime]:
    """This week's digest identity (ISO week) and the moment it becomes due."""
    local = as_utc(rt.now()).astimezone(rt.zone)
    year, week, _ = local.isocalendar()
    weekday, clock = rt.settings.digest_schedule
    monday = local.date() - timedelta(days=local.weekday())
    due = datetime.combine(monday + timedelta(days=weekday), clock, tzinfo=rt.zone)
    return NoticeKey.digest(year, week), due


def queue_digests(rt: Runtime) -> int:
    """Queue this week's digest for every official who has projects to report; idempotent."""
    now = rt.now()
    key, due = digest_round(rt)
    if as_utc(now) < due:
        return 0
    with rt.store.transaction() as session:
        conn = session.connection()
        rows = [
            {
                "project_id": None,
                **key.columns(),
                "recipient_id": who,
                "role": NoticeKind.DIGEST.value,
                "status": NoticeStatus.PENDING.value,
                "attempts": 0,
                "due_at": due,
                "created_at": now,
                "next_attempt_at": now,
            }
            for who in sorted(queries.digest_recipients(conn))
        ]
        return queries.queue_digests(conn, rows)


# --------------------------------------------------------------------------- send


def in_work_hours(rt: Runtime, now: datetime) -> bool:
    local = as_utc(now).astimezone(rt.zone)
    opening, closing = rt.settings.work_hours
    return rt.calendar.is_workday(local.date()) and opening <= local.time().replace(tzinfo=None) < closing


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, at most an hour."""
    delay: timedelta = min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
    return delay


def send(rt: Runtime, *, ignore_hours: bool = False) -> SendResult:
    """Deliver what is due: one message per recipient (several notifications are consolidated),
    all over one connection; each recorded as soon as the server took it."""
    from followup.app.letters import build_messages  # the templates and the mail only when sending
    from followup.mail.transport import transport_for

    now = rt.now()
    result = SendResult()
    if not ignore_hours and not in_work_hours(rt, now):
        result.skipped_reason = "outside working hours"
        return result
    with rt.store.transaction() as session:
        ids = queries.claim(session.connection(), now, CLAIM_LEASE, BATCH)
    if not ids:
        return result
    letters, obsolete = build_messages(rt, ids, now)
    if obsolete:
        with rt.store.transaction() as session:
            queries.mark_obsolete(session.connection(), obsolete)
        result.obsolete = len(obsolete)
    if not letters:
        return result
    pending = {letter.message.message_id: letter for letter in letters}
    started = last_renewal = time.monotonic()
    try:
        with transport_for(rt.settings, now=now) as transport:
            for key, letter in list(pending.items()):
                if time.monotonic() - last_renewal > CLAIM_LEASE.total_seconds() / 4:
                    # a long batch keeps its claim, so another sender never takes rows still in hand
                    last_renewal = time.monotonic()
                    _renew_claim(rt, pending.values(), now + timedelta(seconds=last_renewal - started))
                try:
                    transport.send(letter.message)
                except DeliveryError as exc:
                    # One message's trouble. When the connection itself is lost, the transport fails
                    # each remaining message at once without trying, so the batch ends quickly.
                    _record_failure(rt, letter.ids, now, str(exc), permanent=exc.permanent, result=result)
                    pending.pop(key)
                    continue
                with rt.store.transaction() as session:
                    queries.mark_sent(session.connection(), letter.ids, letter.message.message_id, now)
                result.sent += len(letter.ids)
                result.messages += 1
                pending.pop(key)
    except DeliveryError as exc:  # could not connect or log in: nothing of the batch was tried
        for letter in pending.values():
            _record_failure(rt, letter.ids, now, str(exc), permanent=False, result=result)
        log.warning("delivery interrupted: %s; %d messages wait for a retry", exc, len(pending))
    return result


def _renew_claim(rt: Runtime, letters: Iterable[Letter], at: datetime) -> None:
    with rt.store.transaction() as session:
        queries.renew_claim(session.connection(), [i for letter in letters for i in letter.ids], at)


def _record_failure(
    rt: Runtime, ids: Sequence[int], now: datetime, error: str, *, permanent: bool, result: SendResult
) -> None:
    """Count the attempt; requeue with backoff, or give up after the budget or a permanent refusal.
    Rows of one message can differ in attempts (a consolidated message): one update per count."""
    with rt.store.transaction() as session:
        conn = session.connection()
        by_attempts: dict[int, list[int]] = defaultdict(list)
        for row_id, attempts in queries.attempts_of(conn, ids).items():
            by_attempts[attempts + 1].append(row_id)
        for attempts, group in by_attempts.items():
            final = permanent or attempts >= MAX_ATTEMPTS
            retry_at = now if final else now + backoff(attempts)
            queries.mark_failed_attempt(conn, group, attempts, error, final=final, retry_at=retry_at)
            if final:
                result.failed += len(group)
            else:
                result.retried += len(group)
