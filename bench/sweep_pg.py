"""``bench/sweep.py --db postgresql``: the sweep benchmark on PostgreSQL (not run on its own).

The same county, the same due projects and the same two sides as on SQLite (see sweep.py), with these
differences, all forced by the backend:

* the database is a fresh schema on the server (``--pg``, default the test server), dropped at the end;
  the organisation goes in through the application, the projects, their history and their old
  notifications with ``COPY`` (three passes over the same generated rows: the history refers to the
  projects), the secondary indexes rebuilt after the load, then ``ANALYZE``;
* a "fresh copy" is a reset instead: the notifications the last run queued are deleted and the due
  projects' level and next look put back as they were, then ``VACUUM ANALYZE``;
* raw is psycopg 3 (the driver the application uses) doing the same database work in one transaction:
  the three organisation queries, the same selection, ``executemany`` of the same INSERT … ON CONFLICT
  DO NOTHING rows and of the same UPDATEs (psycopg pipelines an ``executemany``).
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sweep as base  # bench/ is on sys.path when bench/sweep.py runs


@contextmanager
def schema(admin_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def connect(url: str, *, autocommit: bool = False) -> Any:
    """A psycopg connection to the schema of ``url`` (a SQLAlchemy URL), in UTC."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    options = u.query.get("options")
    conn = psycopg.connect(
        host=u.host,
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        dbname=u.database,
        options=(options if isinstance(options, str) else "") + " -c timezone=UTC",
        autocommit=autocommit,
    )
    return conn


def settings_for(url: str, tmp: Path) -> Any:
    from followup.settings import load_settings

    return load_settings(
        {"database_url": url, "data_dir": str(tmp / "data")}, env={"XDG_CONFIG_HOME": str(tmp / "config")}
    )


def make_org(url: str, tmp: Path) -> base.Org:
    """The schema and the organisation through the real application, as on SQLite."""
    from followup.app import organisation as org
    from followup.app.runtime import Runtime

    rt = Runtime.open(settings_for(url, tmp)).at(base.NOW - base.timedelta(days=800))
    try:
        rt.init()
        for n, key in enumerate(base.UNITS):
            kind = "department" if key == "bureau" else "township"
            org.add_unit(rt, key, f"单位{n}号" if key != "bureau" else "县投资促进局", kind)
        for n, key in enumerate(base.UNITS):
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
    with connect(url) as conn:
        units = dict(conn.execute("SELECT key, id FROM units").fetchall())
        officers: dict[int, list[int]] = {}
        for oid, unit_id in conn.execute(
            "SELECT id, unit_id FROM officials WHERE key LIKE 'officer_%' ORDER BY id"
        ).fetchall():
            officers.setdefault(unit_id, []).append(oid)
        leader = conn.execute("SELECT id FROM officials WHERE key = 'leader'").fetchone()[0]
    return base.Org(units, officers, leader)


