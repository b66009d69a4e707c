"""Two real processes racing on one project, on both backends (a SQLite file and a PostgreSQL schema).

The test holds the write lock (the project's row on PostgreSQL, the whole file on SQLite), starts the
installed ``followup`` command twice, waits until both are queued behind the lock, then releases it: one
move lands, and the other is checked against its result. The project and its history are read back
through the use cases.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text

from followup.app import ledger
from followup.app.runtime import Runtime
from followup.store.db import normalise_url
from tests.helpers import Cli, followup_executable


def _hold_write_lock(url: str) -> tuple[Engine, Connection]:
    """Block writers on the project row (PostgreSQL) or the whole file (SQLite) until released."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    conn = engine.connect()
    if url.startswith("sqlite"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("SELECT id FROM projects WHERE id = 1 FOR UPDATE")
    return engine, conn


def _waiting_on_locks(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'SELECT projects.id%'"  # the text is cut at 1 kB: no FOR UPDATE
            )
        ).scalar_one()
    engine.dispose()
    return int(count)


def _race(db_url: str, tmp_path: Path, commands: dict[str, list[str]]) -> dict[str, tuple[int, str, str]]:
    """Start both commands while a third party holds the write lock, wait until both are queued
    behind it, release it, and collect (exit code, stdout, stderr) of each."""
    run = Cli(db_url, tmp_path, subprocess=True)
    url = normalise_url(db_url)
    engine, lock = _hold_write_lock(url)
    try:
        procs = {
            name: subprocess.Popen(
                [followup_executable(), *args, "--now", "2026-06-02T10:00+08:00"],
                env=run.process_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, args in commands.items()
        }
        if url.startswith("sqlite"):
            time.sleep(2.5)  # both have started and wait for the write lock (busy_timeout is 5 s)
        else:
            deadline = time.monotonic() + 30
            while _waiting_on_locks(url) < 2:
                assert time.monotonic() < deadline, "the two processes never both queued for the row"
                time.sleep(0.05)
        assert all(p.poll() is None for p in procs.values()), "a process did not wait for the lock"
    finally:
        lock.exec_driver_sql("ROLLBACK")
        lock.close()
        engine.dispose()
    return {name: (p.wait(60), *p.communicate()) for name, p in procs.items()}


def test_two_processes_making_the_same_move(in_talks: Runtime, db_url: str, tmp_path: Path) -> None:
    """Both officials sign project 1 at the same moment: one move lands, the other is told why not."""
    results = _race(
        db_url,
        tmp_path,
        {
            "a": ["advance", "1", "signing", "--by", "lina", "--set", "amount=5000"],
            "b": ["advance", "1", "signing", "--by", "wangjun", "--set", "amount=6000"],
        },
    )
    winners = [name for name, (code, _, _) in results.items() if code == 0]
    assert len(winners) == 1, results
    loser = "b" if winners == ["a"] else "a"
    code, out, err = results[loser]
    assert (code, out) == (6, "")
    assert err == "error: the project is already in 签约 (signing)\n"
    project = ledger.get_project(in_talks, 1).to_dict()
    assert project["stage"] == "signing"
    assert project["amount"] == (5000 if winners == ["a"] else 6000)  # the loser's amount is not written
    assert project["version"] == 2
    history = [(e.from_stage, e.to_stage, e.by.key if e.by else None) for e in ledger.history(in_talks, 1)]
    assert history[1:] == [("talks", "signing", "lina" if winners == ["a"] else "wangjun")]


def test_two_processes_making_different_moves(in_talks: Runtime, db_url: str, tmp_path: Path) -> None:
    """One signs while the other puts it on hold: the second is checked against the first's result,
    so either both land in order (signed, then held) or the hold lands and signing is refused."""
    results = _race(
        db_url,
        tmp_path,
        {
            "sign": ["advance", "1", "signing", "--by", "lina", "--set", "amount=5000"],
            "hold": ["hold", "1", "--by", "wangjun", "--reason", "资金调整", "--until", "2026-12-01"],
        },
    )
    project = ledger.get_project(in_talks, 1).to_dict()
    history = [(e.from_stage, e.to_stage) for e in ledger.history(in_talks, 1) if e.kind == "move"]
    assert results["hold"][0] == 0, results
    if results["sign"][0] == 0:
        assert history == [("talks", "signing"), ("signing", "on_hold")]
        assert project["held_stage"] == "signing" and project["amount"] == 5000
        assert project["version"] == 3
    else:
        code, out, err = results["sign"]
        assert (code, out) == (6, "")
        assert err.startswith("error: cannot move from 暂缓 (on_hold) to 签约 (signing); allowed: talks")
        assert history == [("talks", "on_hold")]
        assert project["held_stage"] == "talks" and project["amount"] is None
        assert project["version"] == 2
    assert project["stage"] == "on_hold"
