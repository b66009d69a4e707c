"""Benchmark: the escalation sweep against raw sqlite3 doing the same database work, at two sizes.

What it measures (issue 3's targets)
    * sweep: ``followup.app.escalation.sweep(rt)``, the real function on a real SQLite file, with
      ``--due`` projects due among ``--projects`` (and again among ``--big``). Every repeat runs on a
      fresh copy of the same built file, so each one finds the same due projects;
    * raw: plain ``sqlite3`` on another fresh copy doing the same database work in one transaction
      (``BEGIN IMMEDIATE``): the three small organisation queries, the same selection
      ``SELECT … FROM projects WHERE next_escalation_at <= ?`` (same columns, same partial index), the
      same notification rows inserted with ``INSERT … ON CONFLICT DO NOTHING`` (``executemany``) and
      the same project updates (``UPDATE … WHERE id = ? AND version = ?``, ``executemany``). The rows
      are the ones the real sweep wrote on its first run, read back and prepared before the clock
      starts: raw is the floor of the storage work, with no ladder computed;
    * empty: the sweep run again right after (the due projects' next look has moved into the
      future, so nothing is due): median over ``--empty-runs`` runs, against the same empty selection
      in raw sqlite3 (``BEGIN IMMEDIATE``, the ``SELECT``, ``COMMIT``).

Targets
    * sweep ≤ 2× raw at ``--projects`` (and reported at ``--big``);
    * growth from ``--projects`` to ``--big`` (same number due): sweep's ≤ raw's own growth;
    * an empty sweep < 1 ms (at both sizes).

Both sides use the same connection settings (WAL, ``synchronous=NORMAL``, ``foreign_keys=ON``, as
``followup.store.db`` sets them), start on a fresh copy (OS page cache warm, the connection's own cache
cold) with a connection opened and used once before the clock starts, and alternate which of the two
goes first from one repeat to the next.

The database is created through the real schema (``Runtime.init``, alembic) and organisation
(``add_unit``, ``add_official``: six units with a head each, two case officers per unit, a county
leader and the supervision office); the projects, 3 history lines and 2 old sent notifications per
project are bulk-loaded with raw ``sqlite3`` exactly as the ORM stores them (UTC naive
``YYYY-MM-DD HH:MM:SS.ffffff``, integer hundredths, ``version=1``, ``stage_seq=1``,
``deadline_version=1``). The due projects are at 洽谈 (talks) with a deadline 1–14 days past, so each
owes a yellow (黄灯) to its case officer and unit head, about half of them a staleness warning as well;
10% of the rest are finished or terminated (no next look), the others' next look is days to weeks
ahead. "now" is fixed at 2026-06-15 10:00 Asia/Shanghai (a Monday) so the official calendar applies.

Run from the repository root (about 1–1.5 minutes in all on 2 cores, ~1.5 GB of disk in /tmp)::

    .venv/bin/python bench/sweep.py [--projects 100000] [--due 5000] [--big 1000000] [--repeat 3]
                                    [--empty-runs 200] [--profile] [--db-cache DIR]
                                    [--db sqlite|postgresql] [--pg URL]

``--db postgresql`` runs the same measurement on PostgreSQL (a fresh schema per size; raw is psycopg 3
doing the same work; see bench/sweep_pg.py for what differs).

``--profile`` adds a cProfile of one sweep at the small size, where the ratio is judged (top functions
by cumulative and by own time). ``--db-cache DIR`` keeps the built databases in DIR and reuses them
on the next run (default: a temporary folder, removed at the end).

Exit status: 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RATIO_TARGET = 2.0
EMPTY_TARGET_MS = 1.0
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=ZONE).astimezone(UTC)
TODAY = NOW.astimezone(ZONE).date()
CHUNK = 20_000
UNITS = ("chengguan", "dongcheng", "xiguan", "nanshan", "beihe", "bureau")
CHAINS = ("乳品加工", "冷链物流", "新能源", "装备制造", "文旅康养", "电子信息")
ACTIVE_STAGES = ("lead", "talks", "talks", "signing", "land_prep", "groundbreaking")
SWEEP_COLUMNS = (
    "id, workflow, stage, deadline, deadline_version, stage_seq, last_activity_at, "
    "officer_id, unit_id, leader_id, version"
)
PROJECT_COLUMNS = (
    "id",
    "name",
    "workflow",
    "stage",
    "stage_since",
    "deadline",
    "officer_id",
    "unit_id",
    "leader_id",
    "investor",
    "investor_contact",
    "amount",
    "funds_in_place",
    "chain",
    "land",
    "source",
    "signed_on",
    "contract_start",
    "contract_production",
    "started_on",
    "production_on",
    "held_stage",
    "held_since",
    "held_deadline",
    "hold_until",
    "hold_reason",
    "end_reason",
    "last_activity_at",
    "created_at",
    "updated_at",
    "version",
    "stage_seq",
    "deadline_version",
    "level",
    "next_escalation_at",
)
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
NOTIFICATION_COLUMNS = (
    "project_id",
    "stage_seq",
    "kind",
    "round",
    "level",
    "repeat_no",
    "recipient_id",
    "role",
    "status",
    "attempts",
    "due_at",
    "created_at",
    "next_attempt_at",
    "claimed_at",
    "sent_at",
    "last_error",
    "message_id",
)


# --------------------------------------------------------------------------- values as the ORM stores them


def stamp(value: datetime) -> str:
    """A UTCDateTime as SQLAlchemy stores it on SQLite: naive UTC, always with microseconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@cache
