"""Benchmark: ``build_report`` at 100k projects against a hand-written SQL GROUP BY of the same figures.

What it measures, in the same run on the same SQLite file
    * report: ``followup.app.report.build_report`` (all years, as of a day before the last moves, so that
      the history really has to be cut): the projects as of the day counted by kind in one GROUP BY
      over their stage lines (``store.reporting.kinds``), the few whose fields changed after the day
      rebuilt one by one, the stays paired from one ordered read of the stage lines, then every
      figure, the 四多四少 indicators, the stage times, the funnel; the lights by unit (today's
      status board, which ``build_report`` adds by default) are timed apart and not compared: they
      are not rebuilt from history, no GROUP BY computes a ladder, and the board assesses every
      active project's ladder as of now (``projects.level`` is only the rung the last sweep
      reached, and knows nothing of 跟进超时 or of the time since);
    * sql: one hand-written query computing the headline figures per signing-year cohort **from the
      same history, as of the same day** (so that the two do the same work): per project the first
      ``at`` of a created/move line into signing or a later stage (its cohort: that day's year in the
      county's zone), whether a line into groundbreaking or production came by then, whether one
      into production did; then ``GROUP BY`` cohort: signed, started, in production. A GROUP BY over
      today's ``projects`` row would be faster and answer another question (today, not as of a day).

    * sql stage times: the stays by hand — each stage line ends the stay its project's previous line
      began (``LAG`` over the lines of a project), counted per stage and number of local days in a
      ``GROUP BY``; the medians and 90th percentiles from those counts.

The report's numbers are checked against the queries' (signed, started, in production, all years and
one cohort; every stage's stays, median and 90th percentile) before any time is printed. It prints the
best of ``--runs`` of each and two ratios: report / headline SQL (the report also pairs the stays, so
this one is not like for like) and report / (headline SQL + stage-times SQL), the same figures on both
sides, which the target (≤ 3×) is judged on.

The database: the organisation through the use cases, then projects and their history bulk-inserted
with raw ``sqlite3`` as the ORM stores them (UTC naive text, amounts in hundredths): every project
created as a lead (a fifth of them entered at signing, as ledger lines are), moved stage by stage with
real dates over 2023–2026, a follow-up per stage, funds in place for some, an edit of the amount for
some, a tenth terminated. Everything lives in a temporary folder removed at the end.

Run from the repository root::

    .venv/bin/python bench/report.py [--projects 100000] [--runs 3]

Exit status: 0 when the ratio is within the target, 1 when it is over, 2 when the numbers differ.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text

from followup.app import organisation
from followup.app.report import build_report
from followup.app.runtime import Runtime
from followup.domain.metrics import stage_times_of
from followup.settings import load_settings

TARGET = 3.0
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
AS_OF = date(2026, 9, 30)
START = datetime(2023, 1, 2, 2, 0, tzinfo=UTC)  # 10:00 in the county
STAGES = ("lead", "talks", "signing", "land_prep", "groundbreaking", "production")
CHAINS = ("健康食品", "畜牧屠宰加工", "中药材种植加工", "乳品加工", "云服务")
LINKS = ("杂粮加工", "屠宰分割", "中药饮片", "液态奶", "云计算")
UNITS = 12
OFFICERS = 60
CHUNK = 20_000
T = TypeVar("T")


def ts(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def make_org(url: str, tmp: Path) -> tuple[Runtime, list[int], list[int]]:
    settings = load_settings({"database_url": url, "data_dir": str(tmp / "data")})
    rt = Runtime.open(settings).at(START - timedelta(days=1))
    rt.init()
    for u in range(UNITS):
        organisation.add_unit(rt, f"u{u}", f"第{u}乡镇", "township")
    for o in range(OFFICERS):
        organisation.add_official(
            rt, f"o{o}", name=f"专员{o}", email=f"o{o}@example.gov.cn", unit=f"u{o % UNITS}"
        )
    organisation.add_official(
        rt, "leader", name="县领导", email="l@example.gov.cn", unit="u0", roles=("leader",)
    )
    with rt.store.reading() as session:
        units = [r[0] for r in session.execute(text("SELECT id FROM units ORDER BY id"))]
        officials = [r[0] for r in session.execute(text("SELECT id FROM officials ORDER BY id"))]
    return rt.at(NOW), units, officials


PROJECT_COLUMNS = (
    "id", "name", "workflow", "stage", "stage_since", "officer_id", "unit_id", "investor", "amount",
    "funds_in_place", "chain", "chain_link", "land", "signed_on", "started_on", "production_on",
    "end_reason", "last_activity_at", "created_at", "updated_at", "version", "stage_seq", "deadline_version",
)  # fmt: skip
EVENT_COLUMNS = (
    "project_id",
    "kind",
    "at",
    "recorded_at",
    "by_id",
    "from_stage",
    "to_stage",
    "note",
    "changes",
)


def rows(
    n: int, units: list[int], officials: list[int]
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    for i in range(n):
        pid = i + 1
        officer = officials[i % OFFICERS]
        unit = units[(i % OFFICERS) % UNITS]
        final = (0, 0, 1, 1, 2, 3, 4, 4, 5, -1)[i % 10]  # -1: terminated after signing
        entered_at = 2 if i % 5 == 4 and final >= 2 else 0  # a fifth of the signed entered at signing
        at = START + timedelta(days=(i * 37) % 1000)
        amount = 500_000 + (i % 997) * 10_000  # hundredths of 万元: 5000万 … 1.05亿
        chain = i % 7
        created_changes: dict[str, Any] = {"investor": f"投资集团{i % 5000:04d}", "amount": amount / 100}
        if chain < 5:
            created_changes |= {"chain": CHAINS[chain], "chain_link": LINKS[chain]}
        events = [
            (
                pid,
                "created",
                ts(at),
                ts(at),
                officer,
                None,
                STAGES[entered_at],
                None,
                json.dumps(created_changes),
            )
        ]
        stage = STAGES[entered_at]
        signed_on = started_on = production_on = None
        if entered_at >= 2:
            signed_on = (at + timedelta(hours=8)).date().isoformat()
        last = at
        top = 2 if final == -1 else final
        for rank in range(entered_at + 1, top + 1):
            events.append((pid, "followup", ts(at + timedelta(days=10)), ts(at + timedelta(days=10)), officer,
                           stage, stage, "跟进", None))  # fmt: skip
            at = at + timedelta(days=30 + (i * 13 + rank * 7) % 60)
            changes: dict[str, Any] = {}
            day = (at + timedelta(hours=8)).date().isoformat()
            if STAGES[rank] == "signing":
                changes = {"signed_on": [None, day]}
                signed_on = day
            elif STAGES[rank] == "groundbreaking":
                changes = {"started_on": [None, day]}
                started_on = day
            elif STAGES[rank] == "production":
                changes = {"production_on": [None, day]}
                production_on = day
            events.append((pid, "move", ts(at), ts(at), officer, stage, STAGES[rank], None,
                           json.dumps(changes) if changes else None))  # fmt: skip
            stage = STAGES[rank]
            last = at
        funds = None
        if top >= 2 and i % 3 == 0:
            at = at + timedelta(days=20)
            funds = amount // 4
            events.append((pid, "funds", ts(at), ts(at), officer, None, None, None,
                           json.dumps({"funds_in_place": [None, funds / 100]})))  # fmt: skip
            last = at
        if i % 11 == 0:
            at = at + timedelta(days=5)
            events.append((pid, "edit", ts(at), ts(at), officer, None, None, None,
                           json.dumps({"amount": [amount / 100, (amount + 100_000) / 100]})))  # fmt: skip
            amount += 100_000
            last = at
        if final == -1:
            at = at + timedelta(days=40)
            events.append((pid, "move", ts(at), ts(at), officer, stage, "terminated", "投资方撤资", None))
            stage = "terminated"
            last = at
        row = (
            pid, f"招商项目{pid:07d}", "investment", stage, ts(last), officer, unit,
            created_changes["investor"], amount, funds, created_changes.get("chain"),
            created_changes.get("chain_link"), 5000, signed_on, started_on, production_on,
            "投资方撤资" if stage == "terminated" else None, ts(last), ts(START), ts(last), 1, 1, 1,
        )  # fmt: skip
        yield row, events


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def bulk_load(path: Path, n: int, units: list[int], officials: list[int]) -> int:
    con = sqlite3.connect(path, isolation_level=None)
    count = 0
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("BEGIN")
        p_sql = insert_sql("projects", PROJECT_COLUMNS)
        e_sql = insert_sql("project_events", EVENT_COLUMNS)
        p_rows: list[Any] = []
        e_rows: list[Any] = []
        for row, events in rows(n, units, officials):
            p_rows.append(row)
            e_rows.extend(events)
            if len(p_rows) >= CHUNK:
                con.executemany(p_sql, p_rows)
                con.executemany(e_sql, e_rows)
                count += len(e_rows)
                p_rows, e_rows = [], []
        con.executemany(p_sql, p_rows)
        con.executemany(e_sql, e_rows)
        count += len(e_rows)
        con.execute("COMMIT")
        con.execute("ANALYZE")
    finally:
        con.close()
    return count


#: The headline figures per cohort from the history, as of the end of a day (``:end``, UTC text).
SQL = """
WITH reached AS (
  SELECT e.project_id,
         MIN(CASE WHEN e.to_stage IN ('signing', 'land_prep', 'groundbreaking', 'production')
                  THEN e.at END) AS signed_at,
         MAX(CASE WHEN e.to_stage IN ('groundbreaking', 'production') THEN 1 ELSE 0 END) AS started,
         MAX(CASE WHEN e.to_stage = 'production' THEN 1 ELSE 0 END) AS produced
  FROM project_events e JOIN projects p ON p.id = e.project_id
  WHERE p.voided_at IS NULL AND e.kind IN ('created', 'move') AND e.at < :end
  GROUP BY e.project_id
)
SELECT CAST(strftime('%Y', signed_at, '+8 hours') AS INTEGER) AS cohort,
       COUNT(*) AS signed, SUM(started) AS started, SUM(produced) AS produced
