"""Queue the work chats' cards (issue 11) from the mail outbox: for every notification queued lately to
an official of a unit with a group robot, one card per identity (project, stage entry, kind, round,
level, repeat) and robot — the notifications of one project and level to several people of a unit
make one card in that unit's group, mentioning those of them who read the chat.

State-based and idempotent like the sweep: it reads the notifications of the last
:data:`LOOKBACK` and inserts with insert-ignore, so running it again (each sweep, each send) queues
nothing twice; a robot added later gets only what is still recent. The sweep calls it at its end
(``escalation.sweep``); ``send_chat`` calls it before it sends, so the weekly summary and the
bulletin, queued outside the sweep, reach the groups too.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from followup.app.runtime import Runtime
from followup.domain.kinds import NoticeKind
from followup.errors import FollowupError
from followup.store import chatting

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=2)
#: what goes to the groups: warnings (a stage's and a hold's ladder, 跟进超时), the supervision's
#: notices (an overdue problem, reply or round report), the weekly summary, the bulletin's headline
CHAT_KINDS = (
    NoticeKind.DEADLINE,
    NoticeKind.HOLD,
    NoticeKind.STALE,
    NoticeKind.PROBLEM,
    NoticeKind.REPLY,
    NoticeKind.ROUND,
    NoticeKind.DIGEST,
    NoticeKind.BULLETIN,
)
#: one card per group for these, whoever the notifications went to
_UNIT_WIDE = (NoticeKind.DIGEST.value, NoticeKind.BULLETIN.value)


def any_channels(rt: Runtime) -> bool:
    """Whether any group robot is active: without one, the chat's path reads and writes nothing."""
    with rt.store.reading() as session:
        return bool(chatting.active_channels(session.connection()))


def queue_chat(rt: Runtime) -> int:
    """Queue the cards owed to the groups now; how many were new."""
    now = rt.now()
    if not any_channels(rt):
        return 0  # no write transaction (on SQLite, the write lock) for a county without robots
    with rt.store.transaction() as session:
        conn = session.connection()
        channels = chatting.active_channels(conn)
        if not channels:
            return 0
        notes = chatting.recent_notifications(conn, now - LOOKBACK, [str(k) for k in CHAT_KINDS])
        rows = cards_owed(notes, channels)
        queued = chatting.queue(conn, rows, now)
    if queued:
        log.info("chat: %d cards queued for %d groups", queued, len({r["channel_id"] for r in rows}))
    return queued


def cards_owed(notes: Any, channels: dict[int, list[int]]) -> list[dict[str, Any]]:
    """The cards ``notes`` make: grouped by identity and the recipient's unit's robots, with the
    recipients to mention (those whose ``notify`` is not ``mail``)."""
    owed: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for n in notes:
        for cid in channels.get(n.unit_id, ()):
            key = (n.project_id or 0, n.stage_seq, n.kind, n.round, n.level, n.repeat_no, cid)
            if n.kind in _UNIT_WIDE:
                owed.setdefault(key, [])
            elif (n.notify or "both") != "mail" and n.recipient_id not in owed[key]:
                owed[key].append(n.recipient_id)
            else:
                owed.setdefault(key, [])
    return [
        {**dict(zip(chatting.IDENTITY, key, strict=True)), "mentions": people or None}
        for key, people in owed.items()
    ]


def after_sweep(rt: Runtime) -> None:
    """The sweep's hook: queue the groups' cards; a failure here is logged, never the sweep's."""
    try:
        queue_chat(rt)
    except FollowupError as exc:
        log.error("chat: cards not queued (the next sweep or send tries again): %s", exc)