def day_start(day: date) -> str:
    """The start of a local day, stored."""
    return stamp(datetime.combine(day, datetime.min.time(), tzinfo=ZONE))


@cache
def days_ago(days: int, hours: int = 0) -> str:
    return stamp(NOW - timedelta(days=days, hours=hours))


def iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# --------------------------------------------------------------------------- building the database


@dataclass(frozen=True)
class Org:
    units: dict[str, int]  # unit key → id
    officers: dict[int, list[int]]  # unit id → case officer ids
    leader: int


def settings_for(path: Path, tmp: Path) -> Any:
    from followup.settings import load_settings

    return load_settings(
        {"database_url": f"sqlite:///{path}", "data_dir": str(tmp / "data")},
        env={"XDG_CONFIG_HOME": str(tmp / "config")},  # no FOLLOWUP_* variable, no user config file
    )


def make_org(path: Path, tmp: Path) -> Org:
    """The schema and the organisation, through the real application."""
    from followup.app import organisation as org
    from followup.app.runtime import Runtime

    rt = Runtime.open(settings_for(path, tmp)).at(NOW - timedelta(days=800))
    try:
        rt.init()
        for n, key in enumerate(UNITS):
            kind = "department" if key == "bureau" else "township"
            org.add_unit(rt, key, f"单位{n}号" if key != "bureau" else "县投资促进局", kind)
        for n, key in enumerate(UNITS):
            org.add_official(
                rt, f"head_{key}", name=f"主任{n}", email=f"head_{key}@example.gov.cn", unit=key, head=True
            )
            for k in range(2):
                name, email = f"专员{n}{k}", f"officer_{key}_{k}@example.gov.cn"
                org.add_official(rt, f"officer_{key}_{k}", name=name, email=email, unit=key)
        org.add_official(
            rt, "leader", name="刘强", email="leader@example.gov.cn", unit="bureau", roles=["leader"]
        )
        org.add_official(
            rt, "duban", name="徐丽", email="duban@example.gov.cn", unit="bureau", roles=["supervision"]
        )
    finally:
        rt.close()
    con = sqlite3.connect(path)
    try:
        units = dict(con.execute("SELECT key, id FROM units"))
        officers: dict[int, list[int]] = {}
        for oid, unit_id in con.execute(
            "SELECT id, unit_id FROM officials WHERE key LIKE 'officer_%' ORDER BY id"
        ):
            officers.setdefault(unit_id, []).append(oid)
        leader = con.execute("SELECT id FROM officials WHERE key = 'leader'").fetchone()[0]
    finally:
        con.close()
    return Org(units, officers, leader)


def is_due(i: int, projects: int, due: int) -> bool:
    step = projects // due
    return i % step == 0 and i // step < due


