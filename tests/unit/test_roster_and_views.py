"""Who a rung reaches (the roster of the shared test county) and the JSON shape of views (no database)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from followup.app.board import StatusBoard, UnitLights
from followup.app.delivery import SendResult
from followup.app.views import EventView, Ref, jsonable
from followup.domain.kinds import Light, Role
from tests.county import SMALL


def test_roles_resolve_to_people_each_once() -> None:
    roster = SMALL.roster()
    lina, wangjun, liuqiang, xuli = (SMALL.id_of(k) for k in ("lina", "wangjun", "liuqiang", "xuli"))
    chengguan = 1
    everyone = [Role.CASE_OFFICER, Role.UNIT_HEAD, Role.LEADER, Role.SUPERVISION, Role.PRINCIPAL]
    assert roster.resolve(everyone, lina, chengguan, liuqiang) == [
        (Role.CASE_OFFICER, lina),
        (Role.UNIT_HEAD, wangjun),
        (Role.LEADER, liuqiang),
        (Role.SUPERVISION, xuli),
    ]  # nobody holds principal in the small county
    # the case officer who heads the unit is told once; no leader in charge, nobody for that role
    assert roster.resolve(everyone[:3], wangjun, chengguan, None) == [(Role.CASE_OFFICER, wangjun)]
    # the bureau has no head
    assert roster.resolve([Role.UNIT_HEAD], lina, 2, None) == []


def test_an_official_who_left_is_never_reached() -> None:
    roster = SMALL.roster()
    gone = type(roster)(roster.active - {SMALL.id_of("wangjun")}, roster.heads, roster.holders)
    assert gone.resolve([Role.UNIT_HEAD], SMALL.id_of("lina"), 1, None) == []


def test_jsonable() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    assert jsonable(Decimal("12000.00")) == 12000 and isinstance(jsonable(Decimal("12000.00")), int)
    assert jsonable(Decimal("12000.50")) == 12000.5
    assert jsonable(datetime(2026, 5, 6, 0, 0, 0, 123, tzinfo=zone)) == "2026-05-06T00:00:00+08:00"
    assert jsonable(date(2026, 7, 1)) == "2026-07-01"
    assert jsonable(Light.RED) == "red"
    assert jsonable((Ref("lina", "李娜"),)) == [{"key": "lina", "name": "李娜"}]


def test_views_keep_their_json_names() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 6, 1, 10, 0, tzinfo=zone)
    event = EventView(
        7, "move", at, at, Ref("lina", "李娜"), "lead", "talks", None, {"investor": [None, "伊禾"]}
    )
    assert event.to_dict() == {
        "id": 7,
        "kind": "move",
        "at": "2026-06-01T10:00:00+08:00",
        "recorded_at": "2026-06-01T10:00:00+08:00",
        "by": {"key": "lina", "name": "李娜"},
        "from": "lead",
        "to": "talks",
        "note": None,
        "changes": {"investor": [None, "伊禾"]},
        "entered_by": None,  # 录入人: the operating-system user who typed it (issue 8)
        "from_label": None,  # the stages as the project's workflow names them (None: not looked up)
        "to_label": None,
    }
    assert SendResult(skipped_reason="outside working hours").to_dict() == {
        "sent": 0,
        "messages": 0,
        "retried": 0,
        "failed": 0,
        "obsolete": 0,
        "deferred": 0,
        "unknown": 0,
        "postponed": 0,
        "recipients": 0,
        "digests": 0,
        "skipped": "outside working hours",
        "error": None,
    }
    board = StatusBoard(at, [UnitLights("u", "城关镇", red=1)], UnitLights("", "", red=1), [])
    shown = board.to_dict()
    assert shown["units"] == [
        {
            "key": "u",
            "name": "城关镇",
            "green": 0,
            "blue": 0,
            "yellow": 0,
            "red": 1,
            "top": 0,
            "stale": 0,
            "on_hold": 0,
        }
    ]
    assert shown["totals"] == {
        "green": 0,
        "blue": 0,
        "yellow": 0,
        "red": 1,
        "top": 0,
        "stale": 0,
        "on_hold": 0,
    }


def test_the_demo_names_a_thousand_projects_without_running_out() -> None:
    """The demo's names were drawn until an unused one came up: at ~200 projects a chain's combinations ran
    out and `followup demo --projects 200` never ended."""
    import random
    from datetime import UTC, datetime

    from followup.app import demo

    rng, used = random.Random(7), set[str]()
    now = datetime(2026, 11, 27, tzinfo=UTC)
    names = [demo._project(rng, "lead", now, (1, 30), used)[0].name for _ in range(1000)]
    assert len(set(names)) == 1000
