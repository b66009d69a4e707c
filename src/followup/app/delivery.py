"""Delivery: claim what is due, build one message per recipient, hand it to the mail server, record it.

Sending claims rows under a token (a lease the database's clock measures, renewed while the batch
works), sends over one connection per batch, and records each message as soon as the server accepted
it, so a crash resends at most the one message in flight. Failures are data, and who pays for them
depends on where they happened:

* the server refused this message (or the connection broke while its data went out): one attempt;
  retried with backoff (1, 2, 4 … minutes, at most an hour), ``failed`` after :data:`MAX_ATTEMPTS` or
  a permanent refusal; a message that cannot be built fails for good at once, alone;
* the connection failed before a message was tried (cannot connect, greeting or login refused, the
  connection lost before the data): no attempt is counted, whatever the outage's length. After a
  lost connection the batch reconnects, at most :data:`RECONNECTS` times; what is left is deferred
  (``deferrals`` counts it) and due again after :data:`DEFERRAL_WAIT`;
* the data went out but the server never confirmed it: ``unknown``, not resent before
  :data:`UNKNOWN_WAIT` has passed, and then as the same message (same Message-ID).

What goes out at all is ``app.letters``'s call: an obsolete or superseded notification is marked
``obsolete``; a repeat that comes too soon after the last delivery of its ladder, or a reminder with no
news to go with before the weekly mail, is given back with a later due time (``postponed``, no
attempt counted); those of an official who chose the chat only whose card carries them are marked
``obsolete`` with the card named (``app.chat_only``); the rest are built into messages. A claim takes
along the waiting reminders of everyone it has news for (``queries.claim_riders``).

Only the claim's holder records anything: a sender whose claim was taken over sends and records
nothing more. A batch ends at its deadline (``FOLLOWUP_SEND_DEADLINE``) or when ``stop`` is set (the
daemon's SIGTERM), after the message in flight; what it did not try goes back untouched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from followup.app.runtime import Runtime
from followup.app.views import View, renamed
from followup.domain.kinds import NoticeStatus
from followup.domain.timeutil import as_utc
from followup.errors import DeliveryError, FollowupError, InvalidInput, NotTried, OutcomeUnknown
from followup.i18n import N_, _
from followup.store import queries

if TYPE_CHECKING:
    from followup.app.letters import Built, Letter
    from followup.mail.session import Limits
    from followup.mail.transport import Transport

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # refusals of the message itself; connection failures do not count
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
DEFERRAL_WAIT = timedelta(minutes=1)  # after a connection failure: the next run tries again
UNKNOWN_WAIT = timedelta(hours=1)
RECONNECTS = 3  # per batch, after a connection that worked was lost
BATCH = 500


@dataclass
class SendResult(View):
    sent: int = 0
    messages: int = 0
    retried: int = 0
    failed: int = 0
    obsolete: int = 0
    deferred: int = 0  # not tried: the connection failed first (no attempt counted)
    unknown: int = 0  # the server took the data and never confirmed it
    postponed: int = 0  # repeats too soon after the last delivery of their ladder: they wait
    recipients: int = 0  # people who got a message
    digests: int = 0  # messages that carried a weekly mail (周调度 / 督办周报)
    skipped_reason: str | None = renamed("skipped", default=None)
    error: str | None = None  # the last reason something was not delivered

    @property
    def undelivered(self) -> int:
        """Notifications due now that did not reach the server (or may not have)."""
        return self.retried + self.failed + self.deferred + self.unknown


def in_work_hours(rt: Runtime, now: datetime) -> bool:
    local = as_utc(now).astimezone(rt.zone)
    opening, closing = rt.settings.work_hours
    return rt.calendar.is_workday(local.date()) and opening <= local.time().replace(tzinfo=None) < closing


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, at most an hour."""
    delay: timedelta = min(BACKOFF_FIRST * (2 ** min(max(attempts - 1, 0), 20)), BACKOFF_MAX)
    return delay


def send(rt: Runtime, *, ignore_hours: bool = False, stop: threading.Event | None = None) -> SendResult:
    """Deliver what is due: one message per recipient (several notifications are consolidated),
    over one connection; each recorded as soon as the server took it. ``stop`` (set by the daemon on
    SIGTERM) ends the batch after the message in flight."""
    from followup.app.letters import build_messages  # the templates and the mail only when sending

    now = rt.now()
    result = SendResult()
    if not ignore_hours and not in_work_hours(rt, now):
        result.skipped_reason = N_("outside working hours")  # JSON keeps it; the CLI translates it
        return result
    lease = rt.settings.claim_lease
    with rt.store.transaction() as session:
        token, ids = queries.claim(session.connection(), now, lease, BATCH)
        if ids:  # reminders waiting for a later mail go with the news their recipient gets now
            ids += queries.claim_riders(session.connection(), token, now)
    if not ids:
        return result
    batch = _Batch(rt, now, token, ids, result)
    try:
        with _kept(batch, lease):
            _deliver(rt, batch, build_messages(rt, ids, now), stop)
    finally:
        batch.release_rest()  # whatever is still in hand goes back untouched: no row is left `sending`
    return result