def project_rows(org: Org, projects: int, due: int) -> Iterator[tuple[tuple[Any, ...], list[Any], list[Any]]]:
    """(project row, its 3 history lines, its 2 old notifications) for every project, ids 1…N."""
    unit_ids = [org.units[k] for k in UNITS]
    k = 0  # index among the due projects
    for i in range(projects):
        pid = i + 1
        unit_id = unit_ids[i % len(unit_ids)]
        officer = org.officers[unit_id][(i // len(unit_ids)) % 2]
        leader = org.leader if i % 3 == 0 else None
        created_days = 200 + i % 300
        signed_on = contract_start = contract_production = started_on = production_on = None
        end_reason = level = None
        if is_due(i, projects, due):
            stage = "talks"
            passed = TODAY - timedelta(days=1 + k % 14)  # yellow reached, red (20 working days) ahead
            deadline: date | None = passed
            since = day_start(passed - timedelta(days=90))
            quiet = 3 + k % 25  # quiet for 14 days or more: stale as well
            level, next_at = "blue", day_start(passed + timedelta(days=1))
            k += 1
        elif i % 20 in (7, 13):
            stage, deadline, next_at = ("production" if i % 20 == 7 else "terminated"), None, None
            since, quiet = days_ago(30 + i % 60), 30 + i % 60
            signed_on = TODAY - timedelta(days=150 + i % 60)
            if stage == "production":
                contract_start = started_on = TODAY - timedelta(days=100 + i % 60)
                contract_production = production_on = TODAY - timedelta(days=30 + i % 60)
            else:
                end_reason = "投资方另选址"
        else:
            stage = ACTIVE_STAGES[i % len(ACTIVE_STAGES)]
            deadline = TODAY + timedelta(days=8 + i % 80)
            since, quiet = days_ago(20 + i % 40), i % 5
            next_at = day_start(min(deadline - timedelta(days=7), TODAY + timedelta(days=7 - quiet)))
            if stage in ("signing", "land_prep", "groundbreaking"):
                signed_on = TODAY - timedelta(days=20 + i % 40)
            if stage == "groundbreaking":
                started_on = signed_on
        last_activity = days_ago(quiet, 2)
        created = days_ago(created_days)
        amount = 50_000 + (i % 997) * 1_000  # hundredths of 万元
        row = (
            pid,
            f"招商项目{pid:07d}（{CHAINS[i % len(CHAINS)]}）",
            "investment",
            stage,
            since,
            iso(deadline),
            officer,
            unit_id,
            leader,
            f"投资集团{i % 5000:04d}有限公司",
            "张经理 13800000000",
            amount,
            None,
            CHAINS[i % len(CHAINS)],
            12_000 + i % 500,  # hundredths of 亩
            "以商招商",
            iso(signed_on),
            iso(contract_start),
            iso(contract_production),
            iso(started_on),
            iso(production_on),
            None,
            None,
            None,
            None,
            None,
            end_reason,
            last_activity,
            created,
            last_activity,
            1,
            1,
            1,
            level,
            next_at,
        )
        changes = json.dumps({"investor": row[9], "amount": amount / 100, "chain": row[13]})
        events = [
            (pid, "created", created, created, officer, None, "lead", None, changes),
            (pid, "move", since, since, officer, "lead", stage, None, None),
            (
                pid,
                "followup",
                last_activity,
                last_activity,
                officer,
                stage,
                stage,
                "投资方来县考察，初步确定选址。",
                None,
            ),
        ]
        old = days_ago(created_days // 2)
        older = days_ago(created_days // 2 + 20)
        round_old = "s" + (NOW - timedelta(days=created_days // 2 + 40)).strftime("%Y%m%dT%H%M%S")
        notes = [
            (pid, 1, "stale", round_old, "stale", 0, officer, "case_officer", "sent", 1, older, older, older,
             None, older, None, f"<{pid}.1@followup.example.gov.cn>"),
            (pid, 1, "deadline", "d1", "blue", 0, officer, "case_officer", "sent", 1, old, old, old,
             None, old, None, f"<{pid}.2@followup.example.gov.cn>"),
        ]  # fmt: skip
        yield row, events, notes


def insert_sql(table: str, columns: Sequence[str], conflict: str = "") -> str:
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){conflict}"


def bulk_load(path: Path, org: Org, projects: int, due: int) -> None:
    """Projects, history and old notifications with executemany in chunks; indexes rebuilt after."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA cache_size=-200000")
        tables = ("projects", "project_events", "notifications")
        indexes = con.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join('?' * len(tables))})",
            tables,
        ).fetchall()
        con.execute("BEGIN")
        for name, _sql in indexes:  # the exact CREATE INDEX statements are replayed below
            con.execute(f'DROP INDEX "{name}"')
        p_sql = insert_sql("projects", PROJECT_COLUMNS)
        e_sql = insert_sql("project_events", EVENT_COLUMNS)
        n_sql = insert_sql("notifications", NOTIFICATION_COLUMNS)
        p_rows: list[Any] = []
        e_rows: list[Any] = []
        n_rows: list[Any] = []
        for row, events, notes in project_rows(org, projects, due):
            p_rows.append(row)
            e_rows.extend(events)
            n_rows.extend(notes)
            if len(p_rows) >= CHUNK:
                con.executemany(p_sql, p_rows)
                con.executemany(e_sql, e_rows)
                con.executemany(n_sql, n_rows)
                p_rows, e_rows, n_rows = [], [], []
        con.executemany(p_sql, p_rows)
        con.executemany(e_sql, e_rows)
        con.executemany(n_sql, n_rows)
        for _name, sql in indexes:
            con.execute(sql)
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def build(path: Path, tmp: Path, projects: int, due: int) -> float:
    start = time.perf_counter()
    org = make_org(path, tmp)
    bulk_load(path, org, projects, due)
    return time.perf_counter() - start


def fresh_copy(base: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(base, target)


# --------------------------------------------------------------------------- the two sides


@dataclass
class Work:
    """What the real sweep wrote on its first run: the raw side writes the same."""

    notifications: list[tuple[Any, ...]]
    looks: list[tuple[Any, ...]]  # (level, next_escalation_at, id, version)


def open_app(path: Path, tmp: Path) -> Any:
    """The application on ``path``, its connection opened and used once (schema check included)."""
    from sqlalchemy import text

    from followup.app.runtime import Runtime

    rt = Runtime.open(settings_for(path, tmp)).at(NOW)
    with rt.store.reading() as session:
        session.execute(text("SELECT count(*) FROM officials")).scalar()
    return rt


def open_raw(path: Path) -> sqlite3.Connection:
    """A connection set up as ``followup.store.db`` sets its own, used once."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=5000")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("SELECT count(*) FROM officials").fetchone()
    return con


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def read_back(path: Path, first_new_id: int, due_ids: list[int]) -> Work:
    con = sqlite3.connect(path)
    try:
        cols = ", ".join(NOTIFICATION_COLUMNS)
        notes = con.execute(f"SELECT {cols} FROM notifications WHERE id >= ? ORDER BY id", (first_new_id,))
        looks = []
        for chunk in range(0, len(due_ids), 500):
            ids = due_ids[chunk : chunk + 500]
            looks.extend(
                con.execute(
                    f"SELECT level, next_escalation_at, id, version FROM projects "
                    f"WHERE id IN ({', '.join('?' * len(ids))})",
                    ids,
                )
            )
        return Work(notes.fetchall(), looks)
    finally:
        con.close()


def raw_sweep(con: sqlite3.Connection, work: Work, now: str) -> tuple[int, int]:
    """The same database work as the sweep, in one transaction: (rows selected, notifications inserted)."""
    con.execute("BEGIN IMMEDIATE")
    con.execute("SELECT id, key FROM officials WHERE active = 1").fetchall()
    con.execute("SELECT id, unit_id FROM officials WHERE active = 1 AND is_head = 1").fetchall()
    con.execute("SELECT official_id, role FROM official_roles ORDER BY official_id").fetchall()
    due = con.execute(
        f"SELECT {SWEEP_COLUMNS} FROM projects WHERE next_escalation_at <= ?", (now,)
    ).fetchall()
    before = con.total_changes
    con.executemany(
        insert_sql("notifications", NOTIFICATION_COLUMNS, " ON CONFLICT DO NOTHING"), work.notifications
    )
    inserted = con.total_changes - before
    con.executemany(
        "UPDATE projects SET level = ?, next_escalation_at = ? WHERE id = ? AND version = ?", work.looks
    )
    con.execute("COMMIT")
    return len(due), inserted


def raw_empty(con: sqlite3.Connection, now: str) -> int:
    con.execute("BEGIN IMMEDIATE")
    rows = con.execute(
        f"SELECT {SWEEP_COLUMNS} FROM projects WHERE next_escalation_at <= ?", (now,)
    ).fetchall()
    con.execute("COMMIT")
    return len(rows)


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


@dataclass
class SizeResult:
    projects: int
    build_s: float
    sweep_ms: float
    raw_ms: float
    empty_ms: float
    raw_empty_ms: float
    queued: int
    plan: str


def measure(base: Path, tmp: Path, projects: int, due: int, repeat: int, empty_runs: int) -> SizeResult:
    from followup.app.escalation import sweep

    run_db = tmp / "run.db"
    now_s = stamp(NOW)
    con = sqlite3.connect(base)
    try:
        due_ids = [
            r[0] for r in con.execute("SELECT id FROM projects WHERE next_escalation_at <= ?", (now_s,))
        ]
        first_new = con.execute("SELECT max(id) FROM notifications").fetchone()[0] + 1
        plan = " / ".join(
            r[-1]
            for r in con.execute(
                f"EXPLAIN QUERY PLAN SELECT {SWEEP_COLUMNS} FROM projects WHERE next_escalation_at <= ?",
                (now_s,),
            )
        )
    finally:
        con.close()
    if len(due_ids) != due:
        raise SystemExit(f"the built database has {len(due_ids)} projects due, expected {due}")
    sweeps: list[float] = []
    raws: list[float] = []
    empties: list[float] = []
    raw_empties: list[float] = []
    work: Work | None = None
    queued = 0

    def run_sweep() -> None:
        nonlocal work, queued
        fresh_copy(base, run_db)
        app = open_app(run_db, tmp)
        try:
            seconds, result = timed(lambda: sweep(app))
            if result.looked_at != due or result.queued == 0:
                raise SystemExit(f"sweep looked at {result.looked_at}, queued {result.queued}")
            queued = result.queued
            sweeps.append(seconds)
            empties.append(median_ms(lambda: sweep(app), empty_runs))
            if sweep(app).looked_at != 0:
                raise SystemExit("the empty sweep found projects due")
        finally:
            app.close()
        if work is None:
            work = read_back(run_db, first_new, due_ids)

    def run_raw() -> None:
        assert work is not None
        fresh_copy(base, run_db)
        con = open_raw(run_db)
        try:
            seconds, (selected, inserted) = timed(lambda: raw_sweep(con, work, now_s))
            if selected != due or inserted != queued:
                raise SystemExit(f"raw selected {selected}, inserted {inserted}; the sweep queued {queued}")
            raws.append(seconds)
            raw_empties.append(median_ms(lambda: raw_empty(con, now_s), empty_runs))
        finally:
            con.close()

    for r in range(repeat):
        order = (run_sweep, run_raw) if r % 2 == 0 else (run_raw, run_sweep)
        for fn in order:
            fn()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run_db}{suffix}").unlink(missing_ok=True)
    return SizeResult(
        projects,
        0.0,
        statistics.median(sweeps) * 1e3,
        statistics.median(raws) * 1e3,
        statistics.median(empties),
        statistics.median(raw_empties),
        queued,
        plan,
    )


def profile(base: Path, tmp: Path, top: int = 25) -> None:
    from followup.app.escalation import sweep

    run_db = tmp / "run.db"
    fresh_copy(base, run_db)
    app = open_app(run_db, tmp)
    try:
        prof = cProfile.Profile()
        prof.enable()
        sweep(app)
        prof.disable()
    finally:
        app.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run_db}{suffix}").unlink(missing_ok=True)
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).strip_dirs().sort_stats(key).print_stats(top)
        text = out.getvalue()
        print(f"\ncProfile of one sweep, by {key} (top {top}):")
        print(text[text.find("   ncalls") :].rstrip())


# --------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "OVER"


def report(small: SizeResult, big: SizeResult, due: int) -> bool:
    print(f"\n{'projects':>10}{'due':>7}{'queued':>8}{'build s':>9}{'sweep ms':>10}{'raw ms':>9}"
          f"{'ratio':>8}{'  ≤2×':6}{'empty ms':>10}{'raw empty':>11}{'  <1ms':6}")  # fmt: skip
    ok = True
    for size in (small, big):
        ratio = size.sweep_ms / size.raw_ms
        ratio_ok = ratio <= RATIO_TARGET
        empty_ok = size.empty_ms < EMPTY_TARGET_MS
        ok = ok and ratio_ok and empty_ok
        print(
            f"{size.projects:>10}{due:>7}{size.queued:>8}{size.build_s:>9.1f}{size.sweep_ms:>10.1f}"
            f"{size.raw_ms:>9.1f}{ratio:>7.2f}×  {verdict(ratio_ok):4}{size.empty_ms:>10.3f}"
            f"{size.raw_empty_ms:>11.3f}  {verdict(empty_ok)}"
        )
    sweep_growth = big.sweep_ms / small.sweep_ms
    raw_growth = big.raw_ms / small.raw_ms
    growth_ok = sweep_growth <= raw_growth
    ok = ok and growth_ok
    print(
        f"\ngrowth {small.projects} → {big.projects}: sweep {sweep_growth:.2f}×, raw {raw_growth:.2f}×"
        f"  (sweep ≤ raw: {verdict(growth_ok)})"
    )
    print(f"query plan of the selection: {small.plan}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--projects", type=int, default=100_000, help="the small size (default 100000)")
    parser.add_argument("--due", type=int, default=5_000, help="projects due at both sizes (default 5000)")
    parser.add_argument("--big", type=int, default=1_000_000, help="the big size (default 1000000)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed sweeps and raw runs per size (default 3)"
    )
    parser.add_argument("--empty-runs", type=int, default=200, help="empty sweeps per median (default 200)")
    parser.add_argument("--profile", action="store_true", help="cProfile one sweep at --projects")
    parser.add_argument("--db-cache", type=Path, help="keep and reuse the built databases in this folder")
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the backend (default sqlite; postgresql: see bench/sweep_pg.py)",
    )
    parser.add_argument(
        "--pg", default=PG_DEFAULT, help=f"PostgreSQL URL for --db postgresql (default {PG_DEFAULT})"
    )
    args = parser.parse_args(argv)
    if not 0 < args.due <= args.projects <= args.big or args.repeat < 1 or args.empty_runs < 1:
        parser.error("need 0 < --due ≤ --projects ≤ --big, --repeat ≥ 1, --empty-runs ≥ 1")
    if args.db == "postgresql":
        import sweep_pg  # bench/ is on sys.path: this script's own folder

        with tempfile.TemporaryDirectory(prefix="followup-bench-sweep-pg-") as name:
            return 0 if sweep_pg.run(args, Path(name)) else 1

    print(
        f"followup sweep on SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}; "
        f"now = {NOW.astimezone(ZONE).isoformat()}; {args.due} due; {args.repeat} repeats, "
        f"empty sweep median of {args.empty_runs}"
    )
    with tempfile.TemporaryDirectory(prefix="followup-bench-sweep-") as name:
        tmp = Path(name)
        cache = args.db_cache or tmp
        cache.mkdir(parents=True, exist_ok=True)
        results = []
        for projects in (args.projects, args.big):
            base = cache / f"sweep-{projects}-{args.due}.db"
            build_s = 0.0
            if not base.exists():
                partial = cache / f"{base.name}.partial"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{partial}{suffix}").unlink(missing_ok=True)
                build_s = build(partial, tmp, projects, args.due)
                partial.rename(base)
                print(f"built {projects} projects in {build_s:.1f} s ({base.stat().st_size / 2**20:.0f} MiB)")
            else:
                print(f"reusing {base}")
            size = measure(base, tmp, projects, args.due, args.repeat, args.empty_runs)
            size.build_s = build_s
            results.append(size)
            print(
                f"  {projects}: sweep {size.sweep_ms:.1f} ms, raw {size.raw_ms:.1f} ms, "
                f"empty {size.empty_ms:.3f} ms"
            )
        ok = report(results[0], results[1], args.due)
        if args.profile:
            profile(cache / f"sweep-{args.projects}-{args.due}.db", tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
