"""Delivery: claim what is due, build one message per recipient, hand it to the mail server, record it.

Sending claims rows, sends over one connection per batch, and records each message as soon as the
server accepted it, so a crash resends at most the one message in flight. Failures are data: attempts,
next attempt with bounded backoff, last error, and a final ``failed`` after the retry budget.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from followup.app.runtime import Runtime
from followup.app.views import View, renamed
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
class SendResult(View):
    sent: int = 0
    messages: int = 0
    retried: int = 0
    failed: int = 0
    obsolete: int = 0
    skipped_reason: str | None = renamed("skipped", default=None)


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