class _Batch:
    """One sender's claim: its token, the rows still in hand, and the records of what became of them.
    A record names the token, so a sender whose claim was taken over records nothing."""

    def __init__(
        self, rt: Runtime, now: datetime, token: str, ids: Sequence[int], result: SendResult
    ) -> None:
        self.rt, self.now, self.token, self.result = rt, now, token, result
        self.held = set(ids)
        self.recipients: set[int] = set()
        self.lock = threading.Lock()  # the claim keeper reads `held` from its thread
        self.connection_error: str | None = None

    def _record(self, action: Callable[..., int], ids: Collection[int], *args: Any, **kwargs: Any) -> int:
        with self.rt.store.transaction() as session:
            done = action(session.connection(), ids, self.token, *args, **kwargs)
        with self.lock:
            self.held.difference_update(ids)
        if done < len(ids):
            log.warning("%d of %d notifications were taken over by another sender", len(ids) - done, len(ids))
        return done

    def renew(self, ids: Collection[int] | None = None, message_id: str | None = None) -> int:
        """Keep the claim on ``ids`` (default: all in hand); how many are still ours."""
        with self.lock:
            mine = list(self.held if ids is None else self.held.intersection(ids))
        if not mine:
            return 0
        with self.rt.store.transaction() as session:
            return queries.renew_claim(session.connection(), mine, self.token, message_id)

    def still_mine(self, letter: Letter) -> bool:
        """Right before sending: is every notification of the letter still ours? (If not, another
        sender took them over; it sends them, this one lets go of the rest.) The letter's Message-ID
        is stored with them now: if this sender dies with the message in flight, they go again as
        this very message, which mail systems recognise as a copy."""
        if self.renew(letter.ids, letter.message.message_id) == len(letter.ids):
            return True
        self._record(queries.release, letter.ids)
        return False

    def obsolete(self, ids: Collection[int]) -> None:
        self.result.obsolete += self._record(queries.mark_obsolete, ids)

    def by_chat(self, by_card: dict[int, int]) -> None:
        """Notifications their card carries instead of a mail (``app.chat_only``): obsolete, noted."""
        from followup.app.chat_only import record

        done = self._record(record, by_card)
        self.result.obsolete += done
        log.info("mail: %d notifications go by chat only (their recipients chose it)", done)

    def sent(self, letter: Letter) -> None:
        done = self._record(queries.mark_sent, letter.ids, letter.message.message_id, self.now)
        self.result.sent += done
        self.result.messages += 1
        self.result.digests += letter.weekly
        self.recipients.add(letter.recipient)
        self.result.recipients = len(self.recipients)

    def postpone(self, ids: Collection[int], until: datetime) -> None:
        self.result.postponed += self._record(queries.postpone, ids, until)

    def unknown(self, letter: Letter, error: str) -> None:
        retry_at = self.now + UNKNOWN_WAIT
        self.result.unknown += self._record(
            queries.mark_unknown, letter.ids, letter.message.message_id, error, retry_at
        )
        self.result.error = error

    def fail(self, ids: Collection[int], error: str, *, permanent: bool) -> None:
        """One refused attempt: requeued with backoff, or ``failed`` after the budget or for good.
        Rows of one message can differ in attempts (a consolidated message): one update per count."""
        with self.rt.store.reading() as session:
            counts = queries.attempts_of(session.connection(), ids)
        by_attempts: dict[int, list[int]] = defaultdict(list)
        for row_id, attempts in counts.items():
            by_attempts[attempts + 1].append(row_id)
        for attempts, group in by_attempts.items():
            final = permanent or attempts >= MAX_ATTEMPTS
            retry_at = self.now if final else self.now + backoff(attempts)
            done = self._record(
                queries.mark_failed_attempt, group, attempts, error, final=final, retry_at=retry_at
            )
            if final:
                self.result.failed += done
            else:
                self.result.retried += done
        self.result.error = error

    def defer(self, ids: Collection[int], error: str) -> None:
        """Not tried (the connection failed first): no attempt counted, tried again a minute later
        (a connection attempt costs nothing; mail flows as soon as the server is back)."""
        self.result.deferred += self._record(queries.defer, ids, error, self.now + DEFERRAL_WAIT)
        self.result.error = error

    def release_rest(self) -> None:
        with self.lock:
            rest = list(self.held)
        if not rest:
            return
        try:
            self._record(queries.release, rest)
        except FollowupError as exc:  # the database is away: the lease gives them back later
            log.error("could not give back %d claimed notifications: %s", len(rest), exc)


