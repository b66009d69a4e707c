"""When a stage is due: every deadline rule in one place, as pure functions of days.

- **Entry.** Entering a stage on day D: the project's contract date for that milestone when the stage
  names one (``contract_deadline``) and it is recorded, else D plus the stage's limit. Final stages and
  side states have none.
- **Recompute.** Editing the contract date of the current stage, or moving the project to another
  workflow, recomputes the deadline as if the stage had been entered on its entry day.
- **Hold and resume.** On hold the clock pauses: on resume the old deadline moves back by the time spent
  on hold, counted in the limit's own unit (working days for a working-day limit, calendar days else).
- **Extension.** 延期 moves the deadline N calendar days later.

A new deadline (recompute or extension) starts a fresh warning ladder: the caller bumps the project's
``deadline_version``; :func:`basis` tells users which rule gave the deadline they see.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from followup.domain.calendar import WorkCalendar
from followup.domain.workflow import Stage, Workflow
from followup.errors import InvalidInput
from followup.i18n import _

MAX_EXTENSION_DAYS = 3650


class Basis(StrEnum):
    """Which rule gave a deadline."""

    LIMIT = "limit"  # the stage's limit from its entry day
    CONTRACT = "contract"  # the contract date for the milestone
    EXTENDED = "extended"  # an extension or a recompute moved it


def on_entry(
    workflow: Workflow, stage_key: str, entered: date, values: Mapping[str, Any], calendar: WorkCalendar
) -> date | None:
    """The deadline of stage ``stage_key`` entered on ``entered``, with the project's ``values``."""
    stage = workflow.stages.get(stage_key)
    if stage is None or stage.final or stage.limit is None:
        return None
    if stage.contract_deadline and values.get(stage.contract_deadline):
        contract: date = values[stage.contract_deadline]
        return contract
    return stage.limit.apply(entered, calendar)


def on_resume(
    stage: Stage | None, held_deadline: date | None, held_on: date, resumed_on: date, calendar: WorkCalendar
) -> date | None:
    """The deadline after a hold from ``held_on`` to ``resumed_on``: pushed back by the pause."""
    if held_deadline is None or stage is None or stage.limit is None:
        return held_deadline
    return stage.limit.shift(held_deadline, stage.limit.between(held_on, resumed_on, calendar), calendar)


def check_extension(days: int) -> int:
    """An extension is 1 to 3650 calendar days."""
    if not 0 < days <= MAX_EXTENSION_DAYS:
        raise InvalidInput(
            _("bad --days {days}: expected 1 to {most} calendar days").format(
                days=days, most=MAX_EXTENSION_DAYS
            )
        )
    return days


def extended(deadline: date, days: int) -> date:
    """``deadline`` moved ``days`` calendar days later."""
    return deadline + timedelta(days=check_extension(days))


def basis(
    stage: Stage | None, deadline: date | None, values: Mapping[str, Any], version: int
) -> Basis | None:
    """Which rule the current ``deadline`` comes from; None when there is none."""
    if deadline is None or stage is None:
        return None
    contract = values.get(stage.contract_deadline) if stage.contract_deadline else None
    if contract == deadline:
        return Basis.CONTRACT
    return Basis.EXTENDED if version > 1 else Basis.LIMIT
