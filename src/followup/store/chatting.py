"""The chat outbox's SQL: channels, queuing cards with insert-ignore, claiming within each robot's rate
limit, and recording outcomes — the same lease and token rules as ``queries`` for mail: a lease is
counted by the database's clock, every record names the claim's token.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, func, select, update
from sqlalchemy.engine import Connection

from followup.domain.kinds import NoticeStatus
from followup.store.models import Channel, ChatMessage, Notification, Official
from followup.store.queries import _db_ago, db_now

C: Table = ChatMessage.__table__  # type: ignore[assignment]
CH: Table = Channel.__table__  # type: ignore[assignment]
N: Table = Notification.__table__  # type: ignore[assignment]

SENDING = NoticeStatus.SENDING.value
PENDING = NoticeStatus.PENDING.value
CLAIMABLE = (PENDING, NoticeStatus.UNKNOWN.value)
#: what a group robot takes: at most RATE messages in any WINDOW
RATE = 20
WINDOW = timedelta(seconds=60)
IDENTITY = ("project_id", "stage_seq", "kind", "round", "level", "repeat_no", "channel_id")


def _insert(conn: Connection) -> Any:
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(C)
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(C)


def active_channels(conn: Connection) -> dict[int, list[int]]:
    """The active channels by unit id."""
    out: dict[int, list[int]] = defaultdict(list)
    for cid, unit_id in conn.execute(
        select(CH.c.id, CH.c.unit_id).where(CH.c.active.is_(True)).order_by(CH.c.id)
    ):
        out[unit_id].append(cid)
    return dict(out)


def recent_notifications(conn: Connection, since: datetime, kinds: Collection[str]) -> Sequence[Any]:
    """Notifications queued since ``since`` (not obsolete) of ``kinds``, with their recipient's unit and
    chat identity."""
    return conn.execute(
        select(
            *(N.c[k] for k in IDENTITY if k != "channel_id"),
            N.c.recipient_id,
            Official.unit_id,
            Official.notify,
        )
        .join(Official, Official.id == N.c.recipient_id)
        .where(
            N.c.created_at >= since,
            N.c.status != NoticeStatus.OBSOLETE.value,
            N.c.kind.in_(list(kinds)),
        )
        .order_by(N.c.id)
    ).all()


def queue(conn: Connection, rows: Sequence[dict[str, Any]], now: datetime) -> int:
    """Insert pending cards, ignoring those already queued (the identity); how many were new."""
    if not rows:
        return 0
    values = [
        {**r, "status": PENDING, "attempts": 0, "created_at": now, "next_attempt_at": now} for r in rows
    ]
    done = conn.execute(_insert(conn).on_conflict_do_nothing().returning(C.c.id), values).all()
    return len(done)


def _budgets(conn: Connection, now: datetime) -> dict[int, tuple[int, list[datetime]]]:
    """Per channel with something due: how many more it may take now, and its sends in the window
    (the sender's ``now``), a row being sent counting as sent now."""
    due = select(C.c.channel_id).where(C.c.status.in_(CLAIMABLE), C.c.next_attempt_at <= now).distinct()
    channels = list(conn.execute(due).scalars())
    out: dict[int, tuple[int, list[datetime]]] = {}
    for cid in channels:
        sent = [
            t
            for (t,) in conn.execute(
                select(C.c.sent_at).where(
                    C.c.channel_id == cid, C.c.sent_at > now - WINDOW, C.c.sent_at <= now
                )
            )
        ]
        busy = conn.execute(
            select(func.count()).where(C.c.channel_id == cid, C.c.status == SENDING)
        ).scalar_one()
        times = sorted(sent) + [now] * int(busy)
        out[cid] = (max(0, RATE - len(times)), times)
    return out


def claim(conn: Connection, now: datetime, lease: float, batch: int) -> tuple[str, list[int]]:
    """Take due cards under a fresh token, at most what each robot's rate allows now; the cards of a
    robot beyond its rate wait (next attempt: when its window frees). Stale claims are taken back."""
    conn.execute(
        update(C)
        .where(C.c.status == SENDING, C.c.claimed_at < _db_ago(conn, lease))
        .values(status=PENDING, claim_token=None)
    )
    ids: list[int] = []
    for cid, (budget, times) in _budgets(conn, now).items():
        query = (
            select(C.c.id)
            .where(C.c.channel_id == cid, C.c.status.in_(CLAIMABLE), C.c.next_attempt_at <= now)
            .order_by(C.c.id)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        due = list(conn.execute(query).scalars())
        take = due[: min(budget, max(0, batch - len(ids)))]
        ids += take
        rest = due[len(take) :]
        if rest:
            window = sorted(times + [now] * len(take))
            free = window[-RATE] + WINDOW if len(window) >= RATE else now + WINDOW
            conn.execute(update(C).where(C.c.id.in_(rest)).values(next_attempt_at=max(free, now)))
    token = secrets.token_hex(16)
    if ids:
        conn.execute(
            update(C)
            .where(C.c.id.in_(ids))
            .values(status=SENDING, claimed_at=db_now(conn), claim_token=token)
        )
    return token, ids


def claimed(conn: Connection, ids: Collection[int]) -> Sequence[Any]:
    """The claimed cards with their channel."""
    return conn.execute(
        select(C, CH.c.unit_id, CH.c.kind.label("channel_kind"), CH.c.webhook, CH.c.secret, CH.c.mention_by)
        .join(CH, CH.c.id == C.c.channel_id)
        .where(C.c.id.in_(list(ids)))
        .order_by(C.c.id)
    ).all()


def newer_of_ladder(conn: Connection, ids: Collection[int]) -> set[int]:
    """Of ``ids``, the cards a newer card of the same ladder (project, stage entry, kind, round) to
    the same channel supersedes: it waits, goes or went."""
    older = C.alias("older")
    newer = C.alias("newer")
    query = (
        select(older.c.id)
        .join(
            newer,
            and_(
                newer.c.channel_id == older.c.channel_id,
                newer.c.project_id == older.c.project_id,
                newer.c.stage_seq == older.c.stage_seq,
                newer.c.kind == older.c.kind,
                newer.c.round == older.c.round,
                newer.c.id > older.c.id,
                newer.c.status.in_((PENDING, SENDING, NoticeStatus.SENT.value, NoticeStatus.UNKNOWN.value)),
            ),
        )
        .where(older.c.id.in_(list(ids)), older.c.project_id != 0)
    )
    return set(conn.execute(query).scalars())


def _mine(ids: Collection[int], token: str) -> Any:
    return and_(C.c.id.in_(list(ids)), C.c.status == SENDING, C.c.claim_token == token)


def renew(conn: Connection, ids: Collection[int], token: str) -> int:
    return int(conn.execute(update(C).where(_mine(ids, token)).values(claimed_at=db_now(conn))).rowcount)


def settle(conn: Connection, ids: Collection[int], token: str, **values: Any) -> int:
    """Record an outcome of cards this token holds (status and whatever else); how many it changed."""
    statement = update(C).where(_mine(ids, token)).values(claim_token=None, claimed_at=None, **values)
    return int(conn.execute(statement).rowcount)


def attempts_of(conn: Connection, ids: Collection[int]) -> dict[int, int]:
    return {i: n for i, n in conn.execute(select(C.c.id, C.c.attempts).where(C.c.id.in_(list(ids))))}


def cards_about(
    conn: Connection, project_ids: Collection[int], channel_ids: Collection[int]
) -> Sequence[Any]:
    """The cards (any status) about ``project_ids`` in ``channel_ids``: id, identity, status, mentions."""
    return conn.execute(
        select(C.c.id, *(C.c[k] for k in IDENTITY), C.c.status, C.c.mentions).where(
            C.c.project_id.in_(list(project_ids)), C.c.channel_id.in_(list(channel_ids))
        )
    ).all()


def mark_mail_by_chat(conn: Connection, ids: Collection[int], token: str, note: str) -> int:
    """Record claimed mail notifications (this token's) as owed no mail: ``obsolete``, ``last_error``
    saying which card carries them (``app.chat_only``); how many it changed."""
    statement = (
        update(N)
        .where(N.c.id.in_(list(ids)), N.c.status == SENDING, N.c.claim_token == token)
        .values(status=NoticeStatus.OBSOLETE.value, claim_token=None, claimed_at=None, last_error=note)
    )
    return int(conn.execute(statement).rowcount)


def chat_only_without_robot(conn: Connection) -> list[str]:
    """The keys of active officials who chose the chat only (``notify = 'chat'``) while their unit has no
    active robot: they are mailed instead (``app.chat_only``)."""
    robots = select(CH.c.unit_id).where(CH.c.active.is_(True))
    return list(
        conn.execute(
            select(Official.key)
            .where(Official.active.is_(True), Official.notify == "chat", Official.unit_id.not_in(robots))
            .order_by(Official.key)
        ).scalars()
    )
