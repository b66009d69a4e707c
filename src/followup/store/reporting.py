"""The report's SQL (``app.report``): the projects as of a day counted by kind in one GROUP BY, the
projects whose fields changed after the day (rebuilt one by one instead), the stage lines that
the time spent in each stage is measured from, and what the ladder's lights as of a day are rebuilt
from (``app.report_lights``): every project's clock as it is now, flagged when a line dated after the
day may have changed it, and the history lines of those.

The caller builds the parts that depend on the workflows (a history line's stage rank, "signing or
later") and passes them in as SQL; everything else is here. Instants are compared as each backend
stores them: aware timestamps on PostgreSQL, UTC text on SQLite.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select, text
from sqlalchemy.engine import Connection

from followup.domain.notices import ProjectClock
from followup.domain.workflow import TERMINATED
from followup.store.models import Project, ProjectEvent

#: The history lines that put a project in a stage.
STAGE_KINDS = "('created', 'move', 'void')"
#: The history lines that may change a field the figures read.
CHANGE_KINDS = "('move', 'edit', 'funds')"
#: The group columns a report may be grouped by.
GROUP_COLUMNS = {"unit": "u.key", "officer": "o.key", "leader": "l.key", "chain": "p.chain"}
_JOINS = {
    "unit": "JOIN units u ON u.id = p.unit_id",
    "officer": "JOIN officials o ON o.id = p.officer_id",
    "leader": "LEFT JOIN officials l ON l.id = p.leader_id",
    "chain": "",
}


def instant(conn: Connection, value: datetime) -> Any:
    """An instant as a bind parameter compared with stored ones (SQLite: UTC text, whole seconds
    without a fraction so that a stored one with or without ``.000000`` compares alike)."""
    if conn.dialect.name == "postgresql":
        return value
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S" if not utc.microsecond else "%Y-%m-%d %H:%M:%S.%f")


def _year_case(column: str, years: Sequence[int]) -> str:
    """The local year of an instant, by the instants the years begin at (``:y2026`` …, newest first)."""
    whens = " ".join(f"WHEN {column} >= :y{y} THEN {y}" for y in years)
    return f"CASE {whens} ELSE {years[-1] - 1} END"


def year_bounds(conn: Connection, zone: ZoneInfo, first: int, last: int) -> dict[str, Any]:
    """The parameters of :func:`_year_case`: when each year from ``last`` down to ``first`` began."""
    out = {}
    for year in range(last, first - 1, -1):
        begins = datetime.combine(date(year, 1, 1), datetime.min.time(), tzinfo=zone)
        out[f"y{year}"] = instant(conn, begins)
    return out


def kinds(
    conn: Connection,
    *,
    params: dict[str, Any],
    years: Sequence[int],
    rank: str,
    signed: str,
    by: str | None,
    per_project: bool,
    needs_workflow: bool = True,
) -> Sequence[Any]:
    """The projects (but voided ones) that had a stage line by the day (``:end``), counted by what the figures
    ask of them: workflow, furthest rank, first stage, the local year it was entered and signed in,
    amount > 0, funds > 0, large (``:large`` hundredths), funded (funds × ``:fden`` ≥ amount ×
    ``:fnum``), chain and link, the group (``by``); with the count, the sums of amounts and funds
    (hundredths) over those with an amount, and the decimal places those sums need. ``per_project``:
    one line per project, for a cohort's stage times. Each line: the project's id (only per
    project, or for a project rebuilt one by one), 1 for a project the caller rebuilds one by one
    (each on a line of its own: it has a line dated after the day that may change a field the
    figures read, or more than one entry line), workflow, first stage, chain, link, group, the rest
    packed in one number (:func:`unpack`), then the count, the sums and their decimal places.
    ``needs_workflow``:
    ``rank`` and ``signed`` read ``p.workflow``."""
    return conn.execute(
        text(_kinds_sql(conn.dialect.name, years, rank, signed, by, per_project, needs_workflow)), params
    ).all()


def _kinds_sql(
    dialect: str,
    years: Sequence[int],
    rank: str,
    signed: str,
    by: str | None,
    per_project: bool,
    needs_workflow: bool,
) -> str:
    """The SQL text of :func:`kinds`."""
    group = GROUP_COLUMNS[by] if by else "NULL"
    join = _JOINS[by] if by else ""
    columns = ["p.workflow", "s.first_stage", "p.chain", "p.chain_link", group, _packed_sql(dialect, years)]
    columns[:0] = ["p.id" if per_project else "CASE WHEN s.changed = 1 THEN p.id END", "s.changed"]
    keys = ", ".join(f"k{i}" for i in range(len(columns)))
    named = ", ".join(f"{c} AS k{i}" for i, c in enumerate(columns))
    scale = "CASE WHEN {v} % 10 <> 0 THEN 2 WHEN {v} % 100 <> 0 THEN 1 ELSE 0 END"
    funds = "COALESCE(p.funds_in_place, 0)"
    return (
        f"WITH s AS ({_stage_summary_sql(rank, signed, needs_workflow)}), "
        f"x AS (SELECT {named}, CASE WHEN p.amount > 0 THEN p.amount ELSE 0 END AS amount, "
        f"CASE WHEN p.amount > 0 THEN {funds} ELSE 0 END AS funds, "
        f"CASE WHEN p.amount > 0 THEN {scale.format(v='p.amount')} ELSE 0 END AS amount_scale, "
        f"CASE WHEN p.amount > 0 THEN {scale.format(v=funds)} ELSE 0 END AS funds_scale "
        "FROM s JOIN projects p ON p.id = s.project_id "
        f"{join} WHERE p.voided_at IS NULL) "
        f"SELECT {keys}, COUNT(*), SUM(amount), SUM(funds), MAX(amount_scale), MAX(funds_scale) "
        f"FROM x GROUP BY {keys}"
    )


def _stage_summary_sql(rank: str, signed: str, needs_workflow: bool) -> str:
    """Per project with a line by the day (``:end``): its first entry and stage, furthest rank, when
    it reached signing, and whether the caller rebuilds it one by one (``changed``)."""
    return (
        "SELECT e.project_id, "
        "MIN(CASE WHEN e.kind = 'created' AND e.at < :end THEN e.at END) AS first_at, "
        "MIN(CASE WHEN e.kind = 'created' AND e.at < :end THEN e.to_stage END) AS first_stage, "
        f"MAX(CASE WHEN e.at < :end THEN {rank} END) AS furthest, "
        f"MIN(CASE WHEN e.at < :end AND ({signed}) THEN e.at END) AS signed_at, "
        "CASE WHEN MAX(CASE WHEN e.at >= :end THEN 1 ELSE 0 END) = 1 "
        "OR SUM(CASE WHEN e.kind = 'created' THEN 1 ELSE 0 END) > 1 THEN 1 ELSE 0 END AS changed "
        f"FROM project_events e {'JOIN projects p ON p.id = e.project_id ' if needs_workflow else ''}"
        f"WHERE (e.kind IN {STAGE_KINDS} AND e.at < :end) "
        f"OR (e.at >= :end AND e.changes IS NOT NULL AND e.kind IN {CHANGE_KINDS}) "
        "GROUP BY e.project_id HAVING MIN(e.at) < :end"
    )


def _packed_sql(dialect: str, years: Sequence[int]) -> str:
    """The furthest rank, four flags, the entered and the signing year packed in one number (see
    :func:`unpack`)."""
    signed_year = (
        "CAST(EXTRACT(YEAR FROM p.signed_on) AS INTEGER)"
        if dialect == "postgresql"
        else "CAST(substr(p.signed_on, 1, 4) AS INTEGER)"
    )
    with_amount = "CASE WHEN p.amount > 0 THEN 1 ELSE 0 END"
    return (
        f"(s.furthest + 1) + {_FLAGS} * ({with_amount} "
        "+ 2 * CASE WHEN p.funds_in_place > 0 THEN 1 ELSE 0 END "
        "+ 4 * CASE WHEN p.amount >= :large THEN 1 ELSE 0 END "
        "+ 8 * CASE WHEN p.amount > 0 AND COALESCE(p.funds_in_place, 0) * :fden >= p.amount * :fnum "
        "THEN 1 ELSE 0 END) "
        f"+ {_ENTERED} * ({_year_case('COALESCE(s.first_at, p.created_at)', years)} - {_BASE_YEAR}) "
        f"+ {_SIGNED} * COALESCE(CASE WHEN s.signed_at IS NULL THEN NULL "
        f"WHEN p.signed_on IS NOT NULL AND p.signed_on <= :as_of THEN {signed_year} "
        f"ELSE {_year_case('s.signed_at', years)} END - {_BASE_YEAR} + 1, 0)"
    )


_FLAGS, _ENTERED, _SIGNED = 64, 64 * 16, 64 * 16 * 1024
_BASE_YEAR = 1800


def unpack(packed: int) -> tuple[int, bool, bool, bool, bool, int, int | None]:
    """The furthest rank, with amount, has funds, large, funded, the entered and the signing year
    (None: not signed) of a kind's packed number (:func:`kinds`)."""
    signed, rest = divmod(packed, _SIGNED)
    entered, rest = divmod(rest, _ENTERED)
    flags, furthest = divmod(rest, _FLAGS)
    return (
        furthest - 1,
        bool(flags & 1),
        bool(flags & 2),
        bool(flags & 4),
        bool(flags & 8),
        entered + _BASE_YEAR,
        signed + _BASE_YEAR - 1 if signed else None,
    )


