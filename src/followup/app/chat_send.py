"""Deliver the work chats' cards (issue 11): claim what is due within each robot's rate (at most 20
cards in any 60 s, by the sender's ``now``: the rest wait, never dropped), build each card, post it,
record it — on its own path beside the mail, so that neither one's failure holds the other up.

The outbox rules are the mail's (``app.delivery``): a claim under a token with a lease the database's
clock measures, renewed before each card; a record names the token; a card refused costs an attempt
(backoff 1, 2, 4 … minutes, ``failed`` after the budget or a permanent refusal: a bad token, a removed
robot); a robot out of reach or over its rate costs none (deferred a minute); a card posted without an
answer is ``unknown`` and tried again after an hour (a second copy is preferred to a lost warning).
Outside working hours nothing goes. A card whose project has moved on (``NoticeKey.is_obsolete``) or
that a newer card of its ladder supersedes is ``obsolete``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from followup.app import chat_cards
from followup.app.chat_queue import any_channels, queue_chat
from followup.app.delivery import MAX_ATTEMPTS, UNKNOWN_WAIT, backoff, in_work_hours
from followup.app.runtime import Runtime
from followup.app.views import View, renamed
from followup.chat import transport
from followup.chat.transport import Robot, post, resolve_secret
from followup.domain.kinds import NoticeKind, NoticeStatus
from followup.domain.notices import NoticeKey, ProjectClock
from followup.errors import DeliveryError, FollowupError, NotTried, OutcomeUnknown
from followup.i18n import N_
from followup.store import chatting
from followup.store.models import Project, Unit

log = logging.getLogger(__name__)

BATCH = 200
DEFERRAL_WAIT = timedelta(minutes=1)


@dataclass
class ChatResult(View):
    queued: int = 0  # cards newly queued from the mail outbox
    sent: int = 0
    retried: int = 0
    failed: int = 0
    obsolete: int = 0
    deferred: int = 0  # not tried: the robot out of reach or over its rate (no attempt counted)
    unknown: int = 0
    skipped_reason: str | None = renamed("skipped", default=None)
    error: str | None = None

    @property
    def undelivered(self) -> int:
        return self.retried + self.failed + self.deferred + self.unknown


def send_chat(
    rt: Runtime,
    *,
    ignore_hours: bool = False,
    stop: threading.Event | None = None,
    sign_clock: Callable[[], datetime] | None = None,
) -> ChatResult:
    """Queue the cards the mail outbox owes the groups, then post what is due. ``sign_clock``: the
    clock signatures are made by (default the real one: the platforms check it within an hour)."""
    now = rt.now()
    if not any_channels(rt):
        return ChatResult()  # no robot: nothing to queue, claim or post
    result = ChatResult(queued=queue_chat(rt))
    if not ignore_hours and not in_work_hours(rt, now):
        result.skipped_reason = N_("outside working hours")
        return result
    with rt.store.transaction() as session:
        token, ids = chatting.claim(session.connection(), now, rt.settings.claim_lease, BATCH)
    if not ids:
        return result
    batch = _Batch(rt, now, token, ids, result)
    try:
        ready = batch.build()
        with transport.client() as client:
            batch.deliver(client, ready, stop, sign_clock or (lambda: datetime.now(UTC)))
    finally:
        batch.release_rest()
    if result.sent or result.undelivered:
        log.info("chat: %d cards sent, %d not delivered (%s)", result.sent, result.undelivered, result.error)
    return result


class _Batch:
    """One sender's claimed cards; every record names its token."""

    def __init__(
        self, rt: Runtime, now: datetime, token: str, ids: Sequence[int], result: ChatResult
    ) -> None:
        self.rt, self.now, self.token, self.result = rt, now, token, result
        self.held = set(ids)

    def record(self, ids: Sequence[int], **values: Any) -> int:
        with self.rt.store.transaction() as session:
            done = chatting.settle(session.connection(), ids, self.token, **values)
        self.held.difference_update(ids)
        return done

    def build(self) -> list[tuple[int, Robot, Any]]:
        """(id, robot, card) of each claimed card still owed; the obsolete ones recorded as such."""
        ready: list[tuple[int, Robot, Any]] = []
        gone: list[int] = []
        with self.rt.store.reading() as session:
            conn = session.connection()
            rows = chatting.claimed(conn, self.held)
            superseded = chatting.newer_of_ladder(conn, self.held)
            # the batch's projects and units in two reads: the cards below find them in the session
            projects = {r.project_id for r in rows if r.project_id}
            session.scalars(select(Project).where(Project.id.in_(projects))).all()
            session.scalars(select(Unit).where(Unit.id.in_({r.unit_id for r in rows}))).all()
            for row in rows:
                if row.id in superseded or _obsolete(session, row):
                    gone.append(row.id)
                    continue
                try:
                    robot = Robot(row.channel_kind, row.webhook, resolve_secret(row.secret), row.mention_by)
                except DeliveryError as exc:
                    self.fail([row.id], str(exc), permanent=False)
                    continue
                ready.append((row.id, robot, chat_cards.card_for(self.rt, session, row, self.now)))
        if gone:
            self.result.obsolete += self.record(gone, status=NoticeStatus.OBSOLETE.value)
        return ready

    def deliver(
        self,
        client: Any,  # the transport's client (chat.transport.client)
        ready: list[tuple[int, Robot, Any]],
        stop: threading.Event | None,
        clock: Any,
    ) -> None:
        down: dict[str, str] = {}  # robots out of reach in this batch: the rest of their cards wait
        for row_id, robot, card in ready:
            if stop is not None and stop.is_set():
                return
            if robot.webhook in down:
                self.defer([row_id], down[robot.webhook])
                continue
            with self.rt.store.transaction() as session:
                mine = chatting.renew(session.connection(), self.held, self.token)
                still = chatting.renew(session.connection(), [row_id], self.token)
            if not still:
                log.warning("chat card %d was taken over by another sender (%d still held)", row_id, mine)
                self.held.discard(row_id)
                continue
            try:
                post(client, robot, card, clock())
            except NotTried as exc:
                down[robot.webhook] = str(exc)
                self.defer([row_id], str(exc))
            except OutcomeUnknown as exc:
                self.result.unknown += self.record(
                    [row_id],
                    status=NoticeStatus.UNKNOWN.value,
                    attempts=chatting.C.c.attempts + 1,
                    next_attempt_at=self.now + UNKNOWN_WAIT,
                    last_error=str(exc)[:1000],
                )
                self.result.error = str(exc)
            except DeliveryError as exc:
                self.fail([row_id], str(exc), permanent=exc.permanent)
            else:
                self.result.sent += self.record(
                    [row_id],
                    status=NoticeStatus.SENT.value,
                    sent_at=self.now,
                    attempts=chatting.C.c.attempts + 1,
                    last_error=None,
                )

    def defer(self, ids: Sequence[int], error: str) -> None:
        self.result.deferred += self.record(
            ids,
            status=NoticeStatus.PENDING.value,
            next_attempt_at=self.now + DEFERRAL_WAIT,
            last_error=error[:1000],
        )
        self.result.error = error

    def fail(self, ids: Sequence[int], error: str, *, permanent: bool) -> None:
        with self.rt.store.reading() as session:
            counts = chatting.attempts_of(session.connection(), ids)
        for row_id, attempts in counts.items():
            final = permanent or attempts + 1 >= MAX_ATTEMPTS
            done = self.record(
                [row_id],
                status=NoticeStatus.FAILED.value if final else NoticeStatus.PENDING.value,
                attempts=attempts + 1,
                next_attempt_at=self.now if final else self.now + backoff(attempts + 1),
                last_error=error[:1000],
            )
            if final:
                self.result.failed += done
            else:
                self.result.retried += done
        self.result.error = error

    def release_rest(self) -> None:
        if not self.held:
            return
        try:
            self.record(sorted(self.held), status=NoticeStatus.PENDING.value)
        except FollowupError as exc:  # the database is away: the lease gives them back later
            log.error("could not give back %d claimed chat cards: %s", len(self.held), exc)


def _obsolete(session: Any, row: Any) -> bool:
    """Whether the card no longer applies to its project as it is now (see ``NoticeKey.is_obsolete``)."""
    if not row.project_id or row.kind in (NoticeKind.DIGEST.value, NoticeKind.BULLETIN.value):
        return False
    project = session.get(Project, row.project_id)
    clock = None if project is None or project.voided_at is not None else ProjectClock.from_row(project)
    return NoticeKey.from_row(row).is_obsolete(clock)