def bulk_load(url: str, org: base.Org, projects: int, due: int) -> None:
    tables = ("projects", "project_events", "notifications")
    with connect(url) as conn:
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename = ANY(%s) AND i.indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(tables),),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table, columns, pick in (
            ("projects", base.PROJECT_COLUMNS, lambda r: [r[0]]),
            ("project_events", base.EVENT_COLUMNS, lambda r: r[1]),
            ("notifications", base.NOTIFICATION_COLUMNS, lambda r: r[2]),
        ):
            with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for generated in base.project_rows(org, projects, due):
                    for row in pick(generated):
                        copy.write_row(row)
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('projects', 'id'), (SELECT max(id) FROM projects))"
        )
    with connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def raw_sweep(conn: Any, work: base.Work, now: Any) -> tuple[int, int]:
    """The sweep's database work in one transaction: (rows selected, notifications inserted)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT id, key FROM officials WHERE active").fetchall()
        cur.execute("SELECT id, unit_id FROM officials WHERE active AND is_head").fetchall()
        cur.execute("SELECT official_id, role FROM official_roles ORDER BY official_id").fetchall()
        due = cur.execute(
            f"SELECT {base.SWEEP_COLUMNS} FROM projects WHERE next_escalation_at <= %s", (now,)
        ).fetchall()
        marks = ", ".join(["%s"] * len(base.NOTIFICATION_COLUMNS))
        cur.executemany(
            f"INSERT INTO notifications ({', '.join(base.NOTIFICATION_COLUMNS)}) VALUES ({marks}) "
            "ON CONFLICT DO NOTHING RETURNING id",
            work.notifications,
            returning=True,
        )
        inserted = 0
        while True:
            inserted += len(cur.fetchall())
            if not cur.nextset():
                break
        cur.executemany(
            "UPDATE projects SET level = %s, next_escalation_at = %s WHERE id = %s AND version = %s",
            work.looks,
        )
    return len(due), inserted


def raw_empty(conn: Any, now: Any) -> int:
    with conn.transaction():
        return len(
            conn.execute(
                f"SELECT {base.SWEEP_COLUMNS} FROM projects WHERE next_escalation_at <= %s", (now,)
            ).fetchall()
        )


@dataclass
class Runs:
    """Both sides at one size, each run on the database put back as the build left it."""

    url: str
    tmp: Path
    due: int
    empty_runs: int
    due_ids: list[int]
    first_new: int  # the first notification id a sweep adds
    saved: list[Any]  # the due projects' (level, next look, id) as built
    sweeps: list[float] = field(default_factory=list)
    raws: list[float] = field(default_factory=list)
    empties: list[float] = field(default_factory=list)
    raw_empties: list[float] = field(default_factory=list)
    work: base.Work | None = None
    queued: int = 0

    def reset(self) -> None:
        with connect(self.url) as conn:
            conn.execute("DELETE FROM notifications WHERE id >= %s", (self.first_new,))
            conn.cursor().executemany(
                "UPDATE projects SET level = %s, next_escalation_at = %s WHERE id = %s", self.saved
            )
        with connect(self.url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE notifications")
            conn.execute("VACUUM ANALYZE projects")

    def sweep(self) -> None:
        from sqlalchemy import text

        from followup.app.escalation import sweep
        from followup.app.runtime import Runtime

        self.reset()
        app = Runtime.open(settings_for(self.url, self.tmp)).at(base.NOW)
        try:
            with app.store.reading() as session:
                session.execute(text("SELECT count(*) FROM officials")).scalar()
            seconds, result = base.timed(lambda: sweep(app))
            if result.looked_at != self.due or result.queued == 0:
                raise SystemExit(f"sweep looked at {result.looked_at}, queued {result.queued}")
            self.queued = result.queued
            self.sweeps.append(seconds)
            self.empties.append(base.median_ms(lambda: sweep(app), self.empty_runs))
        finally:
            app.close()
        if self.work is None:
            self.work = self.read_back()

    def read_back(self) -> base.Work:
        """What the real sweep wrote: the raw side writes the same."""
        with connect(self.url) as conn:
            cols = ", ".join(base.NOTIFICATION_COLUMNS)
            notes = conn.execute(
                f"SELECT {cols} FROM notifications WHERE id >= %s ORDER BY id", (self.first_new,)
            ).fetchall()
            looks = conn.execute(
                "SELECT level, next_escalation_at, id, version FROM projects WHERE id = ANY(%s)",
                (self.due_ids,),
            ).fetchall()
        return base.Work(notes, looks)

    def raw(self) -> None:
        work = self.work
        assert work is not None
        self.reset()
        with connect(self.url) as conn:
            conn.execute("SELECT count(*) FROM officials").fetchone()
            conn.commit()
            seconds, (selected, inserted) = base.timed(lambda: raw_sweep(conn, work, base.NOW))
            if selected != self.due or inserted != self.queued:
                raise SystemExit(
                    f"raw selected {selected}, inserted {inserted}; the sweep queued {self.queued}"
                )
            self.raws.append(seconds)
            self.raw_empties.append(base.median_ms(lambda: raw_empty(conn, base.NOW), self.empty_runs))


def measure(url: str, tmp: Path, projects: int, due: int, repeat: int, empty_runs: int) -> base.SizeResult:
    with connect(url) as conn:
        selection = "FROM projects WHERE next_escalation_at <= %s"
        due_ids = [r[0] for r in conn.execute(f"SELECT id {selection}", (base.NOW,))]
        first_new = conn.execute("SELECT max(id) FROM notifications").fetchone()[0] + 1
        saved = conn.execute(
            "SELECT level, next_escalation_at, id FROM projects WHERE id = ANY(%s)", (due_ids,)
        ).fetchall()
        plan = " / ".join(
            r[0] for r in conn.execute(f"EXPLAIN SELECT {base.SWEEP_COLUMNS} {selection}", (base.NOW,))
        )
    if len(due_ids) != due:
        raise SystemExit(f"the built database has {len(due_ids)} projects due, expected {due}")
    runs = Runs(url, tmp, due, empty_runs, due_ids, first_new, saved)
    for r in range(repeat):
        for fn in (runs.sweep, runs.raw) if r % 2 == 0 else (runs.raw, runs.sweep):
            fn()
    return base.SizeResult(
        projects,
        0.0,
        statistics.median(runs.sweeps) * 1e3,
        statistics.median(runs.raws) * 1e3,
        statistics.median(runs.empties),
        statistics.median(runs.raw_empties),
        runs.queued,
        plan,
    )


def run(args: Any, tmp: Path) -> bool:
    """Build each size in its own schema, measure, report; True when every target is met."""
    with connect(f"{args.pg}") as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    print(
        f"followup sweep on PostgreSQL {version} (psycopg), "
        f"now = {base.NOW.astimezone(base.ZONE).isoformat()}; "
        f"{args.due} due; {args.repeat} repeats, empty sweep median of {args.empty_runs}"
    )
    results = []
    for projects in (args.projects, args.big):
        with schema(args.pg) as url:
            start = time.perf_counter()
            org = make_org(url, tmp)
            bulk_load(url, org, projects, args.due)
            build_s = time.perf_counter() - start
            print(f"built {projects} projects in {build_s:.1f} s")
            size = measure(url, tmp, projects, args.due, args.repeat, args.empty_runs)
            size.build_s = build_s
            results.append(size)
            print(
                f"  {projects}: sweep {size.sweep_ms:.1f} ms, raw {size.raw_ms:.1f} ms, "
                f"empty {size.empty_ms:.3f} ms"
            )
    return base.report(results[0], results[1], args.due)