def hundredths(total: Any, places: Any) -> Decimal:
    """A sum of hundredths as 万元, with the decimal places the sum of the amounts one by one shows."""
    value = Decimal(int(total or 0)) / 100
    return value.quantize(Decimal(1).scaleb(-int(places or 0)))


#: The stage codes :func:`stage_lines` packs with the day (``day * STAGE_SPACE + code``); the last one
#: stands for a stage it was not given, named in the line's third column.
STAGE_SPACE = 1024
OTHER = STAGE_SPACE - 1


def stage_lines(
    conn: Connection, end: datetime, zone: ZoneInfo, codes: dict[str, int], named: bool = False
) -> Iterator[tuple[Any, ...]]:
    """Every stage line dated by ``end`` of a project not voided, in the order they were written:
    (project, its local day as a number × :data:`STAGE_SPACE` + the code of the stage it entered
    (:data:`OTHER`: one ``codes`` does not have), and when ``named`` the stage's name for those).
    The raw cursor: hundreds of thousands of lines, read once, as plain numbers."""
    if conn.dialect.name == "postgresql":
        day = "(CAST((at AT TIME ZONE %(zone)s) AS DATE) - DATE '2000-01-01')"
        end_param, zone_param = "%(end)s", {"zone": zone.key}
    else:
        offset = end.astimezone(zone).utcoffset() or timedelta(0)  # SQLite knows no zones: the day's
        day = f"CAST(julianday(at, '{int(offset.total_seconds()):+d} seconds') + 0.5 AS INTEGER)"
        end_param, zone_param = ":end", {}
    if any(not 0 <= c < OTHER for c in codes.values()):
        raise ValueError("stage codes out of range")
    known = ", ".join(f"'{name}'" for name in codes)
    whens = " ".join(f"WHEN '{name}' THEN {code}" for name, code in codes.items())
    code = f"CASE to_stage {whens} ELSE {OTHER} END" if codes else str(OTHER)
    other = f"CASE WHEN to_stage IN ({known}) THEN NULL ELSE to_stage END" if codes else "to_stage"
    voided = [pid for (pid,) in conn.execute(text("SELECT id FROM projects WHERE voided_at IS NOT NULL"))]
    if not voided:
        left_out = ""
    elif len(voided) > 5000:
        left_out = " AND project_id NOT IN (SELECT id FROM projects WHERE voided_at IS NOT NULL)"
    else:
        left_out = " AND project_id NOT IN (" + ", ".join(str(int(i)) for i in voided) + ")"
    sql = (
        f"SELECT project_id, {day} * {STAGE_SPACE} + {code}{', ' + other if named else ''} "
        f"FROM project_events WHERE kind IN {STAGE_KINDS} AND at < {end_param}{left_out} ORDER BY id"
    )
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(sql, {"end": instant_stored(conn, end), **zone_param})
        while batch := cursor.fetchmany(20_000):
            yield from batch
    finally:
        cursor.close()


