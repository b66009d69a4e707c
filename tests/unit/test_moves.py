"""Every move of the shipped workflow ``investment``, allowed and refused, checked against a table
written by hand from ``workflows/investment.yaml`` (not derived from ``Workflow.allowed_from``), then
the guards: ``Workflow.check_move`` on the real workflow file and its shared transitions machine, no
database. The same moves through the use cases on real databases are in tests/integration/test_moves.py.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from followup.domain.workflow import MoveSubject, Workflow
from followup.errors import GuardFailed, InvalidInput, MoveRefused
from followup.lifecycle import WorkflowRegistry

STAGES = ["lead", "talks", "signing", "land_prep", "groundbreaking", "production"]
STATES = [*STAGES, "on_hold", "terminated"]
LABELS = {
    "lead": "线索",
    "talks": "洽谈",
    "signing": "签约",
    "land_prep": "落地/供地",
    "groundbreaking": "开工",
    "production": "投产",
    "on_hold": "暂缓",
    "terminated": "终止",
}
HOLDABLE = ["lead", "talks", "signing", "land_prep", "groundbreaking"]

# By hand, from investment.yaml: moves, hold.from and terminate.from.
ALLOWED: dict[str, set[str]] = {
    "lead": {"talks", "on_hold", "terminated"},
    "talks": {"signing", "lead", "on_hold", "terminated"},
    "signing": {"land_prep", "talks", "on_hold", "terminated"},
    "land_prep": {"groundbreaking", "on_hold", "terminated"},
    "groundbreaking": {"production", "on_hold", "terminated"},
    "production": set(),  # final
    "terminated": set(),
}


def allowed(state: str, held: str | None) -> set[str]:
    # a project on hold resumes only to the stage it was held in, or is terminated
    return {held, "terminated"} if state == "on_hold" else ALLOWED[state]  # type: ignore[return-value]


EVERYTHING = {"investor": "伊禾乳业集团", "amount": 50000, "land": 120}
UNTIL = date(2026, 9, 1)
REFUSED_RE = re.compile(r"^cannot move from (\S+) \((\w+)\) to (\S+) \((\w+)\); allowed: (.+)$")


@pytest.fixture(scope="module")
def wf() -> Workflow:
    return WorkflowRegistry().get("investment")


def listed(message: str) -> tuple[str, str, list[str]]:
    """(source, target, [allowed targets]) from a MoveRefused message; labels are checked here."""
    match = REFUSED_RE.match(message)
    assert match, message
    source_label, source, target_label, target, names = match.groups()
    assert (LABELS[source], LABELS[target]) == (source_label, target_label)
    if names == "none":
        return source, target, []
    keys = []
    for item in names.split(", "):
        item_match = re.fullmatch(r"(\w+) \((.+)\)", item)
        assert item_match, message
        assert LABELS[item_match[1]] == item_match[2], message
        keys.append(item_match[1])
    return source, target, keys


def test_the_table_covers_every_state(wf: Workflow) -> None:
    # if investment.yaml gains or loses a stage, the hand-written table must be revisited
    assert wf.states() == STATES
    assert {s: wf.label_of(s) for s in STATES} == LABELS


MATRIX = [
    pytest.param(state, held, target, id=f"{state}[{held}]->{target}" if held else f"{state}->{target}")
    for state, held in [*((s, None) for s in ALLOWED), *(("on_hold", h) for h in HOLDABLE)]
    for target in STATES
]


@pytest.mark.parametrize(("state", "held", "target"), MATRIX)
def test_every_move(wf: Workflow, state: str, held: str | None, target: str) -> None:
    subject = MoveSubject(
        state=state, values=dict(EVERYTHING), held_stage=held, reason="客商资金暂未到位", until=UNTIL
    )
    if target in allowed(state, held):
        wf.check_move(subject, target)
    else:
        with pytest.raises(MoveRefused) as caught:
            wf.check_move(subject, target)
        assert type(caught.value) is MoveRefused
        if target == state:
            label = LABELS[state]
            assert str(caught.value) == f"the project is already in {label} ({state})"
            return
        source, named_target, keys = listed(str(caught.value))
        assert (source, named_target) == (state, target)
        assert len(keys) == len(set(keys))
        assert set(keys) == allowed(state, held)
    assert wf.machine.models == []  # the shared machine never keeps a project attached


def test_the_matrix_has_both_outcomes() -> None:
    passes = sum(1 for p in MATRIX if p.values[2] in allowed(p.values[0], p.values[1]))
    assert len(MATRIX) == 12 * 8
    assert passes == 3 + 4 + 4 + 3 + 3 + 0 + 0 + 5 * 2


# --------------------------------------------------------------------------- guards


def test_talks_needs_the_investor(wf: Workflow) -> None:
    for values in ({}, {"investor": ""}, {"investor": None, "amount": 5000}):
        with pytest.raises(GuardFailed) as caught:
            wf.check_move(MoveSubject("lead", values), "talks")
        message = str(caught.value)
        assert message.startswith("cannot enter 洽谈 (talks): missing 投资方 (investor);")
        assert "amount" not in message
    wf.check_move(MoveSubject("lead", {"investor": "伊禾"}), "talks")


def test_signing_needs_the_amount(wf: Workflow) -> None:
    with pytest.raises(GuardFailed) as caught:
        wf.check_move(MoveSubject("talks", {"investor": "伊禾"}), "signing")
    message = str(caught.value)
    assert message.startswith("cannot enter 签约 (signing): missing 合同金额（万元） (amount);")
    assert "investor" not in message

    with pytest.raises(GuardFailed) as caught:
        wf.check_move(MoveSubject("talks", {}), "signing")
    assert "missing 投资方 (investor), 合同金额（万元） (amount);" in str(caught.value)


def test_land_prep_needs_the_land(wf: Workflow) -> None:
    with pytest.raises(GuardFailed) as caught:
        wf.check_move(MoveSubject("signing", {"investor": "伊禾", "amount": 5000}), "land_prep")
    assert str(caught.value).startswith("cannot enter 落地/供地 (land_prep): missing 用地（亩） (land);")
    assert "--set 用地=VALUE" in str(caught.value)  # the field as the county calls it


def test_stages_without_requirements(wf: Workflow) -> None:
    wf.check_move(MoveSubject("land_prep", {}), "groundbreaking")
    wf.check_move(MoveSubject("groundbreaking", {}), "production")
    wf.check_move(MoveSubject("talks", {}), "lead")  # going cold needs nothing


def test_a_refused_move_is_refused_before_any_guard(wf: Workflow) -> None:
    # lead -> signing is not a move at all: the answer is the list of moves, not a missing field
    with pytest.raises(MoveRefused) as caught:
        wf.check_move(MoveSubject("lead", {}), "signing")
    assert type(caught.value) is MoveRefused
    assert str(caught.value) == (
        "cannot move from 线索 (lead) to 签约 (signing); "
        "allowed: talks (洽谈), on_hold (暂缓), terminated (终止)"
    )


@pytest.mark.parametrize(("reason", "until"), [(None, UNTIL), ("", UNTIL), ("等待环评", None), (None, None)])
def test_hold_needs_a_reason_and_an_until_date(wf: Workflow, reason: str | None, until: date | None) -> None:
    with pytest.raises(GuardFailed) as caught:
        wf.check_move(MoveSubject("talks", EVERYTHING, reason=reason, until=until), "on_hold")
    assert str(caught.value) == (
        "putting a project on hold needs a reason (--note) and an expected restart date (--until)"
    )
    assert wf.machine.models == []


def test_terminate_needs_a_reason(wf: Workflow) -> None:
    for state, held in [("lead", None), ("groundbreaking", None), ("on_hold", "signing")]:
        for reason in (None, ""):
            with pytest.raises(GuardFailed) as caught:
                wf.check_move(
                    MoveSubject(state, EVERYTHING, held_stage=held, reason=reason, until=UNTIL), "terminated"
                )
            assert str(caught.value) == "terminating a project needs a reason (--note)"
        wf.check_move(MoveSubject(state, {}, held_stage=held, reason="企业撤资"), "terminated")


def test_resume_only_to_the_held_stage(wf: Workflow) -> None:
    subject = MoveSubject("on_hold", EVERYTHING, held_stage="talks")
    for target in ("lead", "signing", "land_prep"):
        with pytest.raises(MoveRefused) as caught:
            wf.check_move(subject, target)
        assert str(caught.value) == (
            f"cannot move from 暂缓 (on_hold) to {LABELS[target]} "
            f"({target}); allowed: talks (洽谈), terminated (终止)"
        )
    wf.check_move(MoveSubject("on_hold", EVERYTHING, held_stage="talks"), "talks")


def test_unknown_target(wf: Workflow) -> None:
    for target in ("finished", "Lead", ""):
        with pytest.raises(InvalidInput) as caught:
            wf.check_move(MoveSubject("lead", EVERYTHING), target)
        assert str(caught.value) == (
            f"unknown stage {target!r} in workflow investment; stages: lead, talks, signing, "
            "land_prep, groundbreaking, production, on_hold, terminated"
        )
