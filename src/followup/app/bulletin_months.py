"""The months a monthly bulletin (月通报) can be made of, for the web app's list of bulletins: from the
first month with a line of history (voided projects aside) to the last complete month (the month before
``rt.now()``, as ``followup bulletin`` defaults to)."""

from __future__ import annotations

from sqlalchemy import func, select

from followup.app.bulletin import default_month, month_key, previous_month
from followup.app.runtime import Runtime
from followup.domain.timeutil import local_day
from followup.store.models import Project, ProjectEvent

#: at most this many months are offered (ten years): a history typed in from long ago lists no more
MOST_MONTHS = 120


def bulletin_months(rt: Runtime) -> list[str]:
    """``["2026-05", "2026-04", …]``: the complete months from the first with data, newest first (empty
    when there is no history yet, or it begins in the month in progress)."""
    with rt.store.reading() as session:
        first_at = session.scalar(
            select(func.min(ProjectEvent.at))
            .join(Project, Project.id == ProjectEvent.project_id)
            .where(Project.voided_at.is_(None))
        )
    if first_at is None:
        return []
    first = local_day(first_at, rt.zone)
    start = (first.year, first.month)
    month = default_month(rt)
    out: list[str] = []
    while month >= start and len(out) < MOST_MONTHS:
        out.append(month_key(*month))
        month = previous_month(*month)
    return out
