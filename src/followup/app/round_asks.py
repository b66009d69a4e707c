"""Which open reporting rounds (调度) still wait for one project's report: what the project page offers
a form for. Asked of one project, so the page reads a few rows however large the county is (the round's
whole 填报率, ``app.rounds.status``, reads every project it asks for).

A round asks for a project as ``app.rounds`` says: of its units (all when it names none), entered by
the time it was opened, not voided, not terminated; it waits while the round is open and the project
has no report in it. (Kept beside ``app.rounds``, which is at its size.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from followup.app.runtime import Runtime
from followup.domain.workflow import TERMINATED
from followup.store.models import Project, ReportingRound, RoundReport, Unit


@dataclass(frozen=True)
class RoundAsk:
    """An open round waiting for the project's report: its period (2026-11) and due date."""

    period: str
    due_on: date


def awaiting(rt: Runtime, project_id: int) -> list[RoundAsk]:
    """The open rounds that ask for ``project_id`` and have no report on it yet, oldest period first."""
    with rt.store.reading() as session:
        found = session.execute(
            select(Project.created_at, Unit.key)
            .join(Unit, Unit.id == Project.unit_id)
            .where(Project.id == project_id, Project.voided_at.is_(None), Project.stage != TERMINATED)
        ).first()
        if found is None:
            return []
        created_at, unit_key = found
        reported = select(RoundReport.round_id).where(RoundReport.project_id == project_id)
        rows = session.execute(
            select(ReportingRound.period, ReportingRound.due_on, ReportingRound.units)
            .where(
                ReportingRound.closed_at.is_(None),
                ReportingRound.opened_at >= created_at,
                ReportingRound.id.not_in(reported),
            )
            .order_by(ReportingRound.period)
        ).all()
    return [RoundAsk(period, due_on) for period, due_on, units in rows if units is None or unit_key in units]