def instant_stored(conn: Connection, value: datetime) -> Any:
    """``value`` as the existing report compares ``:end`` (SQLite: UTC text with microseconds)."""
    if conn.dialect.name == "postgresql":
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def large_hundredths(amount: Decimal) -> int:
    """The least whole number of hundredths at or above ``amount`` 万元."""
    return math.ceil(amount * 100)


#: The history lines that may change a project's clock (stage, deadline, quiet time) or its unit and
#: people: a project with one dated after the day is rebuilt from its lines (:func:`clock_lines`).
CLOCK_KINDS = ("move", "followup", "report", "extend", "edit", "reassign")
#: The history lines a project's clock is rebuilt from (its entry, and :data:`CLOCK_KINDS`).
CLOCK_LINE_KINDS = ("created", *CLOCK_KINDS)


def _changed_after(end: datetime) -> Any:
    """The ids of the projects with a :data:`CLOCK_KINDS` line dated from ``end`` on (a subquery)."""
    events = ProjectEvent.__table__
    return select(events.c.project_id).where(events.c.at >= end, events.c.kind.in_(CLOCK_KINDS))


def standing_rows(conn: Connection, end: datetime, *, with_ended: bool = False) -> Sequence[Any]:
    """Every project (not voided) entered by ``end`` (its entry line dated before it): its id, its clock
    as it is now (:attr:`ProjectClock.COLUMNS`), ``held_stage``, ``unit_id``, ``officer_id``,
    ``leader_id``, and ``later``: whether a line dated from ``end`` on may have changed any of them.
    Without ``with_ended``, those terminated now with no such line are left out. One query."""
    projects, events = Project.__table__, ProjectEvent.__table__
    later = projects.c.id.in_(_changed_after(end))
    entered = exists().where(
        events.c.project_id == projects.c.id, events.c.kind == "created", events.c.at < end
    )
    query = select(
        projects.c.id,
        *(projects.c[name] for name in ProjectClock.COLUMNS),
        projects.c.held_stage,
        projects.c.unit_id,
        projects.c.officer_id,
        projects.c.leader_id,
        later.label("later"),
    ).where(projects.c.voided_at.is_(None), or_(projects.c.created_at < end, entered))
    if not with_ended:
        query = query.where(or_(projects.c.stage != TERMINATED, later))
    return conn.execute(query.order_by(projects.c.id)).all()


