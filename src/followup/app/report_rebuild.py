"""A report's projects as they stood on a day (``app.report``), rebuilt from the database's aggregates of
their history (:func:`reconstruct`), the days of the stays paired from the stage lines
(:func:`paired_stays`), and the helpers the line-by-line replay (``app.report_replay``) shares with
them: the current rows, the stage orders, stored instants and values."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Connection

from followup.app.runtime import Runtime
from followup.domain import metrics
from followup.domain.metrics import LIFECYCLE, ProjectAsOf, Stay
from followup.domain.timeutil import start_of_day
from followup.domain.workflow import ON_HOLD, SIDE_STATES, TERMINATED
from followup.errors import InvalidInput
from followup.i18n import _
from followup.store import reporting

#: The fields the reconstruction follows through the history.
TRACKED = ("amount", "funds_in_place", "chain", "chain_link", "unit", "officer", "leader", "signed_on")
_DEFAULT_ORDER = {s: i for i, s in enumerate(LIFECYCLE)}
_TRACKED_SET = frozenset(TRACKED)


def _utc(value: Any) -> datetime:
    """A stored instant as an aware UTC datetime (SQLite gives text, PostgreSQL an aware datetime)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
    return value.astimezone(UTC)  # type: ignore[no-any-return]


def _changes(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    loaded = json.loads(value)
    return loaded if isinstance(loaded, dict) else None


def _stage_orders(rt: Runtime, names: Iterable[str]) -> dict[str, dict[str, int]]:
    """Each workflow's stages in lifecycle order (a workflow that does not load: the default lifecycle)."""
    out: dict[str, dict[str, int]] = {}
    for name in names:
        if rt.workflows.problem(name) is None:
            out[name] = {s: i for i, s in enumerate(rt.workflows.get(name).stages)}
        else:
            out[name] = {s: i for i, s in enumerate(LIFECYCLE)}
    return out


@dataclass
class _Current:
    """A project's row as it is now: where the history's first values come from when it never says."""

    workflow: str
    created_at: datetime
    values: dict[str, Any]


def _current_rows(conn: Connection, end: datetime, only: str = "") -> dict[int, _Current]:
    rows = conn.execute(
        text(
            "SELECT p.id, p.workflow, p.created_at, p.amount, p.funds_in_place, p.chain, p.chain_link, "
            "u.key, o.key, l.key, p.signed_on "
            "FROM projects p JOIN units u ON u.id = p.unit_id JOIN officials o ON o.id = p.officer_id "
            "LEFT JOIN officials l ON l.id = p.leader_id WHERE p.voided_at IS NULL" + only.format(id="p.id")
        )
    )
    out: dict[int, _Current] = {}
    for pid, wf, created, amount, funds, chain, link, unit, officer, leader, signed_on in rows:
        values = {
            "amount": None if amount is None else Decimal(amount) / 100,
            "funds_in_place": None if funds is None else Decimal(funds) / 100,
            "chain": chain,
            "chain_link": link,
            "unit": unit,
            "officer": officer,
            "leader": leader,
            "signed_on": _value("signed_on", signed_on),
        }
        out[pid] = _Current(wf, _utc(created), values)
    return out


_SAFE_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _literal(key: str) -> str:
    """A workflow or stage key as an SQL literal (keys are checked plain names: nothing to escape)."""
    if not _SAFE_KEY.fullmatch(key):
        raise InvalidInput(_("bad key {key!r} in the history").format(key=key))
    return f"'{key}'"


def _rank_sql(orders: dict[str, dict[str, int]], every: bool = False) -> tuple[str, str]:
    """SQL for a history line's stage rank in its project's workflow, and for "signing or later"
    (``every``: ``orders`` has the workflow of every project, so that when they all order their
    stages alike the project's workflow need not be asked)."""
    by_order: dict[tuple[tuple[str, int], ...], list[str]] = {}
    for name, order in orders.items():
        by_order.setdefault(tuple(order.items()), []).append(name)
    ranks, signed = [], []
    for order_items, names in by_order.items():
        order = dict(order_items)
        cases = " ".join(f"WHEN {_literal(k)} THEN {i}" for k, i in order.items() if k not in SIDE_STATES)
        which = f"p.workflow IN ({', '.join(map(_literal, names))})"
        if every and len(by_order) == 1:
            ranks.append(f"CASE e.to_stage {cases} ELSE -1 END")
            if metrics.SIGNING in order:
                later = [k for k, i in order.items() if i >= order[metrics.SIGNING] and k not in SIDE_STATES]
                signed.append(f"e.to_stage IN ({', '.join(map(_literal, later))})")
            return ranks[0], signed[0] if signed else "1 = 0"
        ranks.append(f"WHEN {which} THEN CASE e.to_stage {cases} ELSE -1 END")
        if metrics.SIGNING in order:
            later = [k for k, i in order.items() if i >= order[metrics.SIGNING] and k not in SIDE_STATES]
            signed.append(f"({which} AND e.to_stage IN ({', '.join(map(_literal, later))}))")
    rank = f"CASE {' '.join(ranks)} ELSE -1 END" if ranks else "-1"
    return rank, " OR ".join(signed) or "1 = 0"


def _days_sql(dialect: str, zone: ZoneInfo, end: datetime) -> str:
    """SQL for the calendar days between the local days of ``x.prev_at`` and ``x.at``."""
    if dialect == "postgresql":
        return "CAST((x.at AT TIME ZONE :zone) AS DATE) - CAST((x.prev_at AT TIME ZONE :zone) AS DATE)"
    offset = end.astimezone(zone).utcoffset() or timedelta(0)  # SQLite knows no zones: the day's offset
    shift = f"'{int(offset.total_seconds()):+d} seconds'"
    return f"CAST(julianday(date(x.at, {shift})) - julianday(date(x.prev_at, {shift})) AS INTEGER)"


def reconstruct(
    rt: Runtime,
    conn: Connection,
    as_of: date,
    ids: Iterable[int] | None = None,
    with_stays: bool = True,
) -> list[ProjectAsOf]:
    """Every project (but voided ones) that existed by the end of ``as_of``, as it stood then.

    The database aggregates the stage lines (created, move, void) dated by then per project — its
    last stage, the furthest rank reached, when it first reached signing or later, its first line — and
    the stays between consecutive stage lines; the fields are today's, rewound through the changes
    dated after the day (the before of each field's first later change; funds in place less the later
    arrivals). A few queries, no Python pass over the whole history. ``ids``: only these projects;
    ``with_stays`` false: no stays (the slowest query)."""
    zone = rt.zone
    end = start_of_day(as_of + timedelta(days=1), zone)
    only = "" if ids is None else _only(ids)
    current = _current_rows(conn, end, only)
    orders = _stage_orders(rt, {c.workflow for c in current.values()})
    params: dict[str, Any] = {"end": end if conn.dialect.name == "postgresql" else _stored(end)}
    rows = _stage_summaries(conn, orders, params, only)
    later = _later_changes(conn, params, only)
    stays = _stays_of(conn, zone, end, params, only) if with_stays else {}
    out = []
    day_of = _LocalDays(zone)
    for pid, furthest, signed_at, stage, first_at, first_stage in rows:
        row = current.get(pid)
        if row is None:
            continue
        order = orders.get(row.workflow) or _DEFAULT_ORDER
        signing_rank = order.get(metrics.SIGNING)
        values = _rewound(row.values, later.get(pid))
        signed_on = None
        if signed_at is not None:
            signed_on = values["signed_on"]
            if signed_on is None or signed_on > as_of:
                signed_on = day_of(signed_at)
        out.append(
            ProjectAsOf(
                id=pid,
                stage=stage,
                entered_on=day_of(first_at) if first_at is not None else day_of(row.created_at),
                reached=frozenset(list(order)[: furthest + 1]).difference(SIDE_STATES),
                was_lead=signing_rank is None or order.get(first_stage or "", 0) < signing_rank,
                signed_on=signed_on,
                **carried(values),
                stays=tuple(stays.get(pid, ())),
            )
        )
    return out


#: The history lines :func:`reconstruct` reads stages from.
_STAGE_LINES = "('created', 'move', 'void')"


def _stage_summaries(
    conn: Connection, orders: dict[str, dict[str, int]], params: dict[str, Any], only: str
) -> Sequence[Any]:
    """Per project, its stage lines dated by ``:end`` summed up: project id, the furthest rank
    reached, when it first reached signing or later, its last stage, its first line's instant and
    stage."""
    rank, signed = _rank_sql(orders)
    return conn.execute(
        text(
            "WITH s AS (SELECT e.project_id, MAX(e.id) AS last_id, "
            "MIN(CASE WHEN e.kind = 'created' THEN e.id END) AS first_id, "
            f"MAX({rank}) AS furthest, MIN(CASE WHEN {signed} THEN e.at END) AS signed_at "
            "FROM project_events e JOIN projects p ON p.id = e.project_id "
            f"WHERE e.kind IN {_STAGE_LINES} AND e.at < :end AND p.voided_at IS NULL "
            + only.format(id="e.project_id")
            + " GROUP BY e.project_id) "
            "SELECT s.project_id, s.furthest, s.signed_at, l.to_stage, f.at, f.to_stage "
            "FROM s JOIN project_events l ON l.id = s.last_id "
            "LEFT JOIN project_events f ON f.id = s.first_id"
        ),
        params,
    ).all()


def _stays_of(
    conn: Connection, zone: ZoneInfo, end: datetime, params: dict[str, Any], only: str
) -> dict[int, list[Stay]]:
    """Per project, its completed stays by ``end`` (the days between consecutive stage lines)."""
    days = _days_sql(conn.dialect.name, zone, end)
    stay_rows = conn.execute(
        text(
            f"SELECT x.project_id, x.prev_stage, {days} FROM (SELECT e.project_id, e.at, "
            "LAG(e.to_stage) OVER (PARTITION BY e.project_id ORDER BY e.id) AS prev_stage, "
            "LAG(e.at) OVER (PARTITION BY e.project_id ORDER BY e.id) AS prev_at "
            f"FROM project_events e WHERE e.kind IN {_STAGE_LINES} AND e.at < :end"
            + only.format(id="e.project_id")
            + ") x "
            f"WHERE x.prev_stage IS NOT NULL AND x.prev_stage <> '{TERMINATED}'"
        ),
        {**params, "zone": zone.key},
    )
    stays: dict[int, list[Stay]] = {}
    origin = date(2000, 1, 1)
    for pid, stage, n in stay_rows:
        stays.setdefault(pid, []).append(Stay(stage, origin, origin + timedelta(days=int(n))))
    return stays


def _rewound(current: dict[str, Any], changed: dict[str, Any] | None) -> dict[str, Any]:
    """Today's tracked fields rewound through the changes dated after the day (:func:`_later_changes`)."""
    values = dict(current)
    if changed:
        values.update(changed)
    funds_back = values.pop("_funds_back", None)
    if funds_back:
        values["funds_in_place"] = (values["funds_in_place"] or Decimal(0)) - funds_back
    if "_funds_before" in values and values.pop("_funds_before") is None:
        values["funds_in_place"] = None  # none had arrived before the first later arrival
    return values


def _only(ids: Iterable[int]) -> str:
    """An SQL condition keeping the projects ``ids`` (``{id}``: the column; whole numbers)."""
    listed = ", ".join(str(int(i)) for i in sorted(ids)) or "0"
    return " AND {id} IN (" + listed + ")"


def _stored(instant: datetime) -> str:
    """An instant as SQLite stores it (UTC, naive, ISO text), to compare with the stored ones."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class _LocalDays:
    """The local day of a stored instant, the zone's offset remembered per UTC hour."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.offsets: dict[tuple[date, int], timedelta] = {}

    def __call__(self, raw: Any) -> date:
        at = _utc(raw)
        key = (at.date(), at.hour)
        offset = self.offsets.get(key)
        if offset is None:
            offset = self.offsets[key] = at.astimezone(self.zone).utcoffset() or timedelta(0)
        return (at + offset).date()


def _later_changes(conn: Connection, params: dict[str, Any], only: str = "") -> dict[int, dict[str, Any]]:
    """Per project, the tracked fields as they were before their first change dated after the day
    (``_funds_back``: the funds that arrived after it)."""
    out: dict[int, dict[str, Any]] = {}
    rows = conn.execute(
        text(
            "SELECT project_id, changes FROM project_events "
            "WHERE at >= :end AND changes IS NOT NULL AND kind IN ('move', 'edit', 'funds')"
            + only.format(id="project_id")
            + " ORDER BY project_id, id"
        ),
        params,
    )
    for pid, raw in rows:
        changes = _changes(raw)
        if not changes:
            continue
        found = out.setdefault(pid, {})
        for name, change in changes.items():
            if name not in _TRACKED_SET or not isinstance(change, list) or len(change) != 2:
                continue
            before, after = change
            if name == "funds_in_place":
                back = (_amount(after) or Decimal(0)) - (_amount(before) or Decimal(0))
                found["_funds_back"] = found.get("_funds_back", Decimal(0)) + back
                found.setdefault("_funds_before", before)
            elif name not in found:
                found[name] = _value(name, before)
    return out


def carried(values: dict[str, Any]) -> dict[str, Any]:
    """The fields a project carries into the figures, from its values as of the day (``_Current``'s
    names: the ledger's, with ``funds_in_place``), as :class:`ProjectAsOf` names them."""
    return {
        "amount": values["amount"],
        "funds": values["funds_in_place"],
        "chain": values["chain"],
        "chain_link": values["chain_link"],
        "unit": values["unit"],
        "officer": values["officer"],
        "leader": values["leader"],
    }


def _value(field_name: str, raw: Any) -> Any:
    if raw is None:
        return None
    if field_name in ("amount", "funds_in_place"):
        return _amount(raw)
    if field_name == "signed_on":
        return raw if isinstance(raw, date) else date.fromisoformat(str(raw)[:10])
    return str(raw)


def _amount(raw: Any) -> Decimal | None:
    return None if raw is None else Decimal(str(raw))


def paired_stays(
    rt: Runtime, conn: Connection, end: datetime, zone: ZoneInfo, members: set[int] | None
) -> dict[str, dict[int, int]]:
    """Per stage, how many completed stays (of ``members``; None: every project) lasted each number of
    days: each stage line dated by ``end`` ends the stay its project's line before it began."""
    names = _stage_names(rt)
    codes = {name: i for i, name in enumerate(names)}
    space, other, terminated = reporting.STAGE_SPACE, reporting.OTHER, codes[TERMINATED]
    last: dict[int, int] = {}
    get = last.get
    counts: dict[int, int] = {}
    lines = reporting.stage_lines(conn, end, zone, codes)
    if members is None:
        for pid, packed in lines:
            before = get(pid)
            last[pid] = packed
            if before is not None and before % space != terminated:
                key = (packed // space - before // space) * space + before % space
                counts[key] = counts.get(key, 0) + 1
    else:
        for pid, packed in lines:
            before = get(pid)
            last[pid] = packed
            if before is not None and before % space != terminated and pid in members:
                key = (packed // space - before // space) * space + before % space
                counts[key] = counts.get(key, 0) + 1
    if any(key % space == other for key in counts):  # a stay in a stage no workflow declares
        return _paired_stays_named(conn, end, zone, members, names)
    out: dict[str, dict[int, int]] = {}
    for key, n in counts.items():
        days, code = divmod(key, space)
        out.setdefault(names[code], {})[days] = n
    return out


def _paired_stays_named(
    conn: Connection, end: datetime, zone: ZoneInfo, members: set[int] | None, names: list[str]
) -> dict[str, dict[int, int]]:
    """:func:`paired_stays` when some stage lines name a stage no workflow declares (read with their
    names)."""
    codes = {name: i for i, name in enumerate(names)}
    last: dict[int, tuple[str, int]] = {}
    out: dict[str, dict[int, int]] = {}
    for pid, packed, unnamed in reporting.stage_lines(conn, end, zone, codes, named=True):
        day, code = divmod(packed, reporting.STAGE_SPACE)
        stage = names[code] if unnamed is None else unnamed
        before = last.get(pid)
        last[pid] = (stage, day)
        if before is not None and before[0] != TERMINATED and (members is None or pid in members):
            counts = out.setdefault(before[0], {})
            counts[day - before[1]] = counts.get(day - before[1], 0) + 1
    return out


def _stage_names(rt: Runtime) -> list[str]:
    """Every stage name the workflows declare (plain keys, safe as SQL literals), terminated first."""
    out = [TERMINATED, *LIFECYCLE, ON_HOLD]
    for name in rt.workflows.names():
        if rt.workflows.problem(name) is None:
            out.extend(rt.workflows.get(name).states())
    seen: list[str] = []
    for key in out:
        if key not in seen and _SAFE_KEY.fullmatch(key) and len(seen) < reporting.OTHER:
            seen.append(key)
    return seen