FROM reached WHERE signed_at IS NOT NULL
GROUP BY cohort ORDER BY cohort
"""


#: The stage times by hand: each stage line ends the stay its project's previous line began (a stay in
#: terminated is none), in the county's local days; how many stays lasted each number of days, per stage.
SQL_STAYS = """
WITH lines AS (
  SELECT e.to_stage AS stage, CAST(julianday(e.at, '+8 hours') + 0.5 AS INTEGER) AS day,
         LAG(e.to_stage) OVER w AS before,
         LAG(CAST(julianday(e.at, '+8 hours') + 0.5 AS INTEGER)) OVER w AS since
  FROM project_events e JOIN projects p ON p.id = e.project_id
  WHERE p.voided_at IS NULL AND e.kind IN ('created', 'move', 'void') AND e.at < :end
  WINDOW w AS (PARTITION BY e.project_id ORDER BY e.id)
)
SELECT before, day - since AS days, COUNT(*) FROM lines
WHERE before IS NOT NULL AND before <> 'terminated'
GROUP BY before, days
"""


def best(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    times: list[float] = []
    result: Any = None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="followup-bench-report-") as folder:
        tmp = Path(folder)
        path = tmp / "report.db"
        url = f"sqlite:///{path}"
        started = time.perf_counter()
        rt, units, officials = make_org(url, tmp)
        events = bulk_load(path, args.projects, units, officials)
        print(
            f"built {args.projects:,} projects and {events:,} history lines "
            f"in {time.perf_counter() - started:.1f} s"
        )
        end = ts(datetime.combine(AS_OF + timedelta(days=1), datetime.min.time()) - timedelta(hours=8))
        engine = rt.store.engine

        def sql() -> list[tuple[int, int, int, int]]:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(SQL), {"end": end})]  # type: ignore[misc]

        def stays() -> list[Any]:
            with engine.connect() as conn:
                days: dict[str, dict[int, int]] = {}
                for stage, n_days, n in conn.execute(text(SQL_STAYS), {"end": end}):
                    days.setdefault(stage, {})[n_days] = n
                return [(t.stage, t.n, t.median, t.p90) for t in stage_times_of(days)]

        def report() -> Any:
            return build_report(rt, as_of=AS_OF, with_lights=False)

        sql()  # warm the cache alike
        sql_s, cohorts = best(args.runs, sql)
        stays_s, by_hand = best(args.runs, stays)
        report_s, view = best(args.runs, report)
        from followup.app import board

        lights_s, _board = best(args.runs, lambda: board.status_board(rt))
        figures = {f.key: f for f in view.figures}
        signed = sum(c[1] for c in cohorts)
        started_n = sum(c[2] for c in cohorts)
        produced = sum(c[3] for c in cohorts)
        mine = (
            figures["start_rate"].denominator,
            figures["start_rate"].numerator,
            figures["production_rate"].numerator,
        )
        if mine != (signed, started_n, produced):
            print(f"MISMATCH all years: report {mine}, sql {(signed, started_n, produced)}")
            return 2
        year, y_signed, y_started, y_produced = cohorts[len(cohorts) // 2]
        one = {f.key: f for f in build_report(rt, as_of=AS_OF, cohort=year).figures}
        if (one["start_rate"].denominator, one["start_rate"].numerator, one["production_rate"].numerator) != (
            y_signed,
            y_started,
            y_produced,
        ):
            print(f"MISMATCH cohort {year}")
            return 2
        mine_times = [(t.stage, t.n, t.median, t.p90) for t in view.stage_times]
        if [t for t in mine_times if t[1]] != [t for t in by_hand if t[1]]:
            print(f"MISMATCH stage times: report {mine_times}, sql {by_hand}")
            return 2
        print(f"as of {AS_OF}: cohorts (year, signed, started, in production) {cohorts}")
        print(
            f"report: 开工率 {figures['start_rate'].percent} ({started_n}/{signed}), "
            f"投产率 {figures['production_rate'].percent}, 履约率 {figures['performance_rate'].percent}"
        )
        ratio = report_s / sql_s
        print(f"sql GROUP BY (from history)     {sql_s * 1000:8.0f} ms")
        print(f"build_report (without lights)   {report_s * 1000:8.0f} ms")
        print(f"lights by unit (status board)   {lights_s * 1000:8.0f} ms  (today's board, not compared)")
        full = report_s / (sql_s + stays_s)
        print(f"sql stage times (LAG, GROUP BY) {stays_s * 1000:8.0f} ms")
        print(f"ratio report/sql, headline figures only      {ratio:.2f}× (the report also computes stays)")
        verdict = "OK" if full <= TARGET else "OVER"
        print(f"ratio report/sql, with the stage times too   {full:.2f}× (target ≤ {TARGET:g}×): {verdict}")
        rt.close()
        return 0 if full <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
