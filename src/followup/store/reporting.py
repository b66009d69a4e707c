"""The report's SQL (``app.report``): the projects as of a day counted by kind in one GROUP BY, the
projects whose fields changed after the day (rebuilt one by one instead), and the stage lines that
the time spent in each stage is measured from.

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

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row

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
    changed: set[int],
    needs_workflow: bool = True,
) -> Sequence[Row[Any]]:
    """The projects (but voided ones, and those with a field changed after the day: see
    :func:`changed_after`) that had a stage line by the day (``:end``), counted by what the figures
    ask of them: workflow, furthest rank, first stage, the local year it was entered and signed in,
    amount > 0, funds > 0, large (``:large`` hundredths), funded (funds × ``:fden`` ≥ amount ×
    ``:fnum``), chain and link, the group (``by``); with the count, the sums of amounts and funds
    (hundredths) over those with an amount, and the decimal places those sums need. ``per_project``:
    one line per project (its id first), for a cohort's stage times. ``changed``: the projects
    :func:`changed_after` gave (left out); ``needs_workflow``: ``rank`` and ``signed`` read
    ``p.workflow``."""
    dialect = conn.dialect.name
    signed_year = (
        "CAST(EXTRACT(YEAR FROM p.signed_on) AS INTEGER)"
        if dialect == "postgresql"
        else "CAST(substr(p.signed_on, 1, 4) AS INTEGER)"
    )
    group = GROUP_COLUMNS[by] if by else "NULL"
    join = _JOINS[by] if by else ""
    with_amount = "CASE WHEN p.amount > 0 THEN 1 ELSE 0 END"
    columns = [
        "p.workflow",
        "s.furthest",
        "f.to_stage",
        _year_case("COALESCE(f.at, p.created_at)", years),
        f"CASE WHEN s.signed_at IS NULL THEN NULL WHEN p.signed_on IS NOT NULL AND p.signed_on <= :as_of "
        f"THEN {signed_year} ELSE {_year_case('s.signed_at', years)} END",
        with_amount,
        "CASE WHEN p.funds_in_place > 0 THEN 1 ELSE 0 END",
        "CASE WHEN p.amount >= :large THEN 1 ELSE 0 END",
        "CASE WHEN p.amount > 0 AND COALESCE(p.funds_in_place, 0) * :fden >= p.amount * :fnum "
        "THEN 1 ELSE 0 END",
        "p.chain",
        "p.chain_link",
        group,
    ]
    if per_project:
        columns.insert(0, "p.id")
    keys = ", ".join(f"k{i}" for i in range(len(columns)))
    named = ", ".join(f"{c} AS k{i}" for i, c in enumerate(columns))
    scale = "CASE WHEN {v} % 10 <> 0 THEN 2 WHEN {v} % 100 <> 0 THEN 1 ELSE 0 END"
    funds = "COALESCE(p.funds_in_place, 0)"
    sql = (
        "WITH s AS (SELECT e.project_id, MIN(CASE WHEN e.kind = 'created' THEN e.id END) AS first_id, "
        f"MAX({rank}) AS furthest, MIN(CASE WHEN {signed} THEN e.at END) AS signed_at "
        f"FROM project_events e {'JOIN projects p ON p.id = e.project_id ' if needs_workflow else ''}"
        f"WHERE e.kind IN {STAGE_KINDS} AND e.at < :end{_left_out(changed)} "
        "GROUP BY e.project_id), "
        f"x AS (SELECT {named}, CASE WHEN p.amount > 0 THEN p.amount ELSE 0 END AS amount, "
        f"CASE WHEN p.amount > 0 THEN {funds} ELSE 0 END AS funds, "
        f"CASE WHEN p.amount > 0 THEN {scale.format(v='p.amount')} ELSE 0 END AS amount_scale, "
        f"CASE WHEN p.amount > 0 THEN {scale.format(v=funds)} ELSE 0 END AS funds_scale "
        "FROM s JOIN projects p ON p.id = s.project_id LEFT JOIN project_events f ON f.id = s.first_id "
        f"{join} WHERE p.voided_at IS NULL) "
        f"SELECT {keys}, COUNT(*), SUM(amount), SUM(funds), MAX(amount_scale), MAX(funds_scale) "
        f"FROM x GROUP BY {keys}"
    )
    return conn.execute(text(sql), params).all()


_CHANGED = (
    "SELECT c.project_id FROM project_events c "
    f"WHERE c.at >= :end AND c.changes IS NOT NULL AND c.kind IN {CHANGE_KINDS}"
)


def _left_out(ids: set[int]) -> str:
    """An SQL condition leaving out the projects ``ids`` (listed while few, else by their query)."""
    if not ids:
        return ""
    if len(ids) > 5000:
        return f" AND e.project_id NOT IN ({_CHANGED})"
    return " AND e.project_id NOT IN (" + ", ".join(str(int(i)) for i in sorted(ids)) + ")"


def changed_after(conn: Connection, params: dict[str, Any]) -> set[int]:
    """The projects with a line dated after the day (``:end``) that may change a field the figures
    read: these are rebuilt one by one (their fields rewound), not counted by :func:`kinds`."""
    return {pid for (pid,) in conn.execute(text(_CHANGED), params)}


def hundredths(total: Any, places: Any) -> Decimal:
    """A sum of hundredths as 万元, with the decimal places the sum of the amounts one by one shows."""
    value = Decimal(int(total or 0)) / 100
    return value.quantize(Decimal(1).scaleb(-int(places or 0)))


#: The stage codes :func:`stage_lines` packs with the day (``day * STAGE_SPACE + code``); the last one
#: stands for a stage it was not given, named in the line's third column.
STAGE_SPACE = 1024
OTHER = STAGE_SPACE - 1


def stage_lines(
    conn: Connection, end: datetime, zone: ZoneInfo, codes: dict[str, int]
) -> Iterator[tuple[int, int, str | None]]:
    """Every stage line dated by ``end`` of a project not voided, in the order they were written:
    (project, its local day as a number × :data:`STAGE_SPACE` + the code of the stage it entered,
    the stage's name when ``codes`` has none for it, else None). The raw cursor: hundreds of
    thousands of lines, read once, as plain numbers."""
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
    sql = (
        f"SELECT project_id, {day} * {STAGE_SPACE} + {code}, {other} FROM project_events "
        f"WHERE kind IN {STAGE_KINDS} AND at < {end_param} "
        "AND project_id NOT IN (SELECT id FROM projects WHERE voided_at IS NOT NULL) ORDER BY id"
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
