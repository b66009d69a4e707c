"""The reference reconstruction (``app.report``): every project replayed line by line from its history
in Python (:func:`replay`), slow but plain; :func:`report_rebuild.reconstruct` gives the same from the
database's aggregates (a test keeps them equal)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Connection

from followup.app.report_rebuild import (
    _DEFAULT_ORDER,
    _TRACKED_SET,
    TRACKED,
    _amount,
    _changes,
    _Current,
    _current_rows,
    _stage_orders,
    _utc,
    _value,
    carried,
)
from followup.app.runtime import Runtime
from followup.domain import metrics
from followup.domain.kinds import EventKind
from followup.domain.metrics import ProjectAsOf, Stay
from followup.domain.timeutil import local_day, start_of_day
from followup.domain.workflow import SIDE_STATES, TERMINATED

#: The history lines that change what the figures count (follow-ups, notices … change nothing).
_KINDS = (EventKind.CREATED, EventKind.MOVE, EventKind.EDIT, EventKind.FUNDS, EventKind.VOID)
_CREATED, _EDIT = str(EventKind.CREATED), str(EventKind.EDIT)
#: the history lines that put a project in a stage (an edit only when it places a stranded project)
_STAGE_KINDS = frozenset(
    {str(EventKind.CREATED), str(EventKind.MOVE), str(EventKind.VOID), str(EventKind.EDIT)}
)


def _events(conn: Connection, end: datetime) -> Iterator[tuple[Any, ...]]:
    """Every line of history that matters to the figures, by project and line, up to ``end`` (their
    ``at``); the ones after ``end`` are still read for the first values of the fields they change."""
    kinds = ", ".join(f"'{k.value}'" for k in _KINDS)
    yield from conn.execute(
        text(
            "SELECT project_id, kind, at, from_stage, to_stage, changes FROM project_events "
            f"WHERE kind IN ({kinds}) ORDER BY project_id, id"
        )
    )


def reconstruct_by_replay(rt: Runtime, conn: Connection, as_of: date) -> list[ProjectAsOf]:
    """Every project (but voided ones) that existed by the end of ``as_of``, as it stood then: the
    reference, reading every line of history in Python (:func:`replay`); :func:`reconstruct` gives the
    same from the database's aggregates, much faster (a test keeps them equal)."""
    zone = rt.zone
    end = start_of_day(as_of + timedelta(days=1), zone)
    current = _current_rows(conn, end)
    orders = _stage_orders(rt, {c.workflow for c in current.values()})
    out: list[ProjectAsOf] = []
    batch: list[tuple[Any, ...]] = []
    last: int | None = None
    for row in _events(conn, end):
        if row[0] != last:
            if batch and last in current:
                built = replay(last, batch, current[last], orders, end, zone)
                if built is not None:
                    out.append(built)
            batch, last = [], row[0]
        batch.append(row)
    if batch and last in current:
        built = replay(last, batch, current[last], orders, end, zone)
        if built is not None:
            out.append(built)
    return out


def replay(
    pid: int,
    events: Sequence[tuple[Any, ...]],
    row: _Current,
    orders: dict[str, dict[str, int]],
    end: datetime,
    zone: ZoneInfo,
) -> ProjectAsOf | None:
    """One project as it stood just before ``end``, from its history lines (in order: project_id,
    kind, at, from_stage, to_stage, changes); None if it was not entered by then.

    A field's value is the one its latest change by ``end`` set (by ``at``); a field changed only
    later had the value that change found; a field the history never changed has today's value. Funds
    in place are the sum of the arrivals (and corrections) dated by ``end``, so that an arrival recorded
    late with an earlier date counts from its date."""
    order = orders.get(row.workflow) or _DEFAULT_ORDER
    signing_rank = order.get(metrics.SIGNING)
    walk = _Walk()
    for _pid, kind, at_raw, _from, to_stage, changes_raw in events:
        at = _utc(at_raw)
        done = at < end
        changes = _changes(changes_raw) if changes_raw is not None else None
        if kind == _CREATED:
            if not done:
                return None  # not entered yet
            walk.entered, walk.first_stage = at, to_stage
            if changes:
                _created(walk, at, changes)
        elif changes:
            _changed(walk, at, done, changes)
            if kind == _EDIT:
                placed = changes.get("stage")
                to_stage = placed[1] if isinstance(placed, list) and len(placed) == 2 else None
        if done and to_stage is not None and kind in _STAGE_KINDS:
            _staged(walk, at, to_stage, order.get(to_stage, -1), signing_rank, zone)
    entered = walk.entered
    if entered is None:
        if row.created_at >= end or walk.stage is None:
            return None
        entered = row.created_at
    return _as_of(pid, walk, entered, row, order, end, zone)


