"""The escalation's SQL, in one place: due projects, the roster, queuing with insert-ignore, the next
look, claiming, renewing, and recording deliveries; the reads behind the board and the outbox (a mail's
own reads are in ``mailing``).

SQLAlchemy Core on the connection of the caller's transaction: these run by the thousand in a sweep,
so they bind prepared values (:func:`storing`) and touch only the columns they need.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import DateTime, Row, Table, TypeDecorator, and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from followup.domain.kinds import NoticeKind, NoticeStatus
from followup.domain.notices import ProjectClock
from followup.domain.roster import Roster
from followup.domain.workflow import TERMINATED
from followup.store.models import Notification, Official, OfficialRole, Project, Unit, UTCDateTime

#: rows of any shape (SQLAlchemy 2.1 types a row by its columns)
Rows = Sequence[Row[*tuple[Any, ...]]]

P: Table = Project.__table__  # type: ignore[assignment]
N: Table = Notification.__table__  # type: ignore[assignment]


class _Stored(TypeDecorator[Any]):
    """A UTC instant already in the form the driver takes (see :func:`storing`): bound as it is."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Any) -> None:
        return None


def storing(conn: Connection) -> Callable[[datetime | None], Any]:
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


def _insert(conn: Connection) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING, in the connection's dialect. The dialect modules
    are imported here, not at the top: importing both costs every CLI command ~25 ms."""
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(N)
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(N)


# --------------------------------------------------------------------------- the sweep


def due_projects(conn: Connection, now: datetime) -> Rows:
    """The projects whose next look has come (the partial index on next_escalation_at)."""
    return conn.execute(
        select(
            P.c.id,
            *(P.c[name] for name in ProjectClock.COLUMNS),
            P.c.officer_id,
            P.c.unit_id,
            P.c.leader_id,
            P.c.version,
        ).where(P.c.next_escalation_at <= now)
    ).all()


def load_roster(conn: Connection) -> Roster:
    active = frozenset(conn.execute(select(Official.id).where(Official.active.is_(True))).scalars())
    heads: dict[int, list[int]] = defaultdict(list)
    for row in conn.execute(
        select(Official.id, Official.unit_id).where(Official.active.is_(True), Official.is_head.is_(True))
    ):
        heads[row.unit_id].append(row.id)
    holders: dict[str, list[int]] = defaultdict(list)
    for holder, role in conn.execute(
        select(OfficialRole.official_id, OfficialRole.role).order_by(OfficialRole.official_id)
    ):
        if holder in active:
            holders[role].append(holder)
    return Roster(active, dict(heads), dict(holders))


def _executemany(conn: Connection, statement: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Run ``statement`` for every row through the driver's executemany, compiled once; returns how
    many rows it changed. The values must already be in the driver's form (:func:`storing`): this skips
    SQLAlchemy's per-row parameter processing, a third of a sweep over thousands of projects."""
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(rows[0]))
    fixed = compiled.params  # the values written into the statement itself
    params: list[Any]
    if compiled.positional:
        order = compiled.positiontup or []
        params = [tuple(row[k] if k in row else fixed[k] for k in order) for row in rows]
    else:
        params = [{**fixed, **row} for row in rows]
    return int(conn.exec_driver_sql(str(compiled), params).rowcount)


def queue(conn: Connection, rows: Sequence[dict[str, Any]], now_stored: Any) -> int:
    """Insert pending notifications, ignoring those already queued (the identity's unique index);
    each row binds ``due_at_stored``. Returns how many were new."""
    if not rows:
        return 0
    at_now = bindparam("now_stored", now_stored, type_=_Stored())
    insert = _insert(conn).values(
        status=NoticeStatus.PENDING.value,
        attempts=0,
        created_at=at_now,
        next_attempt_at=at_now,
        due_at=bindparam("due_at_stored", type_=_Stored()),
    )
    return _executemany(conn, insert.on_conflict_do_nothing(), rows)


