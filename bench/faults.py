"""Fault runs: seeded, repeatable, printing figures (issue 7's "must show 2"). Not part of the test suite.

Three runs, each against a real aiosmtpd server in this process that records every Message-ID it takes:

kills
    ``followup send`` and ``followup daemon`` (the installed command, real processes, SQLite) are killed
    with SIGKILL at ``--kills`` points or more, chosen by a seeded random generator: each process is
    killed a random moment (0 to 3× the server's delay) after the server took its first, second or
    third message (chosen at random), while messages are in flight (the server takes ``--delay``
    seconds to confirm each). After each kill the next process starts once the dead one's claim lease
    (``FOLLOWUP_CLAIM_LEASE``, 1 s here) has run out. The county owes a consolidated message per
    officer and 20-warning messages to the unit head.
    Figures: notifications lost (must be 0), messages the server got more than once, resent messages
    per kill (must be ≤ 1), the most warnings in a resent message (must be ≤ 20).
outage
    In-process (``followup.cli.main``, SQLite, a replayed clock): the mail server is down for
    ``--outage-hours`` hours while ``followup send`` runs every minute, then it comes back. Figures: the
    exit codes during the outage (must all be 8), notifications failed (must be 0), the warnings
    ``followup status`` prints meanwhile, the minutes until everything is delivered after recovery.
daemons
    ``--daemons`` daemons (real processes) on one PostgreSQL schema, their clocks (``--now``) 3 minutes
    apart, deliver one outbox. Figures: messages, duplicates at the server (must be 0), notifications
    left undelivered (must be 0).

Run from the repository root::

    .venv/bin/python bench/faults.py [--seed 7] [--kills 50] [--delay 0.1] [--outage-hours 3]
                                     [--daemons 4] [--pg URL] [--only kills,outage,daemons]

Exit status: 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 10, 19, 10, 0, tzinfo=SH)  # a working Monday; each lead entered 09-01 is overdue
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LEASE = "1"  # seconds: a killed sender's claim comes back this long after its last renewal


# --------------------------------------------------------------------------- the mail server


@dataclass
class Server:
    """aiosmtpd on loopback recording each Message-ID; ``delay`` before confirming; stop and start."""

    delay: float = 0.0
    port: int = 0
    ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    def __post_init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
        mid = next(
            (
                line.split(":", 1)[1].strip()
                for line in head.split("\r\n")
                if line.lower().startswith("message-id:")
            ),
            "",
        )
        with self.lock:
            self.ids.append(mid)
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def count(self) -> int:
        with self.lock:
            return len(self.ids)

    def env(self) -> dict[str, str]:
        return {
            "FOLLOWUP_SMTP_HOST": "127.0.0.1",
            "FOLLOWUP_SMTP_PORT": str(self.port),
            "FOLLOWUP_SMTP_SECURITY": "none",
        }


# --------------------------------------------------------------------------- the county


def settings_for(url: str, data: Path) -> Any:
    from followup.settings import load_settings

    return load_settings(
        {"database_url": url, "data_dir": str(data)}, env={"XDG_CONFIG_HOME": str(data / "cfg")}
    )


def seed(url: str, data: Path, *, officers: int, projects: int) -> int:
    """A township: its head and ``officers`` case officers; ``projects`` leads entered 2026-09-01, each
    owing a yellow and a staleness warning to its officer and the head on MONDAY. Returns the number
    of notifications queued (by a sweep at MONDAY)."""
    from followup.app import escalation, ledger, organisation
    from followup.app.ledger import ProjectInput
    from followup.app.runtime import Runtime

    rt = Runtime.open(settings_for(url, data)).at(datetime(2026, 1, 5, 9, 0, tzinfo=SH))
    try:
        rt.init()
        organisation.add_unit(rt, "chengguan", "城关镇人民政府", "township")
        organisation.add_official(
            rt, "wangjun", name="王军", email="wangjun@example.gov.cn", unit="chengguan", head=True
        )
        for i in range(officers):
            organisation.add_official(
                rt, f"o{i:02d}", name=f"干部{i:02d}", email=f"o{i:02d}@example.gov.cn", unit="chengguan"
            )
        entered = rt.at(datetime(2026, 9, 1, 10, 0, tzinfo=SH))
        for i in range(projects):
            ledger.add_project(
                entered,
                ProjectInput(name=f"招商项目{i:04d}", officer=f"o{i % officers:02d}", unit="chengguan"),
                stage="lead",
                since=datetime(2026, 9, 1, tzinfo=SH),
            )
        return escalation.sweep(rt.at(MONDAY)).queued
    finally:
        rt.close()


def process_env(url: str, data: Path, server: Server, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    return {
        **base,
        "PYTHONWARNINGS": "ignore",
        "XDG_CONFIG_HOME": str(data / "cfg"),
        "FOLLOWUP_DATABASE_URL": url,
        "FOLLOWUP_DATA_DIR": str(data),
        **server.env(),
        **extra,
    }


def followup() -> str:
    found = shutil.which("followup", path=str(Path(sys.executable).parent)) or shutil.which("followup")
    if not found:
        raise SystemExit("the followup command is not installed in this environment")
    return found


def sqlite_rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        return conn.execute(sql, params).fetchall()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --------------------------------------------------------------------------- 1. kill -9


@dataclass
class KillFigures:
    kills: int = 0
    kills_send: int = 0
    kills_daemon: int = 0
    rounds: int = 0
    notifications: int = 0
    messages: int = 0  # distinct Message-IDs the server took
    lost: int = 0
    duplicates: int = 0  # copies beyond the first
    most_copies: int = 0
    most_warnings_resent: int = 0
    seconds: float = 0.0


def kill_one(kind: str, env: dict[str, str], server: Server, rng: random.Random) -> bool:
    """Start ``followup send`` or the daemon; once the server took its first, second or third message
    (chosen at random), wait a random moment and SIGKILL it. False when it had nothing to send (the
    rows were still leased) or finished first."""
    now = MONDAY.isoformat()
    args = ["send", "--now", now] if kind == "send" else ["daemon", "--now", now, "--send-every", "1"]
    target = server.count() + rng.randint(1, 3)
    proc = subprocess.Popen(
        [followup(), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while server.count() < target and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    sending = proc.poll() is None and server.count() >= target
    if sending:
        time.sleep(rng.uniform(0, 3 * server.delay))
    proc.kill()  # SIGKILL
    proc.wait()
    return sending


def kill_round(tmp: Path, rng: random.Random, server: Server, target: int, figures: KillFigures) -> None:
    """One county, killed as often as it has messages to kill into, then drained and checked."""
    figures.rounds += 1
    data = tmp / f"kills-{figures.rounds}"
    db = data / "followup.db"
    url = f"sqlite:///{db}"
    seed(url, data, officers=40, projects=200)  # warnings: 10 for each officer, 400 for the head
    env = process_env(url, data, server, FOLLOWUP_CLAIM_LEASE=LEASE)
    server.ids.clear()

    def waiting() -> int:
        return int(
            sqlite_rows(db, "SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')")[0][0]
        )

    while figures.kills < target and waiting():
        kind = rng.choice(("send", "daemon"))
        if kill_one(kind, env, server, rng):
            figures.kills += 1
            figures.kills_send += kind == "send"
            figures.kills_daemon += kind == "daemon"
        time.sleep(float(LEASE) + 0.2)  # the dead one's claim runs out; the next takes the rows back
    for _ in range(5):  # drain: no more kills
        if not waiting():
            break
        later = (MONDAY + timedelta(hours=1)).isoformat()  # after what the daemons queued on their clocks
        subprocess.run([followup(), "send", "--now", later], env=env, capture_output=True, check=False)
        time.sleep(float(LEASE))
    statuses = Counter(dict(sqlite_rows(db, "SELECT status, count(*) FROM notifications GROUP BY status")))
    figures.notifications += sum(statuses.values())  # the warnings and the digests the daemons queued
    figures.lost += sum(n for status, n in statuses.items() if status not in ("sent", "obsolete"))
    recorded = dict(
        sqlite_rows(db, "SELECT message_id, count(*) FROM notifications WHERE status = 'sent' GROUP BY 1")
    )
    copies = Counter(server.ids)
    figures.lost += sum(n for mid, n in recorded.items() if mid not in copies)  # recorded but never taken
    figures.messages += len(copies)
    figures.duplicates += sum(n - 1 for n in copies.values())
    figures.most_copies = max(figures.most_copies, *copies.values())
    resent = [recorded.get(mid, 0) for mid, n in copies.items() if n > 1]
    figures.most_warnings_resent = max([figures.most_warnings_resent, *resent])


def run_kills(tmp: Path, seed_value: int, target: int, delay: float) -> bool:
    rng = random.Random(seed_value)
    server = Server(delay=delay)
    server.start()
    figures = KillFigures()
    start = time.monotonic()
    try:
        while figures.kills < target:
            kill_round(tmp, rng, server, target, figures)
    finally:
        server.stop()
    figures.seconds = time.monotonic() - start
    per_kill = figures.duplicates / figures.kills
    ok = figures.lost == 0 and figures.duplicates <= figures.kills and figures.most_warnings_resent <= 20
    print(
        f"\nkill -9: {figures.kills} kills ({figures.kills_send} of `send`, "
        f"{figures.kills_daemon} of the daemon) in {figures.rounds} round(s), seed {seed_value}, "
        f"server delay {delay:g} s, {figures.seconds:.0f} s"
    )
    f = figures
    print(
        f"  notifications {f.notifications}, messages {f.messages}, "
        f"lost {f.lost}  (0: {verdict(f.lost == 0)})"
    )
    print(
        f"  resent messages {f.duplicates} = {per_kill:.2f} per kill  "
        f"(≤ 1: {verdict(f.duplicates <= f.kills)}); "
        f"most copies of one message {f.most_copies}"
    )
    biggest = f.most_warnings_resent
    print(f"  most warnings in a resent message {biggest}  (≤ 20: {verdict(biggest <= 20)})")
    return ok


# --------------------------------------------------------------------------- 2. a long outage


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def cli(*args: str) -> tuple[int, str, str]:
    from followup.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def run_outage(tmp: Path, hours: float) -> bool:
    data = tmp / "outage"
    db = data / "followup.db"
    url = f"sqlite:///{db}"
    queued = seed(url, data, officers=20, projects=368)  # 1,472 notifications, as in the issue
    server = Server()
    codes: Counter[int] = Counter()
    warnings: list[str] = []
    start = time.monotonic()
    env = {k: v for k, v in process_env(url, data, server).items() if k.startswith(("FOLLOWUP_", "XDG_"))}
    with environment(env):
        minute = 0
        while minute < hours * 60:  # down: `send` every minute, as the daemon would
            code, _, _ = cli("send", "--now", (MONDAY + timedelta(minutes=minute)).isoformat())
            codes[code] += 1
            minute += 1
        _, _, status_err = cli("status", "--now", (MONDAY + timedelta(minutes=minute)).isoformat())
        warnings = [line for line in status_err.splitlines() if line.startswith("warning:")]
        failed_during = int(
            sqlite_rows(db, "SELECT count(*) FROM notifications WHERE status = 'failed'")[0][0]
        )
        server.start()
        recovered = minute
        try:
            while (
                sqlite_rows(db, "SELECT count(*) FROM notifications WHERE status != 'sent'")[0][0]
                and minute < recovered + 60
            ):
                cli("send", "--now", (MONDAY + timedelta(minutes=minute)).isoformat())
                minute += 1
        finally:
            server.stop()
    statuses = Counter(dict(sqlite_rows(db, "SELECT status, count(*) FROM notifications GROUP BY status")))
    attempts = Counter(
        dict(sqlite_rows(db, "SELECT attempts, count(*) FROM notifications GROUP BY attempts"))
    )
    failed_after = statuses.get("failed", 0)
    ok = set(codes) == {8} and failed_during == 0 and statuses == Counter({"sent": queued})
    seconds = time.monotonic() - start
    print(f"\noutage: mail server down {hours:g} h (replayed), `followup send` every minute; ", end="")
    print(f"{queued} notifications, {seconds:.0f} s")
    print(f"  exit codes during the outage: {dict(codes)}  (all 8: {verdict(set(codes) == {8})})")
    failed_ok = verdict(failed_during == 0 and not failed_after)
    print(f"  failed during the outage {failed_during}, after recovery {failed_after}  (0: {failed_ok})")
    print(
        f"  delivered {statuses.get('sent', 0)} of {queued} within {minute - recovered} minute(s) of the "
        f"recovery; attempts per notification {dict(attempts)}"
    )
    for line in warnings:
        print(f"  status during the outage: {line[:150]}{'…' if len(line) > 150 else ''}")
    return ok


# --------------------------------------------------------------------------- 3. daemons on PostgreSQL


@contextlib.contextmanager
def pg_schema(admin_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_daemons(tmp: Path, count: int, pg: str, delay: float) -> bool:
    from sqlalchemy import create_engine, text

    data = tmp / "daemons"
    server = Server(delay=delay)
    server.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with pg_schema(pg) as url:
            queued = seed(url, data, officers=60, projects=300)
            engine = create_engine(url)

            def waiting() -> int:
                with engine.connect() as conn:
                    return int(
                        conn.execute(
                            text("SELECT count(*) FROM notifications WHERE status != 'sent'")
                        ).scalar_one()
                    )

            start = time.monotonic()
            for i in range(count):
                now = (MONDAY + timedelta(minutes=3 * i)).isoformat()  # clocks 3 minutes apart
                procs.append(
                    subprocess.Popen(
                        [followup(), "daemon", "--now", now, "--sweep-every", "5", "--send-every", "1"],
                        env=process_env(url, data, server),
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            deadline = time.monotonic() + 300
            while waiting() and time.monotonic() < deadline:
                time.sleep(0.2)
            seconds = time.monotonic() - start
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=60)
            left = waiting()
            with engine.connect() as conn:
                notifications = int(conn.execute(text("SELECT count(*) FROM notifications")).scalar_one())
            engine.dispose()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        server.stop()
    copies = Counter(server.ids)
    duplicates = sum(n - 1 for n in copies.values())
    ok = duplicates == 0 and left == 0
    print(f"\n{count} daemons on one PostgreSQL, clocks 3 minutes apart (--now +0, +3, … min), ", end="")
    print(f"server delay {delay:g} s")
    print(
        f"  {notifications} notifications ({queued} warnings and the digests) in {len(copies)} messages, "
        f"delivered in {seconds:.1f} s"
    )
    print(f"  duplicates at the server {duplicates}  (0: {verdict(duplicates == 0)}); ", end="")
    print(f"left undelivered {left}  (0: {verdict(left == 0)})")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=7, help="random seed of the kill points (default 7)")
    parser.add_argument("--kills", type=int, default=50, help="kill -9 at least this many times (default 50)")
    parser.add_argument(
        "--delay", type=float, default=0.1, help="seconds the server takes to confirm a message"
    )
    parser.add_argument("--outage-hours", type=float, default=3.0, help="length of the outage (default 3)")
    parser.add_argument("--daemons", type=int, default=4, help="daemons on one PostgreSQL (default 4)")
    parser.add_argument("--pg", default=os.environ.get("FOLLOWUP_TEST_PG", PG_DEFAULT), help="PostgreSQL URL")
    parser.add_argument("--only", default="kills,outage,daemons", help="which runs (comma-separated)")
    args = parser.parse_args(argv)
    runs: dict[str, Callable[[Path], bool]] = {
        "kills": lambda tmp: run_kills(tmp, args.seed, args.kills, args.delay),
        "outage": lambda tmp: run_outage(tmp, args.outage_hours),
        "daemons": lambda tmp: run_daemons(tmp, args.daemons, args.pg, args.delay / 4),
    }
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(runs)
    if unknown:
        parser.error(f"unknown run {sorted(unknown)[0]!r}; runs: {', '.join(runs)}")
    print(f"followup fault runs ({', '.join(chosen)}); Python {sys.version.split()[0]}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="followup-bench-faults-") as name:
        for run in chosen:
            ok = runs[run](Path(name)) and ok
    print(f"\n{'all targets met' if ok else 'TARGETS MISSED'}")
    print(json.dumps({"ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