@dataclass
class _Walk:
    """What :func:`replay` has read of a project's history so far."""

    latest: dict[str, tuple[datetime, Any]] = field(default_factory=dict)  # field → (at, value)
    first_before: dict[str, Any] = field(default_factory=dict)  # field → before its first change
    funds_base: Decimal | None = None
    funds_delta: Decimal = Decimal(0)
    funds_seen: bool = False
    stage: str | None = None
    since: datetime | None = None
    entered: datetime | None = None
    first_stage: str | None = None
    furthest: int = -1
    signed_at: datetime | None = None
    stays: list[Stay] = field(default_factory=list)


def _created(walk: _Walk, at: datetime, changes: dict[str, Any]) -> None:
    """The fields a project was entered with."""
    for name in TRACKED:
        if name in changes:
            if name == "funds_in_place":
                walk.funds_base, walk.funds_seen = _amount(changes[name]), True
            else:
                _set(walk.latest, name, at, changes[name])


def _changed(walk: _Walk, at: datetime, done: bool, changes: dict[str, Any]) -> None:
    """A line's changes to the tracked fields (``done``: dated by the day)."""
    for name, change in changes.items():
        if name not in _TRACKED_SET or not isinstance(change, list) or len(change) != 2:
            continue
        before, after = change
        if name == "funds_in_place":
            if not walk.funds_seen:
                walk.funds_base, walk.funds_seen = _amount(before), True
            if done:
                walk.funds_delta += (_amount(after) or Decimal(0)) - (_amount(before) or Decimal(0))
            continue
        if name not in walk.first_before and name not in walk.latest:
            walk.first_before[name] = before
        if done:
            _set(walk.latest, name, at, after)


def _staged(
    walk: _Walk, at: datetime, to_stage: str, rank: int, signing_rank: int | None, zone: ZoneInfo
) -> None:
    """A line dated by the day that puts the project in ``to_stage`` (of rank ``rank``)."""
    if walk.stage is not None and walk.since is not None and walk.stage != TERMINATED:
        walk.stays.append(Stay(walk.stage, local_day(walk.since, zone), local_day(at, zone)))
    walk.stage, walk.since = to_stage, at
    if rank > walk.furthest:
        walk.furthest = rank
        if walk.signed_at is None and signing_rank is not None and rank >= signing_rank:
            walk.signed_at = at


def _values(walk: _Walk, row: _Current) -> dict[str, Any]:
    """The tracked fields as of the day, from what the walk read (else today's)."""
    values: dict[str, Any] = {}
    for name in TRACKED:
        if name in walk.latest:
            values[name] = _value(name, walk.latest[name][1])
        elif name in walk.first_before:
            values[name] = _value(name, walk.first_before[name])
        else:
            values[name] = row.values[name]
    if walk.funds_seen:
        total = (walk.funds_base or Decimal(0)) + walk.funds_delta
        values["funds_in_place"] = None if walk.funds_base is None and not walk.funds_delta else total
    return values


def _as_of(
    pid: int,
    walk: _Walk,
    entered: datetime,
    row: _Current,
    order: dict[str, int],
    end: datetime,
    zone: ZoneInfo,
) -> ProjectAsOf:
    """The project the walk read, as it stood just before ``end``."""
    stages = list(order)
    signing_rank = order.get(metrics.SIGNING)
    values = _values(walk, row)
    first_rank = order.get(walk.first_stage or "", 0)
    signed_on: date | None = None
    if walk.signed_at is not None:
        signed_on = values["signed_on"]
        if signed_on is None or signed_on >= end.astimezone(zone).date():
            signed_on = local_day(walk.signed_at, zone)
    return ProjectAsOf(
        id=pid,
        stage=walk.stage or (walk.first_stage or stages[0]),
        entered_on=local_day(entered, zone),
        reached=frozenset(stages[: walk.furthest + 1]).difference(SIDE_STATES),
        was_lead=signing_rank is None or first_rank < signing_rank,
        signed_on=signed_on,
        **carried(values),
        stays=tuple(walk.stays),
    )


def _set(latest: dict[str, tuple[datetime, Any]], name: str, at: datetime, value: Any) -> None:
    held = latest.get(name)
    if held is None or at >= held[0]:
        latest[name] = (at, value)