def queue_digests(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert this week's digests, ignoring those already queued; returns how many were new."""
    if not rows:
        return 0
    return len(conn.execute(_insert(conn).on_conflict_do_nothing().returning(N.c.id), rows).all())


def set_next_looks(conn: Connection, looks: Sequence[dict[str, Any]]) -> None:
    """Store each project's level and next look (``pid``, ``seen_version``, ``new_level``,
    ``next_at_stored``). A project changed by someone else meanwhile was already rescheduled by that
    change: the version guard leaves it alone."""
    if not looks:
        return
    statement = (
        update(P)
        .where(and_(P.c.id == bindparam("pid"), P.c.version == bindparam("seen_version")))
        .values(level=bindparam("new_level"), next_escalation_at=bindparam("next_at_stored", type_=_Stored()))
    )
    _executemany(conn, statement, looks)


# --------------------------------------------------------------------------- delivery
#
# A lease is counted by the database's clock, never the caller's (which may be replayed, or minutes
# off on another machine), and every record after a claim names the claim's token: a sender whose
# claim was taken over records nothing. Each record returns how many rows it changed.

SENDING = NoticeStatus.SENDING.value
#: what a sender may claim (a message of unknown outcome, once its hour has passed)
CLAIMABLE = (NoticeStatus.PENDING.value, NoticeStatus.UNKNOWN.value)
#: the partial index ix_notifications_pending holds these: a query names them so that SQLite uses it
_WAITING = (NoticeStatus.PENDING.value, SENDING, NoticeStatus.UNKNOWN.value)
_SQLITE_NOW = "%Y-%m-%d %H:%M:%f000"  # UTCDateTime's form on SQLite (microseconds)
_RUNGS = (NoticeKind.DEADLINE.value, NoticeKind.HOLD.value)  # the kinds whose repeats are reminders


def db_now(conn: Connection) -> Any:
    """The database's own clock (SQLite: the clock of the machine that holds the file)."""
    if conn.dialect.name == "postgresql":
        return func.clock_timestamp()
    return func.strftime(_SQLITE_NOW, "now")


def _db_ago(conn: Connection, seconds: float) -> Any:
    if conn.dialect.name == "postgresql":
        return func.clock_timestamp() - bindparam("lease", timedelta(seconds=seconds))
    return func.strftime(_SQLITE_NOW, "now", f"-{seconds:.3f} seconds")


def claim(conn: Connection, now: datetime, lease: float, batch: int) -> tuple[str, list[int]]:
    """Take up to ``batch`` due rows under a fresh claim token: (token, ids). Rows whose claim was
    not renewed for ``lease`` seconds (their sender crashed) are taken back first."""
    conn.execute(
        update(N)
        .where(N.c.status == SENDING, N.c.claimed_at < _db_ago(conn, lease))
        .values(status=NoticeStatus.PENDING.value, claim_token=None)
    )
    query = (
        select(N.c.id)
        .where(N.c.status.in_(_WAITING), N.c.status.in_(CLAIMABLE), N.c.next_attempt_at <= now)
        .order_by(N.c.recipient_id, N.c.id)
        .limit(batch)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.execute(query).scalars())
    token = secrets.token_hex(16)
    if ids:
        conn.execute(
            update(N)
            .where(N.c.id.in_(ids))
            .values(status=SENDING, claimed_at=db_now(conn), claim_token=token)
        )
    return token, ids


def claim_riders(conn: Connection, token: str, now: datetime) -> list[int]:
    """Add to the claim ``token`` the reminders waiting for a later mail (``NoticeKey.is_reminder``:
    跟进超时, a repeat) of every recipient this claim already has news for (a new rung, the weekly
    mail): they go together. Returns the ids added."""
    news = select(N.c.recipient_id).where(
        N.c.claim_token == token,
        N.c.status == SENDING,
        or_(
            N.c.kind == NoticeKind.DIGEST.value,
            and_(N.c.kind.in_(_RUNGS), N.c.repeat_no == 0),
        ),
    )
    reminder = or_(N.c.kind == NoticeKind.STALE.value, and_(N.c.kind.in_(_RUNGS), N.c.repeat_no > 0))
    query = select(N.c.id).where(
        N.c.status.in_(_WAITING),
        N.c.status == NoticeStatus.PENDING.value,
        N.c.next_attempt_at > now,
        N.c.message_id.is_(None),
        reminder,
        N.c.recipient_id.in_(news),
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.execute(query).scalars())
    if ids:
        conn.execute(
            update(N)
            .where(N.c.id.in_(ids), N.c.status == NoticeStatus.PENDING.value)
            .values(status=SENDING, claimed_at=db_now(conn), claim_token=token)
        )
    return ids


def _mine(ids: Collection[int], token: str) -> Any:
    return and_(N.c.id.in_(ids), N.c.status == SENDING, N.c.claim_token == token)


def renew_claim(conn: Connection, ids: Collection[int], token: str, message_id: str | None = None) -> int:
    """Keep the claim on ``ids`` (the database's now); how many are still this sender's. With
    ``message_id``: the message about to go out with them, stored first, so that after a crash they go
    again as that same message (same group, same Message-ID), not regrouped under another."""
    values: dict[str, Any] = {"claimed_at": db_now(conn)}
    if message_id is not None:
        values["message_id"] = message_id
    return int(conn.execute(update(N).where(_mine(ids, token)).values(**values)).rowcount)


def _settle(conn: Connection, ids: Collection[int], token: str, **values: Any) -> int:
    statement = update(N).where(_mine(ids, token)).values(claim_token=None, claimed_at=None, **values)
    return int(conn.execute(statement).rowcount)


def mark_obsolete(conn: Connection, ids: Collection[int], token: str) -> int:
    return _settle(conn, ids, token, status=NoticeStatus.OBSOLETE.value)


def mark_sent(conn: Connection, ids: Collection[int], token: str, message_id: str, now: datetime) -> int:
    return _settle(
        conn,
        ids,
        token,
        status=NoticeStatus.SENT.value,
        sent_at=now,
        message_id=message_id,
        attempts=N.c.attempts + 1,
        last_error=None,
    )


def attempts_of(conn: Connection, ids: Collection[int]) -> dict[int, int]:
    return {row_id: n for row_id, n in conn.execute(select(N.c.id, N.c.attempts).where(N.c.id.in_(ids)))}


def mark_failed_attempt(
    conn: Connection,
    ids: Collection[int],
    token: str,
    attempts: int,
    error: str,
    *,
    final: bool,
    retry_at: datetime,
) -> int:
    """Record one refused attempt: ``failed`` for good when ``final``, else pending until ``retry_at``."""
    return _settle(
        conn,
        ids,
        token,
        status=NoticeStatus.FAILED.value if final else NoticeStatus.PENDING.value,
        attempts=attempts,
        next_attempt_at=retry_at,
        last_error=error[:1000],
    )


def mark_unknown(
    conn: Connection, ids: Collection[int], token: str, message_id: str, error: str, retry_at: datetime
) -> int:
    """The server took the message but never confirmed it: not resent before ``retry_at``, and then
    under the same Message-ID."""
    return _settle(
        conn,
        ids,
        token,
        status=NoticeStatus.UNKNOWN.value,
        attempts=N.c.attempts + 1,
        message_id=message_id,
        next_attempt_at=retry_at,
        last_error=error[:1000],
    )


def defer(conn: Connection, ids: Collection[int], token: str, error: str, retry_at: datetime) -> int:
    """Not tried, the connection failed: pending until ``retry_at``, one more deferral, no attempt."""
    return _settle(
        conn,
        ids,
        token,
        status=NoticeStatus.PENDING.value,
        deferrals=N.c.deferrals + 1,
        next_attempt_at=retry_at,
        last_error=error[:1000],
    )


def release(conn: Connection, ids: Collection[int], token: str) -> int:
    """Give rows back untouched (the batch stopped before them): pending, due as they were."""
    return _settle(conn, ids, token, status=NoticeStatus.PENDING.value)


def requeue(conn: Connection, ids: Collection[int] | None, statuses: Collection[str], now: datetime) -> int:
    """``failed`` (or ``unknown``) rows back to pending with a fresh budget, due ``now``; ``ids`` None:
    every row of ``statuses``."""
    where: Any = N.c.status.in_(list(statuses))
    if ids is not None:
        where = and_(where, N.c.id.in_(list(ids)))
    statement = (
        update(N)
        .where(where)
        .values(status=NoticeStatus.PENDING.value, attempts=0, deferrals=0, next_attempt_at=now)
    )
    return int(conn.execute(statement).rowcount)


def postpone(conn: Connection, ids: Collection[int], token: str, until: datetime) -> int:
    """A repeat that came too soon after the last delivery of its ladder to its recipient: pending,
    untouched otherwise, not claimable before ``until``."""
    return _settle(conn, ids, token, status=NoticeStatus.PENDING.value, next_attempt_at=until)


def statuses_of(conn: Connection, ids: Collection[int]) -> dict[int, str]:
    return {
        row_id: status for row_id, status in conn.execute(select(N.c.id, N.c.status).where(N.c.id.in_(ids)))
    }


# ------------------------------------------------------------------------ reads for the board and the outbox


def outbox(conn: Connection, status: str | None, limit: int) -> Rows:
    """The newest ``limit`` notifications (of ``status``), with their recipients."""
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
    return conn.execute(query).all()


def active_clocks(conn: Connection) -> Rows:
    """Every project not terminated: its clock and its unit."""
    return conn.execute(
        select(*(P.c[name] for name in ProjectClock.COLUMNS), Unit.key, Unit.name)
        .join(Unit, Unit.id == P.c.unit_id)
        .where(P.c.stage != TERMINATED)
    ).all()


def outbox_health(conn: Connection, now: datetime) -> tuple[int, int]:
    """(notifications failed for good, notifications waiting more than a day)."""
    failed = conn.execute(
        select(func.count()).select_from(N).where(N.c.status == NoticeStatus.FAILED.value)
    ).scalar_one()
    stuck = conn.execute(
        select(func.count())
        .select_from(N)
        .where(
            N.c.status.in_((NoticeStatus.PENDING.value, NoticeStatus.SENDING.value)),
            N.c.created_at < now - timedelta(days=1),
        )
    ).scalar_one()
    return failed, stuck


class DeliveryHealth(NamedTuple):
    """What the board says about retries piling up."""

    overdue: int  # tried and still waiting, due more than an hour ago
    oldest_due: datetime | None
    deferrals: int  # the most connection failures in a row any waiting notification has seen
    unknown: int  # messages the server took without confirming
    last_error: str | None  # of the waiting notification tried last


def delivery_health(conn: Connection, now: datetime) -> DeliveryHealth:
    tried = and_(
        N.c.status.in_(_WAITING),
        N.c.status == NoticeStatus.PENDING.value,
        or_(N.c.attempts > 0, N.c.deferrals > 0),
    )
    overdue, oldest = conn.execute(
        select(func.count(), func.min(N.c.due_at)).where(tried, N.c.due_at < now - timedelta(hours=1))
    ).one()
    deferrals = conn.execute(select(func.max(N.c.deferrals)).where(tried)).scalar() or 0
    unknown = conn.execute(
        select(func.count()).select_from(N).where(N.c.status == NoticeStatus.UNKNOWN.value)
    ).scalar_one()
    last_error = conn.execute(
        select(N.c.last_error)
        .where(tried, N.c.last_error.is_not(None))
        .order_by(N.c.next_attempt_at.desc())
        .limit(1)
    ).scalar()
    return DeliveryHealth(int(overdue), oldest, int(deferrals), int(unknown), last_error)


# --------------------------------------------------------------------------- bulk loads (the ledger import)


def reserve_ids(conn: Connection, table: Any, n: int) -> list[int]:
    """``n`` new ids for ``table``, to insert with: on PostgreSQL from its sequence; on SQLite after the
    largest (the caller holds the write lock: SQLite writers are serialised by BEGIN IMMEDIATE)."""
    if n <= 0:
        return []
    name = table.name
    if conn.dialect.name == "postgresql":
        sql = f"SELECT nextval(pg_get_serial_sequence('{name}', 'id')) FROM generate_series(1, {int(n)})"
        return [int(i) for (i,) in conn.exec_driver_sql(sql)]
    top = conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {name}").scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + n))


def insert_rows(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows`` (every row the same keys, ids included) through the driver's executemany, each
    value converted once by its column's type (None stays NULL): the ORM's bulk INSERT with RETURNING
    converts and renders every row in Python, most of a large import's time."""
    if not rows:
        return 0
    columns = list(rows[0])
    converters = {c: table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns}
    memos: dict[str, dict[Any, Any]] = {c: {} for c in columns}

    def converted(column: str, value: Any) -> Any:
        convert = converters[column]
        if value is None or convert is None:
            return value
        if isinstance(value, (dict, list)):  # JSON: not hashable, rarely repeated
            return convert(value)
        memo = memos[column]  # the same instants and amounts recur on thousands of rows
        out = memo.get(value, memo)
        if out is memo:
            out = memo[value] = convert(value)
        return out

    ready = [{c: converted(c, row[c]) for c in columns} for row in rows]
    return _executemany(conn, table.insert(), ready)
