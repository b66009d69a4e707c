"""Officials who chose the chat only (``official update … --notify chat``, issue 11): which claimed mail
notifications go to them by their unit group's card instead of a mail.

The sweep still queues their mail outbox rows (the cards are made from those rows, ``app.chat_queue``);
the cut happens when the mail would go out (``app.letters.build_messages``). A claimed notification
goes by chat only — no mail — when all of these hold:

- its recipient's ``notify`` is ``chat``;
- it is about a project and of a kind whose card says everything (:data:`BY_CHAT`: a stage's or a
  hold's warning, 跟进超时, an overdue problem or 督办 reply). What the card only points at still goes by
  mail: the weekly mail (its card gives the unit's counts and says each official's projects are in the
  mail), the monthly bulletin (its card is the headline; the file is the mail's attachment), a round
  report overdue (its card says "see the mail"), requests, decisions, stranded-project alerts; sign-in
  links never go through the outbox;
- it was never handed to the mail server (no Message-ID): a message handed over once goes again as it was;
- a card of its identity (project, stage entry, kind, round, level, repeat) is in the chat outbox for
  one of its recipient's unit's *active* robots, mentioning the recipient, and not ``failed`` (an
  ``obsolete`` card counts: the chat found nothing left to say, so no mail is owed either). The cards
  are queued first (``chat_queue.queue_chat``, idempotent), so that a mail send before the next sweep's
  hook, or after a robot was added, still finds them.

Otherwise the mail goes as before: nobody is left unreached (a unit without a robot, a robot removed,
a card refused for good, a notification older than the chat queue's look-back).

Such a notification is recorded ``obsolete`` with ``last_error`` "delivered by chat: card N" (shown by
``followup outbox``; no status of its own, so the rules of "Nothing is said twice" are untouched: it is
not the newest live row of its ladder, never a delivery a repeat waits after, never in a mail's
escalation so far — the chat's own outbox supersedes its cards). ``send`` counts it as obsolete.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from followup.app.chat_queue import queue_chat
from followup.app.runtime import Runtime
from followup.domain.kinds import NoticeKind, NoticeStatus
from followup.errors import FollowupError
from followup.store import chatting
from followup.store.models import Official

log = logging.getLogger(__name__)

#: the kinds a chat-only official is told of by the card alone (its card is about one project)
BY_CHAT = frozenset(
    k.value
    for k in (NoticeKind.DEADLINE, NoticeKind.HOLD, NoticeKind.STALE, NoticeKind.PROBLEM, NoticeKind.REPLY)
)
NOTE = "delivered by chat: card {card}"


def _candidate(n: Any, person: Official | None) -> bool:
    """Whether notification ``n`` could go by chat only (before looking for its card)."""
    return (
        person is not None
        and person.notify == "chat"
        and n.kind in BY_CHAT
        and n.project_id is not None
        and n.message_id is None
    )


def by_chat(rt: Runtime, notes: Sequence[Any], people: Mapping[int, Official]) -> dict[int, int]:
    """{notification id: card id} of the claimed ``notes`` that go by their card only (see the module)."""
    candidates = [n for n in notes if _candidate(n, people.get(n.recipient_id))]
    if not candidates:
        return {}
    try:
        queue_chat(rt)  # the cards of rows queued since the last sweep (the weekly job, a robot added)
    except FollowupError as exc:  # what is not found queued goes by mail
        log.error("chat: cards not queued before the mail (those officials get mail): %s", exc)
    with rt.store.reading() as session:
        conn = session.connection()
        channels = chatting.active_channels(conn)
        units = {people[n.recipient_id].unit_id for n in candidates}
        robots = [cid for unit in units for cid in channels.get(unit, ())]
        if not robots:
            return {}
        cards = chatting.cards_about(conn, {n.project_id for n in candidates}, robots)
    found = {tuple(getattr(c, k) for k in chatting.IDENTITY): c for c in cards}
    out: dict[int, int] = {}
    for n in candidates:
        for cid in channels.get(people[n.recipient_id].unit_id, ()):
            card = found.get((n.project_id, n.stage_seq, n.kind, n.round, n.level, n.repeat_no, cid))
            if card is not None and _carries(card, n.recipient_id):
                out[n.id] = card.id
                break
    return out


def _carries(card: Any, recipient: int) -> bool:
    """Whether ``card`` tells ``recipient``: it mentions them and was not refused for good."""
    return bool(card.status != NoticeStatus.FAILED.value and recipient in (card.mentions or ()))


def record(conn: Any, by_card: Mapping[int, int], token: str) -> int:
    """Record the claimed notifications ``by_card`` ({notification: card}) as delivered by chat (this
    token's claim only); how many it changed."""
    cards: dict[int, list[int]] = {}
    for notification, card in by_card.items():
        cards.setdefault(card, []).append(notification)
    return sum(
        chatting.mark_mail_by_chat(conn, ids, token, NOTE.format(card=card)) for card, ids in cards.items()
    )