@contextmanager
def _kept(batch: _Batch, lease: float) -> Iterator[None]:
    """Renew the batch's claim every third of the lease while it works: a single reply may take up to
    ten minutes (RFC 5321), a crashed sender's claim still ends after one lease."""
    done = threading.Event()

    def keep() -> None:
        while not done.wait(lease / 3):
            try:
                batch.renew()
            except FollowupError as exc:
                log.warning("could not renew the claim: %s", exc)

    keeper = threading.Thread(target=keep, name="followup-claim", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        done.set()
        keeper.join()


def _deliver(rt: Runtime, batch: _Batch, built: Built, stop: threading.Event | None) -> None:
    from followup.mail.session import Limits
    from followup.mail.transport import transport_for

    if built.obsolete:
        batch.obsolete(built.obsolete)
    if built.by_chat:
        batch.by_chat(built.by_chat)
    waiting: dict[datetime, list[int]] = defaultdict(list)
    for ids, until in built.waiting:
        waiting[until].extend(ids)
    for until, held_back in waiting.items():
        batch.postpone(held_back, until)
    for ids, error in built.broken:
        batch.fail(ids, error, permanent=True)
    if not built.letters:
        return
    limits = Limits(
        rt.settings.smtp_timeouts, deadline=time.monotonic() + rt.settings.send_deadline, stop=stop
    )
    pending = deque(built.letters)
    transport = transport_for(rt.settings, now=batch.now, limits=limits)
    try:
        _hand_over(batch, transport, pending, limits)
    finally:
        transport.close()
        log.info("mail batch: %d sent, %d failed, via %s", transport.sent, transport.failed, transport.where)
    if pending and batch.connection_error and not limits.stopping():  # stopping: given back untouched
        log.warning(
            "delivery interrupted: %s; %d messages wait for a retry", batch.connection_error, len(pending)
        )
        batch.defer([i for letter in pending for i in letter.ids], batch.connection_error)


def _hand_over(batch: _Batch, transport: Transport, pending: deque[Letter], limits: Limits) -> None:
    """Send the letters in order. The first connection failing ends the batch; a connection lost later
    is reopened at most RECONNECTS times. What is left in ``pending`` was not tried."""
    opened = 0
    lost: set[tuple[int, ...]] = set()  # letters during which the connection was lost once already
    while pending:
        if limits.stopping() or limits.expired():
            log.info("delivery stops: %s", "stop requested" if limits.stopping() else "the batch's deadline")
            return
        letter = pending[0]
        if not transport.connected:
            if opened > RECONNECTS:
                batch.connection_error = f"{batch.connection_error} (after {RECONNECTS} reconnects)"
                return
            opened += 1
            try:
                transport.open()
            except NotTried as exc:
                batch.connection_error = str(exc)
                return
        if not batch.still_mine(letter):
            pending.popleft()
            continue
        try:
            transport.send(letter.message)
        except NotTried as exc:  # the connection failed before this message's data went out
            batch.connection_error = str(exc)
            if transport.connected:
                transport.close()
            if letter.ids in lost and not limits.stopping():
                # Twice in a row: this message seems to break the connection. It waits (no attempt
                # counted) and the others go first, instead of all of them waiting behind it.
                pending.popleft()
                batch.defer(letter.ids, str(exc))
            lost.add(letter.ids)
            continue
        except OutcomeUnknown as exc:
            pending.popleft()
            batch.unknown(letter, str(exc))
            continue
        except DeliveryError as exc:
            pending.popleft()
            batch.fail(letter.ids, str(exc), permanent=exc.permanent)
            continue
        pending.popleft()
        batch.sent(letter)


# --------------------------------------------------------------------------- requeue


@dataclass(frozen=True)
class RetryResult(View):
    requeued: int
    not_requeued: list[int]  # named notifications that were neither failed nor of unknown outcome
    unknown_ids: list[int]  # named ids that are not in the outbox


def retry(rt: Runtime, *, ids: Sequence[int] = (), all_failed: bool = False) -> RetryResult:
    """Requeue ``failed`` notifications (all of them, and/or those named; a named one of unknown
    outcome too) with a fresh retry budget, due now. Their Message-IDs stay what they were."""
    if not ids and not all_failed:
        raise InvalidInput(_("name the notifications to retry: --id N (repeatable) or --all-failed"))
    if any(i < 1 or i >= 2**63 for i in ids):
        raise InvalidInput(_("a notification id is a positive number (see `followup outbox`)"))
    retryable = (NoticeStatus.FAILED.value, NoticeStatus.UNKNOWN.value)
    with rt.store.transaction() as session:
        conn = session.connection()
        found = queries.statuses_of(conn, ids) if ids else {}
        requeued = queries.requeue(conn, list(found), retryable, rt.now()) if found else 0
        if all_failed:
            requeued += queries.requeue(conn, None, (NoticeStatus.FAILED.value,), rt.now())
    return RetryResult(
        requeued=requeued,
        not_requeued=sorted(i for i, status in found.items() if status not in retryable),
        unknown_ids=sorted(set(ids) - set(found)),
    )