def clock_lines(conn: Connection, end: datetime) -> Sequence[Any]:
    """The history lines (:data:`CLOCK_LINE_KINDS`, every date) of the projects with a
    :data:`CLOCK_KINDS` line dated from ``end`` on, by project and line: project id, kind, at,
    recorded_at, from_stage, to_stage, changes."""
    events = ProjectEvent.__table__
    query = (
        select(
            events.c.project_id,
            events.c.kind,
            events.c.at,
            events.c.recorded_at,
            events.c.from_stage,
            events.c.to_stage,
            events.c.changes,
        )
        .where(events.c.project_id.in_(_changed_after(end)), events.c.kind.in_(CLOCK_LINE_KINDS))
        .order_by(events.c.project_id, events.c.id)
    )
    return conn.execute(query).all()


def project_dates(conn: Connection, end: datetime, names: Sequence[str]) -> dict[int, dict[str, date | None]]:
    """The date fields ``names`` (the contract dates deadlines are taken from) of the projects with a
    :data:`CLOCK_KINDS` line dated from ``end`` on, as they are now, by project id."""
    projects = Project.__table__
    if not names:
        return {}
    query = select(projects.c.id, *(projects.c[n] for n in names)).where(
        projects.c.id.in_(_changed_after(end))
    )
    return {row[0]: dict(zip(names, row[1:], strict=True)) for row in conn.execute(query)}
