"""Every deadline rule, worked out by hand over the real 2026 calendar (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from followup.domain import deadlines
from followup.domain.calendar import WorkCalendar
from followup.domain.deadlines import Basis
from followup.domain.workflow import Workflow
from followup.errors import InvalidInput
from followup.lifecycle import WorkflowRegistry


@pytest.fixture(scope="module")
def wf() -> Workflow:
    return WorkflowRegistry().get("investment")


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def test_on_entry_is_the_limit_from_the_entry_day(wf: Workflow, cal: WorkCalendar) -> None:
    assert deadlines.on_entry(wf, "lead", date(2026, 9, 1), {}, cal) == date(2026, 10, 1)  # 30 days
    assert deadlines.on_entry(wf, "talks", date(2026, 9, 1), {}, cal) == date(2026, 11, 30)  # 90 days
    # 40 working days from 05-06 (no holiday after 劳动节 until 端午 on 06-19)
    assert deadlines.on_entry(wf, "signing", date(2026, 5, 6), {}, cal) == date(2026, 7, 1)
    assert deadlines.on_entry(wf, "groundbreaking", date(2026, 1, 31), {}, cal) == date(
        2027, 1, 31
    )  # 12 months


def test_a_contract_date_replaces_the_limit(wf: Workflow, cal: WorkCalendar) -> None:
    contract = {"contract_start": date(2026, 12, 15)}
    assert deadlines.on_entry(wf, "land_prep", date(2026, 6, 1), contract, cal) == date(2026, 12, 15)
    assert deadlines.on_entry(wf, "land_prep", date(2026, 6, 1), {"contract_start": None}, cal) == date(
        2026, 9, 29
    )  # 120 days
    # the contract date of another milestone does not count here
    assert deadlines.on_entry(wf, "lead", date(2026, 9, 1), contract, cal) == date(2026, 10, 1)


@pytest.mark.parametrize("state", ["production", "on_hold", "terminated", "nowhere"])
def test_final_stages_and_side_states_have_none(wf: Workflow, cal: WorkCalendar, state: str) -> None:
    assert deadlines.on_entry(wf, state, date(2026, 9, 1), {}, cal) is None


def test_resume_pushes_a_working_day_deadline_back_by_the_working_days_on_hold(
    wf: Workflow, cal: WorkCalendar
) -> None:
    # held 9-23, resumed 10-09: 9-24, 9-28, 9-29, 9-30, 10-08, 10-09 were working days (6)
    signing = wf.stages["signing"]
    assert deadlines.on_resume(
        signing, date(2026, 10, 12), date(2026, 9, 23), date(2026, 10, 9), cal
    ) == date(2026, 10, 20)


def test_resume_pushes_a_calendar_deadline_back_by_the_calendar_days_on_hold(
    wf: Workflow, cal: WorkCalendar
) -> None:
    talks = wf.stages["talks"]
    assert deadlines.on_resume(talks, date(2026, 10, 12), date(2026, 9, 23), date(2026, 10, 9), cal) == date(
        2026, 10, 28
    )
    # resumed the day it was held: nothing moves
    assert deadlines.on_resume(talks, date(2026, 10, 12), date(2026, 9, 23), date(2026, 9, 23), cal) == date(
        2026, 10, 12
    )


def test_resume_without_a_deadline_or_a_stage_keeps_what_was_held(wf: Workflow, cal: WorkCalendar) -> None:
    assert deadlines.on_resume(wf.stages["talks"], None, date(2026, 9, 23), date(2026, 10, 9), cal) is None
    assert deadlines.on_resume(None, date(2026, 10, 12), date(2026, 9, 23), date(2026, 10, 9), cal) == date(
        2026, 10, 12
    )
    assert deadlines.on_resume(
        wf.stages["production"], date(2026, 10, 12), date(2026, 9, 23), date(2026, 10, 9), cal
    ) == date(2026, 10, 12)  # a final stage has no limit


def test_an_extension_is_calendar_days_within_bounds() -> None:
    assert deadlines.extended(date(2026, 10, 1), 14) == date(2026, 10, 15)
    assert deadlines.extended(date(2026, 10, 1), 3650) == date(2036, 9, 28)
    for bad in (0, -1, 3651):
        with pytest.raises(InvalidInput) as caught:
            deadlines.extended(date(2026, 10, 1), bad)
        assert str(caught.value) == f"bad --days {bad}: expected 1 to 3650 calendar days"


def test_basis_names_the_rule(wf: Workflow) -> None:
    land = wf.stages["land_prep"]
    contract = {"contract_start": date(2026, 12, 15)}
    assert deadlines.basis(land, date(2026, 12, 15), contract, 1) is Basis.CONTRACT
    assert deadlines.basis(land, date(2026, 12, 15), contract, 3) is Basis.CONTRACT
    assert deadlines.basis(land, date(2026, 9, 29), {}, 1) is Basis.LIMIT
    assert deadlines.basis(land, date(2026, 10, 29), contract, 2) is Basis.EXTENDED
    assert deadlines.basis(wf.stages["lead"], date(2026, 10, 1), contract, 1) is Basis.LIMIT
    assert deadlines.basis(land, None, contract, 1) is None
    assert deadlines.basis(None, date(2026, 10, 1), {}, 1) is None
