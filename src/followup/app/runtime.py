"""The runtime every use case is handed: settings, store, workflows, calendar and the clock.

One per process (the CLI makes one per command, the daemon one for its life). The clock is injected:
``--now`` fixes it, the daemon's replayed clock runs from a given instant, tests pin it; a use case
reads it once, at its start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from followup.domain.calendar import WorkCalendar
from followup.domain.timeutil import utcnow
from followup.lifecycle import WorkflowRegistry
from followup.settings import Settings
from followup.store.db import Store

Clock = Callable[[], datetime]


def fixed(instant: datetime) -> Clock:
    """A clock that always says ``instant``."""
    return lambda: instant


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    store: Store
    workflows: WorkflowRegistry
    calendar: WorkCalendar
    clock: Clock = utcnow
    #: who is at the keyboard (the operating-system user of a CLI command): each line of history it
    #: writes records them as 录入人, beside the official named with ``--by``
    operator: str | None = None

    @classmethod
    def open(cls, settings: Settings, *, store: Store | None = None, clock: Clock | None = None) -> Runtime:
        """The runtime for ``settings``: its database, its workflows, its calendar."""
        if settings.calendar_file is not None:
            from followup.lifecycle.calendar_file import load_county_calendar

            calendar = load_county_calendar(settings.calendar_file)
        else:
            calendar = WorkCalendar()
        return cls(
            settings=settings,
            store=store or Store(settings.database_url),
            workflows=WorkflowRegistry(settings.workflow_dir),
            calendar=calendar,
            clock=clock or utcnow,
        )

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    def now(self) -> datetime:
        return self.clock()

    def at(self, instant: datetime) -> Runtime:
        """The same runtime with its clock stopped at ``instant`` (a replayed step, a test)."""
        return replace(self, clock=fixed(instant))

    def init(self) -> str:
        """Create or upgrade the database to this version's schema; returns the revision."""
        return self.store.migrate()

    def close(self) -> None:
        self.store.dispose()
