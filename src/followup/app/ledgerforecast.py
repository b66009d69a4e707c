"""A dry run's forecast: what the first sweep after an import would queue, asked in the import's
(uncommitted) transaction of the sweep itself (:func:`followup.app.escalation.owed_now`: deadlines,
staleness, holds and what supervision owes, less what is queued already). Part of
``followup import --dry-run`` (:mod:`followup.app.ledgerio`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from followup.app import escalation
from followup.app.runtime import Runtime
from followup.app.views import View


@dataclass(frozen=True)
class MailForecast(View):
    """What the first sweep after the import would queue for one official: how many notifications, in
    which roles (delivery folds one person's notifications into one mail)."""

    key: str
    name: str
    roles: tuple[str, ...]
    notifications: int


def forecast(rt: Runtime, session: Session, now: datetime) -> tuple[tuple[MailForecast, ...], int]:
    """What the first sweep at ``now`` would queue, in the import's (uncommitted) transaction: the
    sweep's own plan (:func:`escalation.owed_now`), counted per official."""
    planned = escalation.owed_now(rt, session.connection(), now)
    counts: Counter[str] = Counter(row["recipient_key"] for row in planned)
    names = {row["recipient_key"]: row["recipient_name"] for row in planned}
    roles: dict[str, set[str]] = defaultdict(set)
    for row in planned:
        roles[row["recipient_key"]].add(str(row["role"]))
    mails = tuple(
        MailForecast(key, names[key], tuple(sorted(roles[key])), n)
        for key, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    return mails, len(planned)


# --------------------------------------------------------------------------- export
