"""Moves through the use cases (``app.moves.advance``) on real databases, SQLite and PostgreSQL: a
refused move or a failed guard writes nothing (every table compared before and after), hold, resume and
terminate record their fields and history. The full move matrix is in tests/unit/test_moves.py.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from followup.app import ledger, moves
from followup.app.ledger import ProjectInput
from followup.app.moves import Move
from followup.app.runtime import Runtime
from followup.errors import GuardFailed, InvalidInput, MoveRefused
from tests.helpers import snapshot

UNTIL = date(2026, 9, 1)


def _add(county: Runtime, **values: str) -> int:
    view = ledger.add_project(
        county,
        ProjectInput(name="乳品加工项目", officer="lina", unit="chengguan", values=dict(values)),
        stage=None,
        since=None,
        by=None,
    )
    assert view.to_dict()["stage"] == "lead"
    return view.id


def _moves(county: Runtime, project_id: int) -> list[tuple[str, Any, Any]]:
    return [(e.kind, e.from_stage, e.to_stage) for e in ledger.history(county, project_id)]


def _refused(
    county: Runtime, db_url: str, project_id: int, target: str, error: type[Exception], **kwargs: Any
) -> str:
    """Run a move that must fail; nothing in the database may change. Returns the message."""
    before = snapshot(db_url)
    view = ledger.get_project(county, project_id).to_dict()
    history = [e.to_dict() for e in ledger.history(county, project_id)]
    with pytest.raises(error) as caught:
        moves.advance(county, Move(project_id, target, by="lina", **kwargs))
    assert type(caught.value) is error
    assert ledger.get_project(county, project_id).to_dict() == view
    assert [e.to_dict() for e in ledger.history(county, project_id)] == history
    assert snapshot(db_url) == before
    return str(caught.value)


def test_service_refuses_a_skipped_stage(county: Runtime, db_url: str) -> None:
    pid = _add(county)
    message = _refused(
        county, db_url, pid, "signing", MoveRefused, values={"investor": "伊禾", "amount": "5000"}
    )
    assert message == (
        "cannot move from 线索 (lead) to 签约 (signing); "
        "allowed: talks (洽谈), on_hold (暂缓), terminated (终止)"
    )
    assert ledger.get_project(county, pid).to_dict()["investor"] is None
    _refused(county, db_url, pid, "nowhere", InvalidInput)


def test_service_guard_records_nothing(county: Runtime, db_url: str) -> None:
    pid = _add(county)
    message = _refused(county, db_url, pid, "talks", GuardFailed, values={"amount": "5000"})
    assert "missing 投资方 (investor)" in message
    assert ledger.get_project(county, pid).to_dict()["amount"] is None

    moved = moves.advance(county, Move(pid, "talks", by="lina", values={"investor": "伊禾"})).to_dict()
    assert (moved["stage"], moved["investor"]) == ("talks", "伊禾")
    assert _moves(county, pid) == [("created", None, "lead"), ("move", "lead", "talks")]


def test_service_hold_resume_and_terminate(county: Runtime, db_url: str) -> None:
    pid = _add(county, investor="伊禾")
    moves.advance(county, Move(pid, "talks", by="lina", note="首次面谈"))

    _refused(county, db_url, pid, "on_hold", GuardFailed, note="等待环评")  # no --until
    _refused(county, db_url, pid, "on_hold", GuardFailed, until=UNTIL)  # no reason
    held = moves.advance(county, Move(pid, "on_hold", by="lina", note="等待环评", until=UNTIL)).to_dict()
    assert (held["stage"], held["held_stage"]) == ("on_hold", "talks")
    assert held["hold_reason"] == "等待环评"
    assert held["hold_until"] == UNTIL.isoformat()

    message = _refused(county, db_url, pid, "signing", MoveRefused, values={"amount": "5000"})
    assert message == (
        "cannot move from 暂缓 (on_hold) to 签约 (signing); allowed: talks (洽谈), terminated (终止)"
    )
    _refused(county, db_url, pid, "on_hold", MoveRefused, note="再次暂缓", until=UNTIL)

    resumed = moves.advance(county, Move(pid, "talks", by="lina")).to_dict()
    assert (resumed["stage"], resumed["held_stage"], resumed["hold_until"]) == ("talks", None, None)

    _refused(county, db_url, pid, "terminated", GuardFailed)
    ended = moves.advance(county, Move(pid, "terminated", by="lina", note="企业撤资")).to_dict()
    assert (ended["stage"], ended["end_reason"]) == ("terminated", "企业撤资")
    message = _refused(county, db_url, pid, "talks", MoveRefused)
    assert message == "cannot move from 终止 (terminated) to 洽谈 (talks); allowed: none"

    assert _moves(county, pid) == [
        ("created", None, "lead"),
        ("move", "lead", "talks"),
        ("move", "talks", "on_hold"),
        ("move", "on_hold", "talks"),
        ("move", "talks", "terminated"),
    ]
