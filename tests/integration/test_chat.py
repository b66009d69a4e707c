"""The work chats (issue 11), end to end on both backends: the sweep queues the groups' cards from the
mail outbox, ``send_chat`` posts them to a loopback robot per platform that checks what the platform
checks (tests/chatserver.py); the payloads are compared with reviewed golden files; 100 warnings to one
group are all delivered, never more than 20 in a minute (the sender's injected clock); an outage loses
and duplicates nothing; a bad token fails for good without holding the mail up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from followup import i18n
from followup.app import channels, escalation, ledger
from followup.app.chat_send import send_chat
from followup.app.ledger import ProjectInput
from followup.app.runtime import Runtime
from followup.store.models import ChatMessage
from tests.chatserver import ChatServer
from tests.helpers import make_runtime
from tests.outbox_county import MONDAY, at, township

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "chat"
WEB = "https://followup.example.gov.cn"
SECRET = "SECd6f1a2b3c4d5e6f708192a3b4c5d6e7f"


@pytest.fixture
def town(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """城关镇 with its head 王军 and one case officer, reachable in the chats by mobile and user id."""
    rt = make_runtime(db_url, tmp_path, now=at("2026-01-05"), web_url=WEB)
    township(1).seed(rt)
    channels.set_chat_contact(rt, "wangjun", mobile="13800000001", chat_user_id="wangjun01")
    channels.set_chat_contact(rt, "o00", mobile="13800000002", chat_user_id="ganbu00", notify="chat")
    yield rt
    rt.close()


def enter(rt: Runtime, n: int) -> None:
    """``n`` leads entered on 2026-09-01, due 10-01: on Monday 10-19 each owes yellow and 跟进超时."""
    entered = rt.at(at("2026-09-01", "10:00"))
    for i in range(n):
        ledger.add_project(
            entered,
            ProjectInput(name=f"招商项目{i:03d}", officer="o00", unit="chengguan"),
            stage="lead",
            since=at("2026-09-01", "00:00"),
        )


def cards(rt: Runtime) -> list[Any]:
    with rt.store.reading() as session:
        return list(session.scalars(select(ChatMessage).order_by(ChatMessage.id)))


def payload_of(received: dict[str, Any]) -> dict[str, Any]:
    """A received payload less what changes with each send (Feishu's timestamp and signature)."""
    return {k: v for k, v in received.items() if k not in ("timestamp", "sign")}


@pytest.mark.parametrize(
    ("kind", "mention_by", "secret"),
    [("dingtalk", "mobile", SECRET), ("wecom", "userid", None), ("feishu", "userid", SECRET)],
)
def test_a_warning_card_per_platform_matches_its_golden_file(
    town: Runtime, kind: str, mention_by: str, secret: str | None
) -> None:
    i18n.use("zh_CN")
    enter(town, 1)
    with ChatServer(kind, secret) as robot:
        channels.add_channel(
            town, "chengguan", kind=kind, webhook=robot.webhook, secret=secret, mention_by=mention_by
        )
        monday = town.at(at(MONDAY))
        escalation.sweep(monday)
        result = send_chat(monday)
        assert (result.sent, result.undelivered, robot.refused) == (2, 0, [])
        warning = next(p for p in robot.received if "黄灯" in json.dumps(p, ensure_ascii=False))
        golden = GOLDEN / f"{kind}.json"
        if not golden.exists():  # first run: write it, and fail until it is reviewed and kept
            golden.write_text(json.dumps(payload_of(warning), ensure_ascii=False, indent=2) + "\n")
            pytest.fail(f"{golden} written: review it")
        assert payload_of(warning) == json.loads(golden.read_text())
        # sending again posts nothing: each card once
        assert send_chat(town.at(at(MONDAY, "09:05"))).sent == 0
        assert len(robot.received) == 2


def test_the_sweep_queues_one_card_per_project_and_level_and_mentions_chat_readers(town: Runtime) -> None:
    enter(town, 2)
    with ChatServer("dingtalk", SECRET) as robot:
        channels.add_channel(town, "chengguan", kind="dingtalk", webhook=robot.webhook, secret=SECRET)
        escalation.sweep(town.at(at(MONDAY)))
        escalation.sweep(town.at(at(MONDAY, "09:01")))  # twice: nothing more
        rows = cards(town)
        assert sorted((r.project_id, r.kind) for r in rows) == [
            (1, "deadline"), (1, "stale"), (2, "deadline"), (2, "stale")
        ]  # fmt: skip
        ids = town_ids(town)
        assert [sorted(r.mentions) for r in rows if r.kind == "deadline"] == [
            sorted([ids["wangjun"], ids["o00"]])
        ] * 2
        send_chat(town.at(at(MONDAY)))
        first = next(p for p in robot.received if p["at"]["atMobiles"])
        assert sorted(first["at"]["atMobiles"]) == ["13800000001", "13800000002"]


def town_ids(rt: Runtime) -> dict[str, int]:
    from followup.store.models import Official

    with rt.store.reading() as session:
        return {o.key: o.id for o in session.scalars(select(Official))}


def test_outside_working_hours_nothing_goes(town: Runtime) -> None:
    enter(town, 1)
    with ChatServer("wecom") as robot:
        channels.add_channel(town, "chengguan", kind="wecom", webhook=robot.webhook, mention_by="userid")
        escalation.sweep(town.at(at(MONDAY)))
        evening = send_chat(town.at(at(MONDAY, "19:30")))
        assert (evening.skipped_reason, len(cards(town)), robot.received) == ("outside working hours", 2, [])
        assert send_chat(town.at(at("2026-10-20", "08:45"))).sent == 2


def test_a_hundred_warnings_all_arrive_never_faster_than_twenty_a_minute(town: Runtime) -> None:
    enter(town, 50)  # 50 projects: a yellow warning and a 跟进超时 each
    clock = {"now": at(MONDAY)}
    with ChatServer("dingtalk", SECRET, clock=lambda: clock["now"]) as robot:
        channels.add_channel(town, "chengguan", kind="dingtalk", webhook=robot.webhook, secret=SECRET)
        escalation.sweep(town.at(clock["now"]))
        rounds = 0
        while len(robot.received) < 100 and rounds < 40:
            result = send_chat(town.at(clock["now"]), sign_clock=lambda: clock["now"])
            assert result.sent <= 20 and result.failed == 0
            clock["now"] += timedelta(seconds=15)
            rounds += 1
    assert len(robot.received) == 100
    assert robot.limited == 0 and robot.max_in_window() == 20
    spread = max(robot.stamps) - min(robot.stamps)
    assert spread >= 4 * 60  # 100 at 20 a minute: the last goes four minutes after the first
    assert {r.status for r in cards(town)} == {"sent"}


def test_an_outage_is_retried_later_with_nothing_lost_or_twice(town: Runtime) -> None:
    enter(town, 5)
    with ChatServer("feishu", SECRET) as robot:
        channels.add_channel(
            town, "chengguan", kind="feishu", webhook=robot.webhook, secret=SECRET, mention_by="userid"
        )
        escalation.sweep(town.at(at(MONDAY)))
        robot.stop()
        down = send_chat(town.at(at(MONDAY)))
        assert (down.sent, down.deferred, down.failed) == (0, 10, 0)
        assert {(r.status, r.attempts) for r in cards(town)} == {("pending", 0)}
        assert send_chat(town.at(at(MONDAY, "09:00:30"))).sent == 0  # waits its minute
        robot.restart()
        back = send_chat(town.at(at(MONDAY, "09:01")))
        assert back.sent == 10
        assert send_chat(town.at(at(MONDAY, "09:30"))).sent == 0
    titles = [p["card"]["header"]["title"]["content"] for p in robot.received]
    assert len(titles) == len(set(titles)) == 10


def test_rate_limit_answer_waits_and_bad_token_fails_for_good_without_blocking_others(town: Runtime) -> None:
    enter(town, 1)
    with ChatServer("wecom") as good, ChatServer("dingtalk", SECRET) as bad:
        channels.add_channel(town, "chengguan", kind="wecom", webhook=good.webhook, mention_by="userid")
        channels.add_channel(town, "chengguan", kind="dingtalk", webhook=bad.webhook, secret=SECRET)
        escalation.sweep(town.at(at(MONDAY)))
        good.script = ["rate"]
        bad.script = ["bad_token", "bad_token"]
        first = send_chat(town.at(at(MONDAY)))
        # the rate-limited robot's cards both wait a minute (no attempt); the bad token's fail for good
        assert (first.sent, first.deferred, first.failed) == (0, 2, 2)
        assert send_chat(town.at(at(MONDAY, "09:00:40"))).sent == 0
        again = send_chat(town.at(at(MONDAY, "09:01")))
        assert (again.sent, again.failed) == (2, 0)
        listed = {v.kind: v for v in channels.list_channels(town)}
        assert (listed["dingtalk"].failed, listed["wecom"].sent) == (2, 2)
        assert "300001" in (listed["dingtalk"].last_error or "")
        assert "t0ke****" in listed["wecom"].webhook and "SEC…" in listed["dingtalk"].secret
