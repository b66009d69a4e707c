"""The outbox scenarios' county and what they read back, shared by tests/integration/test_outbox.py and
tests/e2e/test_daemon.py.

Every project enters the ledger at 线索 (lead) on 2026-09-01. Its deadline is 10-01 (30 days), so on
Monday 2026-10-19 it owes the yellow warning (黄灯, second weekly repeat) and a staleness warning
(跟进超时), each to its case officer and, when the unit has one, the unit head.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from followup.app import escalation, ledger
from followup.app.ledger import ProjectInput
from tests.county import County, Person
from tests.helpers import make_runtime
from tests.mailserver import MailServer

SH = ZoneInfo("Asia/Shanghai")
MONDAY = "2026-10-19"  # an ordinary working day


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SH)


def iso(day: str, clock: str = "09:00") -> str:
    return at(day, clock).isoformat()


def township(officers: int, *, head: bool = True) -> County:
    """One township: its head (王军, if ``head``) and ``officers`` case officers o00, o01, …"""
    people = [Person("wangjun", "王军", "chengguan", head=True)] if head else []
    people += [Person(f"o{i:02d}", f"干部{i:02d}", "chengguan") for i in range(officers)]
    return County(units=(("chengguan", "城关镇人民政府", "township"),), people=tuple(people))


def seeded(
    sqlite_url: str, tmp_path: Path, *, officers: int, projects: int, head: bool = True
) -> list[dict[str, Any]]:
    """Seed through the use cases (``projects`` overdue leads, shared out among the officers); return
    what a sweep on Monday morning would queue (a dry run)."""
    rt = make_runtime(sqlite_url, tmp_path, now=at("2026-01-05"))
    try:
        township(officers, head=head).seed(rt)
        entered = rt.at(at("2026-09-01", "10:00"))
        for i in range(projects):
            ledger.add_project(
                entered,
                ProjectInput(name=f"招商项目{i:04d}", officer=f"o{i % officers:02d}", unit="chengguan"),
                stage="lead",
                since=at("2026-09-01", "00:00"),
            )
        return escalation.sweep(rt.at(at(MONDAY)), dry_run=True).planned
    finally:
        rt.close()


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        return conn.execute(sql, params).fetchall()


def identities(db: Path) -> list[tuple[Any, ...]]:
    """Each queued warning as (project, kind, level, repeat, recipient, role); digests left out."""
    return query(
        db,
        "SELECT project_id, kind, level, repeat_no, recipient_id, role FROM notifications "
        "WHERE kind != 'digest' ORDER BY id",
    )


def mail_env(server: MailServer) -> dict[str, str]:
    return {
        "FOLLOWUP_SMTP_HOST": server.host,
        "FOLLOWUP_SMTP_PORT": str(server.port),
        "FOLLOWUP_SMTP_SECURITY": "none",
    }
